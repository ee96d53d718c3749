"""Every implemented requirement is proved by a test that names it; every name is known; the
matrix in docs/traceability.md is current; and the .kiro files are in the shape Kiro loads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from enquiries_lab.lint import traceability
from enquiries_lab.lint.traceability import Requirement, matrix, problems, requirements

ROOT = Path(__file__).resolve().parent.parent
KIRO = ROOT / ".kiro"


@pytest.mark.req("REQ-TRACE-1")
def test_every_implemented_requirement_has_a_test_and_every_marker_a_known_requirement() -> None:
    assert problems() == []


@pytest.mark.req("REQ-TRACE-1")
def test_the_matrix_in_docs_is_up_to_date() -> None:
    assert traceability.MATRIX.read_text() == matrix(), \
        "docs/traceability.md is stale: run python -m enquiries_lab.lint.traceability --write"


@pytest.mark.req("REQ-TRACE-1")
def test_the_check_catches_a_missing_test_an_unknown_id_and_a_planned_requirement_claimed() -> None:
    reqs = [Requirement("REQ-X-1", "built", "s", "implemented", ["WHEN a THE SYSTEM SHALL b"]),
            Requirement("REQ-X-2", "later", "s", "planned", ["THE SYSTEM SHALL c"]),
            Requirement("REQ-X-3", "vague", "s", "done", ["it works"])]
    found = problems(reqs, {"REQ-X-2": ["tests/t.py::a"], "REQ-Y-9": ["tests/t.py::b"]})
    assert any("REQ-X-1" in p and "no test" in p for p in found)
    assert any("REQ-Y-9" in p and "unknown" in p for p in found)
    assert any("REQ-X-2" in p and "planned" in p for p in found)
    assert any("REQ-X-3" in p and "status" in p for p in found)
    assert any("REQ-X-3" in p and "EARS" in p for p in found)


@pytest.mark.req("REQ-TRACE-1")
def test_requirements_are_derived_from_every_issue_and_planned_ones_are_explicit() -> None:
    reqs = requirements()
    areas = {r.id.split("-")[1] for r in reqs}
    assert {"FND", "ISO", "CTX", "AUD", "DEL", "WF", "RET", "GEN", "CMP", "PERF", "LINT", "ATK", "SCALE"} <= areas
    assert {r.status for r in reqs} <= {"implemented", "planned"}


@pytest.mark.req("REQ-TRACE-1")
def test_the_req_marker_is_registered() -> None:
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("req(") or m.startswith("req:") for m in markers)


# -- .kiro -----------------------------------------------------------------------------------

def front_matter(path: Path) -> dict[str, str]:
    text = path.read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, f"{path} has no front matter"
    fields = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        assert sep, f"{path}: front matter line {line!r} is not `key: value`"
        fields[key.strip()] = value.strip().strip('"')
    return fields


@pytest.mark.req("REQ-KIRO-1")
def test_steering_files_have_valid_front_matter() -> None:
    files = sorted((KIRO / "steering").glob("*.md"))
    assert {"product.md", "tech.md", "structure.md"} <= {p.name for p in files}
    for path in files:
        fields = front_matter(path)
        assert fields.get("inclusion") in ("always", "fileMatch", "manual", "auto"), path
        if fields["inclusion"] == "fileMatch":
            assert fields.get("fileMatchPattern"), path


@pytest.mark.req("REQ-KIRO-1")
def test_the_migration_hook_is_a_v1_hook_that_fires_on_saving_sql_and_runs_the_linter() -> None:
    hooks = []
    for path in sorted((KIRO / "hooks").glob("*.json")):
        document = json.loads(path.read_text())
        assert document["version"] == "v1" and isinstance(document["hooks"], list), path
        hooks += document["hooks"]
    for hook in hooks:
        assert hook["name"] and hook["trigger"] in {
            "SessionStart", "Stop", "UserPromptSubmit", "PreToolUse", "PostToolUse", "PreTaskExec", "PostTaskExec",
            "PostFileCreate", "PostFileSave", "PostFileDelete", "Manual"}
        assert hook["action"]["type"] in ("command", "agent")
        assert hook["action"].get("command" if hook["action"]["type"] == "command" else "prompt")
    (lint_hook,) = [h for h in hooks if h["trigger"] == "PostFileSave" and "enquiries-lab lint" in json.dumps(h)]
    matcher = re.compile(lint_hook["matcher"])
    for path in ("sql/017_new.sql", "/home/me/enquiries-lab/sql/017_new.sql", "sql/citus/010_settings.sql"):
        assert matcher.search(path), path
    for path in ("docs/lint.md", "tests/lint_fixtures/x.sql", "sql/README.md"):
        assert not matcher.search(path), path
    assert "line" in lint_hook["action"]["prompt"] and "fix" in lint_hook["action"]["prompt"]


@pytest.mark.req("REQ-KIRO-1")
def test_the_agent_and_the_spec_exist_and_point_at_real_commands() -> None:
    agent = KIRO / "agents" / "database-architect.md"
    assert front_matter(agent)["name"] == "database-architect"
    assert "enquiries-lab lint" in agent.read_text()
    for name in ("requirements.md", "design.md", "tasks.md"):
        assert (KIRO / "specs" / "enquiries-platform" / name).is_file()
    for path in [agent, *(KIRO / "steering").glob("*.md")]:
        for ref in re.findall(r"`((?:docs|sql|enquiries_lab|tests|notebooks)/[\w./-]+\.(?:md|py|sql|toml))`", path.read_text()):
            if "NNN" not in ref:  # a naming pattern, not a file
                assert (ROOT / ref).exists(), f"{path.name} refers to {ref}, which does not exist"
