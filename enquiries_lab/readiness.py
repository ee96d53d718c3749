"""Scale-out readiness: is the schema still distributable by tenant_id on Citus?

One rule per file in sql/readiness/ (a header with id and title, and a query returning the
offending objects as (object, detail); no rows means the rule holds). The rules are the
ones docs/scale-out.md explains; they run on single-node PostgreSQL, so CI proves on every
run that the schema has not drifted away from Citus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from enquiries_lab.migrations import sql_dir

HEADER = re.compile(r"^--\s*(id|title|why):\s*(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    query: str
    path: Path


@dataclass(frozen=True)
class Finding:
    rule: str
    object: str
    detail: str


def rules(directory: Path | None = None) -> list[Rule]:
    out = []
    for path in sorted((directory or sql_dir() / "readiness").glob("*.sql")):
        text = path.read_text()
        meta = dict(HEADER.findall(text))
        out.append(Rule(meta["id"], meta["title"], text, path))
    return out


def check(conn: psycopg.Connection) -> list[Finding]:
    """Every violation of every readiness rule (empty: ready to distribute)."""
    findings = []
    for rule in rules():
        for obj, detail in conn.execute(rule.query).fetchall():
            findings.append(Finding(rule.id, obj, detail))
    return findings
