"""The queries users run most, written once: the caseworker queue and the supervisor dashboard.

RLS is the guarantee: without `routing`, these queries carry no tenant filter at all. With
`routing=True` they add `tenant_id = <the actor's department>` as a literal parameter. The
filter can only narrow what RLS already allows, and it serves two purposes:

- the planner sees which department is asked for. Under RLS alone the tenant is an InitPlan
  parameter, so the planner assumes an average department; for a dominant department's
  aggregates that picks a serial bitmap scan where a parallel scan is twice as fast (measured:
  docs/benchmarks.md). Department-wide aggregates (dashboard, month report) therefore route by
  default; index lookups (queue, search, history) do not need it;
- Citus needs it to send the query to one shard (docs/scale-out.md).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from enquiries_lab.session import Actor

QUEUE = """
select e.enquiry_id, e.reference, e.status, e.priority, e.subject, e.received_at, e.due_at, e.version
from app.enquiries e join core.statuses s using (status)
where e.assigned_to = %(staff_id)s and s.is_open {routing}
order by e.received_at
limit %(limit)s
"""

DASHBOARD = """
select e.status,
       count(*)::int as enquiries,
       count(*) filter (where e.due_at < coalesce(%(now)s::timestamptz, now()) and s.is_open)::int as open_past_due,
       count(*) filter (where e.resolved_at > e.due_at)::int as resolved_late
from app.enquiries e join core.statuses s using (status)
where true {routing}
group by e.status, s.sort_order
order by s.sort_order
"""


def _routing(routing: bool) -> sql.SQL:
    return sql.SQL("and e.tenant_id = %(tenant_id)s" if routing else "")


def queue(cur: psycopg.Cursor, actor: Actor, *, limit: int = 20, routing: bool = False) -> list[tuple]:
    """The actor's open cases, oldest first."""
    cur.execute(sql.SQL(QUEUE).format(routing=_routing(routing)),
                {"staff_id": actor.staff_id, "tenant_id": actor.tenant_id, "limit": limit})
    return cur.fetchall()


def dashboard(cur: psycopg.Cursor, actor: Actor, *, now=None, routing: bool = True) -> list[tuple]:
    """Counts by status for the actor's department, with SLA state."""
    cur.execute(sql.SQL(DASHBOARD).format(routing=_routing(routing)),
                {"tenant_id": actor.tenant_id, "now": now})
    return cur.fetchall()


def queue_frame(conn: psycopg.Connection, actor: Actor, **kwargs):
    """The queue as a DataFrame (notebooks)."""
    from enquiries_lab.session import act_as

    with act_as(conn, actor) as cur:
        rows = queue(cur, actor, **kwargs)
        columns = [c.name for c in cur.description]
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


SEARCH_REFERENCE = """
select e.enquiry_id, e.reference, e.status, e.subject from app.enquiries e
where e.reference = %(reference)s {routing}
"""

MONTH_REPORT = """
select e.enquiry_type, e.status, count(*)::int as enquiries
from app.enquiries e
where e.received_at >= %(month)s and e.received_at < %(month)s::timestamptz + interval '1 month' {routing}
group by 1, 2 order by 1, 2
"""

RECORD_HISTORY = """
select a.occurred_at, a.db_role, a.action, a.changed_columns, a.old_values, a.row_data
from audit.entries a
where a.record_id = %(record_id)s {routing_audit}
order by a.occurred_at, a.entry_id
"""

# The shipped query patterns by name, for the plan guards and the benchmark.
PATTERNS = {"queue": QUEUE, "dashboard": DASHBOARD, "search_reference": SEARCH_REFERENCE,
            "month_report": MONTH_REPORT, "record_history": RECORD_HISTORY}


def compose(pattern: str, routing: bool = False) -> sql.Composed:
    text = PATTERNS[pattern]
    return sql.SQL(text).format(routing=_routing(routing),
                                routing_audit=sql.SQL("and a.tenant_id = %(tenant_id)s" if routing else "")) \
        if "{routing_audit}" in text else sql.SQL(text).format(routing=_routing(routing))


def search_reference(cur: psycopg.Cursor, actor: Actor, reference: str, *, routing: bool = False) -> list[tuple]:
    cur.execute(compose("search_reference", routing), {"reference": reference, "tenant_id": actor.tenant_id})
    return cur.fetchall()


def month_report(cur: psycopg.Cursor, actor: Actor, month, *, routing: bool = True) -> list[tuple]:
    cur.execute(compose("month_report", routing), {"month": month, "tenant_id": actor.tenant_id})
    return cur.fetchall()


def record_history(cur: psycopg.Cursor, actor: Actor, record_id, *, routing: bool = False) -> list[tuple]:
    """An auditor's view of one record's audit entries, oldest first."""
    cur.execute(compose("record_history", routing), {"record_id": record_id, "tenant_id": actor.tenant_id})
    return cur.fetchall()
