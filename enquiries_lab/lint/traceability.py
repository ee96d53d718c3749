"""Requirement-to-test traceability.

Requirements live in `.kiro/specs/<name>/requirements.md` as `### REQ-XXX-N: title`
headings, each followed by a `Status: implemented|planned` line and EARS acceptance criteria.
Tests name what they prove with `@pytest.mark.req("REQ-XXX-N", ...)`; the markers are read
from the test files' syntax trees, so the matrix needs neither a database nor a test run.

    python -m enquiries_lab.lint.traceability           # print the matrix
    python -m enquiries_lab.lint.traceability --write   # regenerate docs/traceability.md
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / ".kiro" / "specs"
TESTS = ROOT / "tests"
MATRIX = ROOT / "docs" / "traceability.md"
STATUSES = ("implemented", "planned")

_HEADING = re.compile(r"^###\s+(?P<id>REQ-[A-Z]+-\d+):\s*(?P<title>.+?)\s*$")
_STATUS = re.compile(r"^Status:\s*(?P<status>\S+)\s*$")


@dataclass
class Requirement:
    id: str
    title: str
    spec: str
    status: str | None = None
    criteria: list[str] = field(default_factory=list)

    @property
    def implemented(self) -> bool:
        return self.status == "implemented"


def requirements(specs: Path = SPECS) -> list[Requirement]:
    found: list[Requirement] = []
    for path in sorted(specs.glob("*/requirements.md")):
        current: Requirement | None = None
        for line in path.read_text().splitlines():
            heading = _HEADING.match(line)
            if heading:
                current = Requirement(heading["id"], heading["title"], path.parent.name)
                found.append(current)
                continue
            if line.startswith("#"):
                current = None
                continue
            if current is None:
                continue
            status = _STATUS.match(line)
            if status and current.status is None:
                current.status = status["status"]
            elif line.startswith("- "):
                current.criteria.append(line[2:].strip())
    return found


def marked_tests(tests: Path = TESTS) -> dict[str, list[str]]:
    """requirement id -> test ids (`tests/test_x.py::test_name`), from the decorators."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests.glob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for ident in _req_ids(node.decorator_list):
                found.setdefault(ident, []).append(f"{path.relative_to(tests.parent).as_posix()}::{node.name}")
    return found


def _req_ids(decorators: list[ast.expr]) -> list[str]:
    ids: list[str] = []
    for d in decorators:
        if isinstance(d, ast.Call) and _dotted(d.func) in ("pytest.mark.req", "mark.req"):
            ids += [a.value for a in d.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return ids


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def problems(reqs: list[Requirement] | None = None, tests: dict[str, list[str]] | None = None) -> list[str]:
    """Everything the traceability check fails on, one line each (empty: all traced)."""
    reqs = requirements() if reqs is None else reqs
    tests = marked_tests() if tests is None else tests
    out: list[str] = []
    ids = [r.id for r in reqs]
    out += [f"{i} is defined more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    by_id = {r.id: r for r in reqs}
    for r in reqs:
        if r.status not in STATUSES:
            out.append(f"{r.id} has status {r.status!r}; write `Status: implemented` or `Status: planned`")
        if not r.criteria or not all("SHALL" in c for c in r.criteria):
            out.append(f"{r.id} needs acceptance criteria in EARS form (... THE SYSTEM SHALL ...)")
        if r.implemented and not tests.get(r.id):
            out.append(f"{r.id} ({r.title}) is implemented but no test names it with @pytest.mark.req")
    for ident, names in sorted(tests.items()):
        if ident not in by_id:
            out.append(f"{', '.join(names)} names unknown requirement {ident}")
        elif not by_id[ident].implemented:
            out.append(f"{', '.join(names)} proves {ident}, which is still {by_id[ident].status}: mark it implemented")
    return out


def matrix() -> str:
    """docs/traceability.md: every requirement, its status and the tests that prove it."""
    reqs = requirements()
    tests = marked_tests()
    lines = [
        "# Requirement-to-test matrix",
        "",
        "Generated from `.kiro/specs/*/requirements.md` and the `@pytest.mark.req` markers in `tests/`",
        "by `python -m enquiries_lab.lint.traceability --write`; `tests/test_traceability.py` fails",
        "when it is out of date, when an implemented requirement has no test, or when a test names",
        "an unknown requirement. Planned requirements are listed without tests until they are built.",
        "",
        f"{sum(r.implemented for r in reqs)} implemented and {sum(not r.implemented for r in reqs)} planned requirements; "
        f"{len({t for ts in tests.values() for t in ts})} tests name at least one.",
        "",
        "| requirement | status | tests |",
        "|---|---|---|",
    ]
    for r in reqs:
        names = tests.get(r.id, [])
        cell = "<br>".join(f"`{n}`" for n in names) if names else "—"
        lines.append(f"| **{r.id}** {r.title} | {r.status} | {cell} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--write"]:
        MATRIX.write_text(matrix())
        print(f"wrote {MATRIX.relative_to(ROOT)}")
    else:
        print(matrix(), end="")
    issues = problems()
    for p in issues:
        print(f"traceability: {p}", file=sys.stderr)
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
