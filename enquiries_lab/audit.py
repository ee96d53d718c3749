"""Audit reconstruction: timelines, as-of states, snapshots, diffs and the replay check,
all rebuilt from the audit trail alone.

Every function takes a connection or cursor that is already in someone's context,
normally an auditor's, and sees exactly what that role may see (RLS):

    with act_as(conn, auditor) as cur:
        audit.history(cur, "enquiries", enquiry_id)                 # who, when, what, old -> new
        audit.state_as_of(cur, "enquiries", enquiry_id, some_time)  # one record, milliseconds
        audit.table_as_of(cur, "enquiries", some_time)              # the department's table then
        audit.diff(cur, "enquiries", enquiry_id, t1, t2)            # what changed in between
        audit.table_diff(cur, "enquiries", t1, t2)
        audit.replay_mismatches(cur)                                # live rows the trail does not rebuild

Times are business time (when a change took effect; see docs/design.md). A `datetime`
must carry a time zone; a `date` means the end of that day, UTC. Reads are not audited:
the trail records every change, never who looked at a record (see docs/audit.md).

State values are what the trail stores: JSON, so timestamps and UUIDs are ISO strings in
`state_as_of`; the DataFrames turn timestamp columns into pandas datetimes (UTC).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Union

import pandas as pd
import psycopg
from psycopg import sql

from enquiries_lab.errors import LabError
from enquiries_lab.session import as_uuid

Executor = Union[psycopg.Connection, psycopg.Cursor]
Instant = Union[datetime, date, str]

TIMESTAMPTZ_OID = 1184
HISTORY_COLUMNS = ["entry_id", "occurred_at", "recorded_at", "action", "actor_id", "actor", "staff_role", "db_role",
                   "login", "backdated", "column", "old", "new"]


def instant(value: Instant, what: str = "time", *, day_end: bool = True) -> datetime:
    """A timezone-aware datetime; a date is the end of that day, UTC (its start if not day_end)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value or ":" in value else date.fromisoformat(value)
        except ValueError:
            raise LabError(f"{what} must be an ISO date or time, got {value!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise LabError(f"{what} must be timezone-aware (e.g. {value.isoformat()}+00:00)")
        return value
    if isinstance(value, date):
        if not day_end:
            return datetime.combine(value, time(), tzinfo=timezone.utc)
        return datetime.combine(value + timedelta(days=1), time(), tzinfo=timezone.utc) - timedelta(microseconds=1)
    raise LabError(f"{what} must be a datetime, a date or an ISO string, got {type(value).__name__}")


def audited_tables(ex: Executor) -> dict[str, str]:
    """Audited table (schema-qualified) -> the column that is its records' record_id."""
    return dict(ex.execute("select table_name, key_column from audit.audited_tables").fetchall())


def resolve_table(ex: Executor, table: str) -> tuple[str, str]:
    """('tenant.enquiries', 'enquiry_id') for 'enquiries' or 'tenant.enquiries'; LabError otherwise."""
    tables = audited_tables(ex)
    name = table if "." in table else f"tenant.{table}"
    if name not in tables:
        raise LabError(f"{table!r} is not an audited table; audited: {', '.join(sorted(tables))}")
    return name, tables[name]


def _table_ident(name: str) -> sql.Identifier:
    schema, _, rel = name.partition(".")
    return sql.Identifier(schema, rel)


def department(ex: Executor) -> uuid.UUID | None:
    """The department in the transaction's context (None: none), for the queries here to filter
    by as a value. On Citus a value routes a query to the department's one shard, and an outer
    join of distributed tables that reads the context inside the query (a sub-select of
    tenant.current_tenant_id(), or only the policies' call of it) is refused there on
    PostgreSQL 15 and 16 ("outer joins and pseudoconstant quals", docs/scale-out.md). On one
    node the filter is the same; RLS decides what is seen either way."""
    return ex.execute("select tenant.current_tenant_id()").fetchone()[0]


def _creation_hint(ex: Executor, table: str, key: str, record_id: uuid.UUID, dept: uuid.UUID | None) -> datetime | None:
    """The live row's created_at: a lower bound on the record's entries that lets the planner
    skip every older monthly partition. Only a hint: callers check it against the trail."""
    row = ex.execute(sql.SQL("select created_at from {} where tenant_id = %s and {} = %s")
                     .format(_table_ident(table), sql.Identifier(key)), [dept, record_id]).fetchone()
    return row[0] if row else None


FOLD = """
select audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id),
       (array_agg(e.action order by e.occurred_at, e.entry_id))[1], min(e.occurred_at), count(*)
from audit.entries e
where e.tenant_id = %s and e.table_name = %s and e.record_id = %s
  and e.occurred_at <= %s
"""


def state_as_of(ex: Executor, table: str, record_id: uuid.UUID | str, at: Instant) -> dict[str, Any] | None:
    """One record as it stood at business time `at`, from the trail alone (None: not yet created).

    The fold is audit.jsonb_merge, as in audit.record_as_of; bounds are sent as literals so
    the planner prunes the monthly partitions before the record existed and after `at`.
    """
    name, key = resolve_table(ex, table)
    rid = as_uuid(record_id, "record_id")
    at = instant(at, "at")
    dept = department(ex)
    hint = _creation_hint(ex, name, key, rid, dept)
    if hint is not None and at >= hint:
        state, first, earliest, n = ex.execute(FOLD + " and e.occurred_at >= %s", [dept, name, rid, at, hint]).fetchone()
        if n and first == "insert" and earliest == hint:
            return state
    state, _, _, n = ex.execute(FOLD, [dept, name, rid, at]).fetchone()
    return state if n else None


def _entries(ex: Executor, table: str, key: str, record_id: uuid.UUID) -> list[tuple]:
    query = sql.SQL("""
        select e.entry_id, e.occurred_at, e.recorded_at, e.action, e.actor_id, s.full_name, s.staff_role, e.db_role,
               e.login_role, e.backdated, e.changed_columns, e.row_data, e.old_values
        from audit.entries e
        left join tenant.staff s on s.tenant_id = e.tenant_id and s.staff_id = e.actor_id
        where e.tenant_id = %s and e.table_name = %s and e.record_id = %s {}
        order by e.occurred_at, e.entry_id""")
    dept = department(ex)
    hint = _creation_hint(ex, table, key, record_id, dept)
    if hint is not None:
        rows = ex.execute(query.format(sql.SQL("and e.occurred_at >= %s")), [dept, table, record_id, hint]).fetchall()
        if rows and rows[0][3] == "insert" and rows[0][1] == hint:
            return rows
    return ex.execute(query.format(sql.SQL("")), [dept, table, record_id]).fetchall()


def history(ex: Executor, table: str, record_id: uuid.UUID | str) -> pd.DataFrame:
    """The record's timeline: one row per entry and column it set (an insert lists every column
    it set; an update the columns it changed), with who, when, in which role, old and new value."""
    name, key = resolve_table(ex, table)
    rows = []
    for (entry_id, occurred, recorded, action, actor_id, actor, role, db_role, login, backdated,
         changed, new, old) in _entries(ex, name, key, as_uuid(record_id, "record_id")):
        columns = sorted(k for k, v in new.items() if v is not None) if action == "insert" else changed
        for column in columns:
            rows.append((entry_id, occurred, recorded, action, actor_id, actor, role, db_role, login, backdated,
                         column, (old or {}).get(column), new.get(column)))
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def table_as_of(ex: Executor, table: str, at: Instant, *, include_deleted: bool = False) -> pd.DataFrame:
    """Every record of the department's `table` as it stood at business time `at`, one row per
    record with the table's columns and types, rebuilt from the trail alone (audit.table_as_of).
    Soft-deleted records are left out unless `include_deleted`, as the app views leave them out."""
    name, _ = resolve_table(ex, table)
    query = sql.SQL("""
        select r.* from audit.table_as_of(%s, %s) t
        cross join lateral jsonb_populate_record(null::{}, t.state) r
        {}""").format(_table_ident(name), sql.SQL("" if include_deleted else "where t.state ->> 'deleted_at' is null"))
    cur = ex.execute(query, [name, instant(at, "at")])
    frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    for d in cur.description:
        if d.type_code == TIMESTAMPTZ_OID:
            frame[d.name] = pd.to_datetime(frame[d.name], utc=True)
    return frame


def diff(ex: Executor, table: str, record_id: uuid.UUID | str, t1: Instant, t2: Instant) -> pd.DataFrame:
    """The columns of one record that differ between business times t1 and t2 (column, at_t1, at_t2)."""
    before = state_as_of(ex, table, record_id, t1) or {}
    after = state_as_of(ex, table, record_id, t2) or {}
    rows = [(k, before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]
    return pd.DataFrame(rows, columns=["column", "at_t1", "at_t2"])


def table_diff(ex: Executor, table: str, t1: Instant, t2: Instant) -> pd.DataFrame:
    """What changed in the department's `table` between t1 and t2: one row per record and
    column (change is 'created' or 'changed'), from audit.table_changes."""
    name, _ = resolve_table(ex, table)
    rows = []
    for record_id, before, after in ex.execute("select record_id, before, after from audit.table_changes(%s, %s, %s) "
                                               "order by record_id", [name, instant(t1, "t1"), instant(t2, "t2")]):
        if before is None:
            rows += [(record_id, "created", k, None, v) for k, v in sorted(after.items()) if v is not None]
        else:
            rows += [(record_id, "changed", k, before.get(k), after.get(k))
                     for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]
    return pd.DataFrame(rows, columns=["record_id", "change", "column", "before", "after"])


def replay_mismatches(ex: Executor) -> pd.DataFrame:
    """Live rows that replaying their trail does not rebuild exactly (audit.replay_mismatches):
    empty when the trail is complete and exact. A superuser gets every department."""
    rows = ex.execute("select table_name, tenant_id, record_id, differing_columns, live, replayed "
                      "from audit.replay_mismatches()").fetchall()
    return pd.DataFrame(rows, columns=["table_name", "tenant_id", "record_id", "differing_columns", "live", "replayed"])
