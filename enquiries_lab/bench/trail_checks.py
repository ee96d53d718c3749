"""Whole-database checks of the audit trail against the live rows, for the load and fault runs
(and the tests: tests/invariants.py re-exports them).

Each function takes a connection that sees every department (a superuser) and returns the
offending rows, so callers assert `== []`:

- `replay_mismatches`: live rows that the fold of their audit entries does not rebuild
  exactly (a change without its entry, or an entry without its change);
- `entries_without_live_row`: audit entries of records that have no live row;
- `workflow_violations`: status changes in the trail that core.status_transitions does not
  allow for the role that made them;
- `cross_tenant_entries`: entries whose row or actor belongs to another department.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

TENANT_TABLES = ["departments", "department_enquiry_types", "teams", "staff", "contacts", "enquiries",
                 "notes", "assignments", "escalations", "legal_holds"]


# -- the trail against the live rows -------------------------------------------------------------

def key_columns(conn: psycopg.Connection) -> dict[str, str]:
    """table -> the column whose value is the record_id of its audit entries (as 012 keys them)."""
    keys = {}
    for table in TENANT_TABLES:
        row = conn.execute(
            """select a.attname from pg_constraint k join pg_attribute a
                   on a.attrelid = k.conrelid and a.attnum = any(k.conkey)
               where k.conrelid = %s::regclass and k.contype = 'p' and a.attname <> 'tenant_id'
               order by array_position(k.conkey, a.attnum) limit 1""", [f"tenant.{table}"]).fetchone()
        keys[table] = row[0] if row else "tenant_id"
    return keys


def replay_mismatches(conn: psycopg.Connection, tenants: list | None = None,
                      records: dict[str, list] | None = None) -> list[tuple[str, str]]:
    """(table, record id) of every live row the fold of its entries does not rebuild exactly,
    including rows with no entry at all (the check of test_audit.py, over every table); only the
    departments in `tenants`, and only the records in `records` (table -> ids), when given."""
    bad = []
    for table, key in key_columns(conn).items():
        if records is not None and not records.get(table):
            continue
        filters = [(sql.SQL("and e.tenant_id = any(%(tenants)s)"), sql.SQL("and t.tenant_id = any(%(tenants)s)"))
                   if tenants is not None else (sql.SQL(""), sql.SQL("")),
                   (sql.SQL("and e.record_id = any(%(records)s::uuid[])"),
                    sql.SQL("and t.{} = any(%(records)s::uuid[])").format(sql.Identifier(key)))
                   if records is not None else (sql.SQL(""), sql.SQL(""))]
        only = sql.SQL(" ").join(f[0] for f in filters)
        only_live = sql.SQL("where true ") + sql.SQL(" ").join(f[1] for f in filters)
        # one pass over the table's entries (grouped), not a correlated lookup per row: the trail has a
        # partition per month and a per-row lookup would probe every one of them
        rows = conn.execute(sql.SQL(
            """with replayed as (
                   select e.tenant_id, e.record_id, audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) as state
                   from audit.entries e where e.table_name = {qualified} {only}
                   group by e.tenant_id, e.record_id)
               select t.{key}::text from tenant.{table} t
               left join replayed r on r.tenant_id = t.tenant_id and r.record_id = t.{key}
               {only_live} and to_jsonb(t) is distinct from r.state"""
        ).format(key=sql.Identifier(key), table=sql.Identifier(table), qualified=sql.Literal(f"tenant.{table}"),
                 only=only, only_live=only_live),
            {"tenants": tenants, "records": (records or {}).get(table)}).fetchall()
        bad += [(table, r[0]) for r in rows]
    return bad


def entries_without_live_row(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(table, record id) of audit entries whose record has no live row in its department."""
    bad = []
    for table, key in key_columns(conn).items():
        rows = conn.execute(sql.SQL(
            """select distinct e.record_id::text from audit.entries e
               where e.table_name = {qualified}
                 and not exists (select from tenant.{table} t where t.tenant_id = e.tenant_id and t.{key} = e.record_id)"""
        ).format(key=sql.Identifier(key), table=sql.Identifier(table), qualified=sql.Literal(f"tenant.{table}"))).fetchall()
        bad += [(table, r[0]) for r in rows]
    return bad


def workflow_violations(conn: psycopg.Connection, after_entry_id: int = 0) -> list[tuple]:
    """Status changes in the trail (after `after_entry_id`) that core.status_transitions does not
    allow for the staff role that made them. Provisioners and superusers never change status."""
    return conn.execute(
        """select e.entry_id, e.record_id, e.old_values ->> 'status', e.row_data ->> 'status', e.db_role
           from audit.entries e
           left join core.staff_roles r on r.db_role = e.db_role
           where e.table_name = 'tenant.enquiries' and e.action <> 'insert' and 'status' = any(e.changed_columns)
             and e.entry_id > %s
             and not exists (select from core.status_transitions t
                             where t.from_status = e.old_values ->> 'status' and t.to_status = e.row_data ->> 'status'
                               and t.staff_role = r.staff_role)
           order by e.entry_id""", [after_entry_id]).fetchall()


def cross_tenant_entries(conn: psycopg.Connection, after_entry_id: int = 0) -> list[tuple]:
    """Entries whose row says another department, or whose acting staff member is of another
    department (provisioner operators are no staff members and are skipped)."""
    return conn.execute(
        """select e.entry_id, e.table_name, e.record_id
           from audit.entries e
           where e.entry_id > %s
             and ((e.row_data ? 'tenant_id' and (e.row_data ->> 'tenant_id')::uuid <> e.tenant_id)
                  or (e.db_role in (select db_role from core.staff_roles)
                      and not exists (select from tenant.staff s where s.tenant_id = e.tenant_id and s.staff_id = e.actor_id)))
           order by e.entry_id""", [after_entry_id]).fetchall()




def all_problems(conn: psycopg.Connection, after_entry_id: int = 0) -> dict[str, list]:
    """Every check at once (the workflow and department checks only for entries after
    `after_entry_id`); all lists empty when the trail and the rows agree."""
    return {
        "replay_mismatches": replay_mismatches(conn),
        "entries_without_live_row": entries_without_live_row(conn),
        "workflow_violations": workflow_violations(conn, after_entry_id),
        "cross_tenant_entries": cross_tenant_entries(conn, after_entry_id),
    }
