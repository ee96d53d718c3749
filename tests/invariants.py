"""Whole-database checks shared by the attack, property, load and fault tests.

Each function takes a superuser connection (it must see every department) and returns the
offending rows, so a test asserts `== []` and a failure shows what is wrong:

- `replay_mismatches`: live rows that the fold of their audit entries does not rebuild
  exactly (a change without its entry, or an entry without its change);
- `entries_without_live_row`: audit entries of records that have no live row;
- `workflow_violations`: status changes in the trail that core.status_transitions does not
  allow for the role that made them;
- `cross_tenant_entries`: entries whose row or actor belongs to another department;
- `snapshot`, `trail_digest`, `table_counts`: state to compare before and after a step.

The trail checks live in enquiries_lab.bench.trail_checks (the load and fault benchmarks run
them too) and are re-exported here.

Database helpers (`new_name`, `create_db`, `drop_db`) are tests/dbtools.py's, re-exported
(`from conftest import ...` would resolve to notebooks/conftest.py when pytest collects both
test paths).
"""

from __future__ import annotations

import hashlib
import json

import psycopg
from psycopg import sql

from enquiries_lab.bench.trail_checks import TENANT_TABLES


# -- throwaway databases ---------------------------------------------------------------------------

from dbtools import _new_name as new_name, create_db, drop_db  # noqa: E402,F401


# Enquiries the generator's bookkeeping accounts for in department `d` (tenant.departments d):
# its finished batches and those a run left part-way (a batch commits round by round; its first
# round inserts all its enquiries).
COMMITTED = """(coalesce((select sum(b.enquiries) from lab_meta.generation_batches b where b.department = d.code), 0)
 + coalesce((select sum(p.enquiries) from lab_meta.batches_in_progress p where p.department = d.code), 0))::int"""


def scalar(dsn_or_conn, query: str, params=()):
    if isinstance(dsn_or_conn, psycopg.Connection):
        return dsn_or_conn.execute(query, params).fetchone()[0]
    with psycopg.connect(dsn_or_conn) as conn:
        return conn.execute(query, params).fetchone()[0]


# -- the trail against the live rows (the same checks the load and fault benchmarks run) ----------

from enquiries_lab.bench.trail_checks import (all_problems, cross_tenant_entries, entries_without_live_row,  # noqa: E402,F401
                                              key_columns, replay_mismatches, workflow_violations)


# -- state to compare between steps -----------------------------------------------------------

def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(sql.SQL("select count(*) from tenant.{}").format(sql.Identifier(t))).fetchone()[0]
            for t in TENANT_TABLES}


def snapshot(conn: psycopg.Connection, tenants: list | None = None) -> dict[tuple[str, str], dict]:
    """Every live row of every tenant table (of `tenants` when given), as jsonb, by (table, record id)."""
    out = {}
    only = sql.SQL("where t.tenant_id = any(%s)" if tenants is not None else "")
    for table, key in key_columns(conn).items():
        for rid, row in conn.execute(sql.SQL("select t.{}::text, to_jsonb(t) from tenant.{} t {}").format(
                sql.Identifier(key), sql.Identifier(table), only), [tenants] if tenants is not None else []):
            out[(f"tenant.{table}", rid)] = row
    return out


def max_entry_id(conn: psycopg.Connection) -> int:
    return conn.execute("select coalesce(max(entry_id), 0) from audit.entries").fetchone()[0]


def trail_digest(conn: psycopg.Connection, upto_entry_id: int, tenants: list | None = None) -> str:
    """A digest of every field of every audit entry up to `upto_entry_id` (ids included); of the
    departments in `tenants` when given."""
    with conn.transaction():
        conn.execute("set local timezone = 'UTC'")
        rows = conn.execute(sql.SQL(
            """select e.entry_id, e.tenant_id, e.occurred_at, e.recorded_at, e.backdated, e.actor_id, e.db_role,
                      e.login_role, e.transaction_id::text, e.table_name, e.record_id, e.action, e.changed_columns,
                      e.row_data::text, e.old_values::text
               from audit.entries e where e.entry_id <= %s {} order by e.entry_id""").format(
            sql.SQL("and e.tenant_id = any(%s)" if tenants is not None else "")),
            [upto_entry_id] + ([tenants] if tenants is not None else [])).fetchall()
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()
