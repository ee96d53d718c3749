"""Compliance checks: one rule per SQL file in sql/compliance/, run against a live database.

Each file starts with a header block of `-- key: value` lines (continuation lines indented
by two spaces after `--`):

    -- id: audit_trail_complete
    -- title: Every record has a complete audit trail that rebuilds it exactly
    -- requirement: what the check proves ...
    -- severity: critical | high | medium | low

followed by one query that returns the violating rows, always with the same three
columns: `object` (text: what violates, e.g. `tenant.notes <id>` or `audit.entries 42`),
`tenant_id` (uuid, NULL for schema-level findings) and `detail` (jsonb, at least a
`problem`). No rows means the rule holds. Adding a check means adding a file.

Checks compare departments, so they need a connection that sees every department: a
superuser (forced RLS filters every other role, and no lab role may bypass it). Each runs in
its own read-only transaction, so a check can never change what it inspects. A check whose
query names a column, table or function the schema no longer has (a dropped tenant_id, say)
reports that as its finding rather than failing to run: each check passes or fails, none errors
on schema drift.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import psycopg

from enquiries_lab.errors import LabError, describe_db_error, one_line
from enquiries_lab.migrations import sql_dir

SEVERITIES = ("critical", "high", "medium", "low")
RESULT_COLUMNS = ("object", "tenant_id", "detail")
HEADER_KEYS = ("id", "title", "requirement", "severity")
# undefined column, table, function, object: a schema that drifted from what a rule reads
SCHEMA_DRIFT = frozenset({"42703", "42P01", "42883", "42704"})
FILE_NAME = re.compile(r"^(?P<number>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
HEADER_LINE = re.compile(r"^--\s?(?P<key>[a-z_]+):\s*(?P<value>.*)$")
CONTINUATION = re.compile(r"^--\s{2,}(?P<value>\S.*)$")


@dataclass(frozen=True)
class Check:
    """One compliance rule: its header and the query returning the violating rows."""

    id: str
    title: str
    requirement: str
    severity: str
    query: str
    path: Path


@dataclass(frozen=True)
class Violation:
    object: str
    tenant_id: uuid.UUID | None
    detail: dict[str, Any]

    @property
    def problem(self) -> str:
        return str(self.detail.get("problem", ""))


@dataclass
class CheckResult:
    check: Check
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        return "fail" if self.violations else "pass"

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def checks_dir() -> Path:
    return sql_dir() / "compliance"


def parse_check(path: Path) -> Check:
    """A Check from its file; a malformed header is a LabError naming the file."""
    match = FILE_NAME.match(path.name)
    if not match:
        raise LabError(f"{path.name}: compliance checks are named NNNN_snake_case.sql")
    header: dict[str, str] = {}
    key = None
    body_start = 0
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        head = HEADER_LINE.match(line)
        cont = CONTINUATION.match(line)
        if head and head["key"] in HEADER_KEYS:
            key = head["key"]
            if key in header:
                raise LabError(f"{path.name}:{number + 1}: '{key}' appears twice in the header")
            header[key] = head["value"].strip()
        elif cont and key is not None:
            header[key] += " " + cont["value"].strip()
        elif line.startswith("--") or not line.strip():
            key = None
        else:
            body_start = number
            break
    else:
        raise LabError(f"{path.name}: no query after the header")
    missing = [k for k in HEADER_KEYS if not header.get(k)]
    if missing:
        raise LabError(f"{path.name}: header lacks {', '.join(missing)}")
    if header["id"] != match["name"]:
        raise LabError(f"{path.name}: id {header['id']!r} does not match the file name")
    if header["severity"] not in SEVERITIES:
        raise LabError(f"{path.name}: severity must be one of {', '.join(SEVERITIES)}, not {header['severity']!r}")
    query = "\n".join(lines[body_start:]).strip().rstrip(";")
    return Check(header["id"], header["title"], header["requirement"], header["severity"], query, path)


def discover(directory: Path | None = None) -> list[Check]:
    """Every check in file order; duplicate ids are an error."""
    directory = directory or checks_dir()
    if not directory.is_dir():
        raise LabError(f"compliance check directory {directory} does not exist")
    checks = [parse_check(p) for p in sorted(directory.glob("*.sql"))]
    seen: set[str] = set()
    for c in checks:
        if c.id in seen:
            raise LabError(f"{c.path.name}: check id {c.id!r} is used twice")
        seen.add(c.id)
    return checks


def require_superuser(conn: psycopg.Connection, what: str = "enquiries-lab check") -> None:
    row = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    if not row or not row[0]:
        raise LabError(f"{what} needs a superuser connection: it compares every department's data, "
                       f"which row level security (forced) shows to no other role")


def run_check(conn: psycopg.Connection, check: Check, *, timeout_s: float | None = None) -> CheckResult:
    """Run one check in its own read-only transaction; a failing query is an 'error' result."""
    started = time.perf_counter()
    result = CheckResult(check)
    try:
        with conn.transaction():
            conn.execute("set transaction read only")
            # Checks scan every monthly audit partition: JIT would compile for a second to save microseconds.
            conn.execute("set local jit = off")
            if timeout_s:
                conn.execute(f"set local statement_timeout = {int(timeout_s * 1000)}")
            with conn.cursor() as cur:
                cur.execute(check.query)
                names = tuple(d.name for d in cur.description or ())
                if names != RESULT_COLUMNS:
                    raise LabError(f"returns columns ({', '.join(names)}), expected ({', '.join(RESULT_COLUMNS)})")
                for obj, tenant, detail in cur.fetchall():
                    result.violations.append(Violation(str(obj), tenant, detail if isinstance(detail, dict) else {"problem": detail}))
    except psycopg.Error as err:
        if err.sqlstate in SCHEMA_DRIFT:
            # The rule names a column, table or function the schema no longer has: that is a
            # finding about the schema (the rule cannot hold as written), not a check that broke.
            result.violations.append(Violation("schema", None, {
                "problem": "the schema lacks what this rule is about, so it cannot hold",
                "sqlstate": err.sqlstate, "missing": one_line(err.diag.message_primary or str(err))}))
        else:
            result.error = describe_db_error(err)
    except LabError as err:
        result.error = str(err)
    result.seconds = time.perf_counter() - started
    return result


def run(conn: psycopg.Connection, checks: Iterable[Check] | None = None, *, only: Sequence[str] = (),
        timeout_s: float | None = None) -> list[CheckResult]:
    """Run the checks (all, or those named in `only`) on an autocommit superuser connection."""
    if not conn.autocommit:
        raise LabError("compliance checks need an autocommit connection (each runs in its own transaction)")
    require_superuser(conn)
    selected = select(list(checks if checks is not None else discover()), only)
    return [run_check(conn, c, timeout_s=timeout_s) for c in selected]


def select(checks: Sequence[Check], only: Sequence[str] = ()) -> list[Check]:
    """The checks named in `only` (all if empty); an unknown id is a LabError listing the known ones."""
    if not only:
        return list(checks)
    known = {c.id for c in checks}
    unknown = [o for o in only if o not in known]
    if unknown:
        raise LabError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [c for c in checks if c.id in set(only)]


def all_passed(results: Sequence[CheckResult]) -> bool:
    return all(r.passed for r in results)


def department_codes(conn: psycopg.Connection) -> dict[uuid.UUID, str]:
    """tenant_id -> department code, for readable reports (superuser: every department)."""
    try:
        return dict(conn.execute("select tenant_id, code from tenant.departments").fetchall())
    except psycopg.Error:
        return {}


# -- rendering --------------------------------------------------------------------------------

def _detail_text(detail: dict[str, Any], width: int = 110) -> str:
    parts = [str(detail.get("problem", ""))] if detail.get("problem") else []
    for k, v in detail.items():
        if k == "problem" or v is None:
            continue
        shown = v if isinstance(v, str) else json.dumps(v, default=str, separators=(",", ":"))
        parts.append(f"{k}={shown}")
    text = one_line("; ".join(parts))
    return text if len(text) <= width else text[: width - 3] + "..."


def render_table(results: Sequence[CheckResult], *, codes: dict | None = None, max_rows: int = 20) -> str:
    """A summary line per check, then each failing check with its offending rows."""
    codes = codes or {}
    width = max([len(r.check.id) for r in results] + [5])
    out = [f"{'check':<{width}}  {'severity':<8}  {'result':<6}  {'rows':>5}  {'time':>7}", "-" * (width + 36)]
    for r in results:
        out.append(f"{r.check.id:<{width}}  {r.check.severity:<8}  {r.status.upper():<6}  "
                   f"{len(r.violations):>5}  {r.seconds:>6.2f}s")
    for r in results:
        if r.passed:
            continue
        out += ["", f"{r.status.upper()}: {r.check.id} ({r.check.severity}): {r.check.title}",
                f"  requirement: {r.check.requirement}"]
        if r.error:
            out.append(f"  error: {r.error}")
            continue
        obj_width = min(60, max(len(v.object) for v in r.violations))
        for v in r.violations[:max_rows]:
            tenant = codes.get(v.tenant_id, str(v.tenant_id)[:8]) if v.tenant_id else "-"
            out.append(f"  {v.object:<{obj_width}}  {tenant:<8}  {_detail_text(v.detail)}")
        if len(r.violations) > max_rows:
            out.append(f"  ... and {len(r.violations) - max_rows} more (use --format json for all)")
    passed = sum(r.passed for r in results)
    failed = sum(r.status == "fail" for r in results)
    errors = sum(r.status == "error" for r in results)
    out += ["", f"{passed} passed, {failed} failed" + (f", {errors} could not run" if errors else "")
            + f" ({len(results)} checks)"]
    return "\n".join(out)


def to_dict(results: Sequence[CheckResult], *, codes: dict | None = None) -> dict[str, Any]:
    codes = codes or {}
    return {
        "passed": all_passed(results),
        "checks": [
            {
                "id": r.check.id, "title": r.check.title, "requirement": r.check.requirement,
                "severity": r.check.severity, "status": r.status, "seconds": round(r.seconds, 3), "error": r.error,
                "violations": [{"object": v.object, "tenant_id": str(v.tenant_id) if v.tenant_id else None,
                                "department": codes.get(v.tenant_id), "detail": v.detail} for v in r.violations],
            }
            for r in results
        ],
    }


def render_json(results: Sequence[CheckResult], *, codes: dict | None = None) -> str:
    return json.dumps(to_dict(results, codes=codes), indent=2, default=str)


def render_html(results: Sequence[CheckResult], *, codes: dict | None = None, max_rows: int = 200) -> str:
    """A self-contained HTML report: the summary table, then each failing check's rows."""
    codes = codes or {}
    e = html.escape
    colour = {"pass": "#1d7a3a", "fail": "#b3261e", "error": "#8a5a00"}
    rows = "".join(
        f"<tr><td><a href='#{e(r.check.id)}'>{e(r.check.id)}</a></td><td>{e(r.check.title)}</td>"
        f"<td>{e(r.check.severity)}</td><td style='color:{colour[r.status]};font-weight:bold'>{r.status.upper()}</td>"
        f"<td>{len(r.violations)}</td></tr>" for r in results)
    sections = []
    for r in results:
        body = f"<p>{e(r.check.requirement)}</p>"
        if r.error:
            body += f"<p><b>Could not run:</b> {e(r.error)}</p>"
        elif r.violations:
            items = "".join(
                f"<tr><td>{e(v.object)}</td><td>{e(codes.get(v.tenant_id, str(v.tenant_id)) if v.tenant_id else '-')}</td>"
                f"<td>{e(v.problem)}</td><td><code>{e(json.dumps({k: x for k, x in v.detail.items() if k != 'problem'}, default=str))}</code></td></tr>"
                for v in r.violations[:max_rows])
            more = f"<p>... and {len(r.violations) - max_rows} more.</p>" if len(r.violations) > max_rows else ""
            body += ("<table><tr><th>object</th><th>department</th><th>problem</th><th>detail</th></tr>"
                     f"{items}</table>{more}")
        else:
            body += "<p>No violations.</p>"
        sections.append(f"<h2 id='{e(r.check.id)}'>{e(r.check.id)}: {e(r.check.title)} "
                        f"<small style='color:{colour[r.status]}'>{r.status.upper()}</small></h2>{body}")
    verdict = "All checks pass" if all_passed(results) else "Violations found"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>enquiries-lab compliance</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style></head><body>"
            f"<h1>Compliance: {verdict}</h1><table><tr><th>check</th><th>title</th><th>severity</th><th>result</th>"
            f"<th>rows</th></tr>{rows}</table>{''.join(sections)}</body></html>")
