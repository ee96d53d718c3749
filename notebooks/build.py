"""Rebuild the stored notebooks from their sources, executing each in a fresh kernel.

    .venv/bin/python notebooks/build.py [NAME ...]          # all of them by default
    .venv/bin/python notebooks/build.py --dsn DSN --out DIR  # run them on your database instead

The source of each notebook is `notebooks/NN_name.py` (jupytext percent format, paired with
`NN_name.ipynb` by notebooks/jupytext.toml, so an edit in JupyterLab lands in both). A build
reads the .py, executes it top to bottom against the lab's server (ENQUIRIES_LAB_DSN, else
the embedded one), and writes the .ipynb with its outputs, which nbval compares on every test
run, and the .py again in jupytext's canonical form. The files are deterministic: nbformat
4.5, cell ids kept from the stored notebook (new cells get an id from their content), no
execution timestamps, plots rendered by matplotlib's Agg with fixed fonts and no metadata;
two builds of unchanged sources give byte-identical files.

With `--dsn`, the parameters cell is followed by an injected cell setting `DSN` (papermill's
convention) and the executed copies go to `--out`, leaving the stored notebooks alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
# A throwaway database's random suffix (enquiries_lab.notebook.open_lab) would make every build
# differ; stored outputs say 000000 (nbval masks the name on both sides: notebooks/sanitize.cfg).
THROWAWAY = re.compile(r"\b(enqlab_nb[a-z0-9]*_[a-z_]+)_[0-9a-f]{6}\b")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("[0-9][0-9]_*.py"))


def read_source(name: str) -> nbformat.NotebookNode:
    """The notebook's cells as its .py source holds them (jupytext, with our config)."""
    return jupytext.read(HERE / f"{name}.py", fmt="py:percent")


def cells_of(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    """What a source and a stored notebook must agree on: kind, text and tags of every cell."""
    return [(c.cell_type, c.source, list(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def _stable_ids(nb: nbformat.NotebookNode, stored: nbformat.NotebookNode | None) -> None:
    """Keep each cell's id from the stored notebook (matched by kind and text, in order);
    a new or edited cell gets one derived from its content, so rebuilds never churn ids."""
    previous: dict[tuple[str, str], list[str]] = {}
    for c in (stored.cells if stored else []):
        if c.get("id"):
            previous.setdefault((c.cell_type, c.source), []).append(c.id)
    used: set[str] = set()
    for c in nb.cells:
        candidates = [i for i in previous.get((c.cell_type, c.source), []) if i not in used]
        if candidates:
            c.id = candidates[0]
        else:
            digest = hashlib.sha1(f"{c.cell_type}\n{c.source}".encode()).hexdigest()
            n, c.id = 0, digest[:8]
            while c.id in used:
                n += 1
                c.id = f"{digest[:8]}-{n}"
        used.add(c.id)


def _clean(nb: nbformat.NotebookNode) -> None:
    """Strip what varies between runs and what JupyterLab would not write itself."""
    for c in nb.cells:
        tags = c.get("metadata", {}).get("tags")
        c.metadata = {"tags": tags} if tags else {}
        for out in c.get("outputs", []):
            if out.get("output_type") == "stream":
                out.pop("metadata", None)
                out.text = THROWAWAY.sub(r"\1_000000", out.text)
            elif "metadata" in out:
                out.metadata = {k: v for k, v in out.metadata.items() if k not in ("execution",)}
    language = dict(nb.metadata.get("language_info", {}))
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": language or {"name": "python"}}
    nb.nbformat, nb.nbformat_minor = 4, 5


def execute(nb: nbformat.NotebookNode, *, cwd: Path) -> None:
    env_backend = os.environ.pop("MPLBACKEND", None)   # the inline backend, so plots are stored
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend


def build(name: str) -> None:
    nb = read_source(name)
    target = HERE / f"{name}.ipynb"
    stored = nbformat.read(target, as_version=4) if target.exists() else None
    _stable_ids(nb, stored)
    execute(nb, cwd=HERE)
    _clean(nb)
    nbformat.validate(nb)
    nbformat.write(nb, target)
    jupytext.write(nb, HERE / f"{name}.py", fmt="py:percent")   # canonical form, same cells
    print(f"wrote notebooks/{name}.ipynb and notebooks/{name}.py")


def run_on(name: str, dsn: str, out: Path) -> None:
    nb = read_source(name)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell(f"DSN = {dsn!r}", metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(at + 1, injected)
    execute(nb, cwd=HERE)
    _clean(nb)
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / f"{name}.ipynb")
    print(f"wrote {out / (name + '.ipynb')}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"notebooks to build (default: all of {', '.join(names())})")
    parser.add_argument("--dsn", help="run on this lab database instead of a throwaway one (needs --out)")
    parser.add_argument("--out", type=Path, help="directory for the executed copies when --dsn is given")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names()))
    if unknown:
        parser.error(f"no notebook source {', '.join(u + '.py' for u in unknown)} in {HERE}")
    if bool(args.dsn) != bool(args.out):
        parser.error("--dsn and --out go together (a run on your data does not overwrite the stored notebooks)")
    for name in args.names or names():
        run_on(name, args.dsn, args.out) if args.dsn else build(name)


if __name__ == "__main__":
    main(sys.argv[1:])
