"""Scale-out readiness: is the schema still distributable by tenant_id on Citus?

The rules are compliance checks (`sql/compliance/*_scale_out_*.sql`, one per file, run by
`enquiries-lab check` with the others); this module runs just them. They run on single-node
PostgreSQL, so CI proves on every run that the schema has not drifted away from Citus
(docs/scale-out.md explains each rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from enquiries_lab import compliance

PREFIX = "scale_out_"


@dataclass(frozen=True)
class Finding:
    rule: str
    object: str
    detail: str


def rules() -> list[compliance.Check]:
    return [c for c in compliance.discover() if c.id.startswith(PREFIX)]


def check(conn: psycopg.Connection) -> list[Finding]:
    """Every violation of every readiness rule (empty: ready to distribute)."""
    findings = []
    for rule in rules():
        for obj, _tenant, detail in conn.execute(rule.query).fetchall():
            findings.append(Finding(rule.id, obj, detail.get("problem", str(detail))))
    return findings
