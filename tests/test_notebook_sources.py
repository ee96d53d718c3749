"""The stored notebooks agree with their jupytext sources and are what JupyterLab expects.

No database: these read the files. nbval (pytest notebooks/) re-executes them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))
import build  # noqa: E402

NAMES = build.names()
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{6}")


def stored(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_every_notebook_has_a_source_and_every_source_a_notebook():
    assert NAMES, "no notebook sources found"
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_matches_its_source(name):
    """An edit to either file without a rebuild (or a JupyterLab save) fails here."""
    assert build.cells_of(stored(name)) == build.cells_of(build.read_source(name)), (
        f"notebooks/{name}.ipynb and notebooks/{name}.py disagree: rebuild with `python notebooks/build.py {name}`")


@pytest.mark.parametrize("name", NAMES)
def test_current_nbformat_with_stable_cell_ids(name):
    nb = stored(name)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", NAMES)
def test_jupyterlab_opens_it_as_stored(name, tmp_path):
    """What jupytext's contents manager (JupyterLab's, with the pair) hands JupyterLab is the
    stored notebook itself, so opening it changes nothing."""
    import shutil

    from jupytext import TextFileContentsManager

    for f in (f"{name}.ipynb", f"{name}.py", "jupytext.toml"):
        shutil.copy(NOTEBOOKS / f, tmp_path / f)
    cm = TextFileContentsManager(root_dir=str(tmp_path))
    opened = cm.get(f"{name}.ipynb")["content"]
    on_disk = stored(name)
    assert build.cells_of(opened) == build.cells_of(on_disk)
    assert [c.get("id") for c in opened.cells] == [c.get("id") for c in on_disk.cells]
    assert [c.get("outputs") for c in opened.cells] == [c.get("outputs") for c in on_disk.cells]
    assert (opened.nbformat, opened.nbformat_minor) == (on_disk.nbformat, on_disk.nbformat_minor)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell_comes_first(name):
    code = [c for c in stored(name).cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged parameters"
    assert re.search(r"^DSN = None\b", code[0].source, re.M)


@pytest.mark.parametrize("name", NAMES)
def test_every_plot_cell_stored_an_image(name):
    for cell in stored(name).cells:
        if cell.cell_type == "code" and "plt.show()" in cell.source:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source[:80]


@pytest.mark.parametrize("name", NAMES)
def test_tables_are_displayed_not_printed(name):
    for cell in stored(name).cells:
        if cell.cell_type == "code":
            assert ".to_string(" not in cell.source, cell.source[:80]


@pytest.mark.parametrize("name", NAMES)
def test_outputs_show_no_raw_ids_or_microseconds(name):
    """Compared outputs are readable: people by name, times to the minute (volatile cells,
    such as a query plan, are exempt)."""
    for cell in stored(name).cells:
        if cell.cell_type != "code" or cell.source.startswith("# NBVAL_IGNORE_OUTPUT"):
            continue
        for out in cell.outputs:
            text = out.get("text", "") + out.get("data", {}).get("text/plain", "")
            assert not UUID.search(text) and not MICROSECONDS.search(text), text[:200]


@pytest.mark.parametrize("name", NAMES)
def test_every_heading_is_followed_by_a_sentence(name):
    for cell in stored(name).cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("#"):
                rest = [x for x in lines[i + 1:] if x.strip()]
                assert rest and not rest[0].startswith("#"), f"{name}: heading {line!r} has no text under it"
