"""The queries users run most, written once: the caseworker queue and the supervisor dashboard.

RLS is the guarantee, and by default these queries carry no tenant filter at all (issue 20):
measured on generated data, every pattern costs what the explicit filter costs within the
noise (docs/benchmarks.md, `bench rls --dataset`). The department-wide aggregate, the
dashboard, calls a database function (sql/076) that plans it for the department in context:
under RLS alone the planner would plan every department as an average one, and the dominant
department's best plan is not an average one's.

`routing=True` (or ENQUIRIES_LAB_ROUTING=1 for every call: the Citus profile) adds
`tenant_id = <the actor's department>` as a parameter. It can only narrow what RLS already
allows; it is a hint for a distributed engine, which needs it to send the query to one shard
(docs/scale-out.md), never the guarantee.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

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


ROUTING_ENV = "ENQUIRIES_LAB_ROUTING"


def default_routing() -> bool:
    """Whether queries add the routing hint when the caller does not say: off on a single
    node; ENQUIRIES_LAB_ROUTING=1 turns it on (the Citus profile)."""
    return os.environ.get(ROUTING_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _routing(routing: bool | None) -> sql.SQL:
    if routing is None:
        routing = default_routing()
    return sql.SQL("and e.tenant_id = %(tenant_id)s" if routing else "")


# The dashboard as the database plans it for the department in context (sql/076): the same
# columns and order as DASHBOARD, which stays the routed form (the Citus hint).
DASHBOARD_PLANNED = "select * from app.department_dashboard(%(now)s)"
PLANNED = {"dashboard": DASHBOARD_PLANNED}


def queue(cur: psycopg.Cursor, actor: Actor, *, limit: int = 20, routing: bool | None = None) -> list[tuple]:
    """The actor's open cases, oldest first."""
    cur.execute(sql.SQL(QUEUE).format(routing=_routing(routing)),
                {"staff_id": actor.staff_id, "tenant_id": actor.tenant_id, "limit": limit})
    return cur.fetchall()


def dashboard(cur: psycopg.Cursor, actor: Actor, *, now=None, routing: bool | None = None) -> list[tuple]:
    """Counts by status for the actor's department, with SLA state."""
    cur.execute(compose("dashboard", routing), {"tenant_id": actor.tenant_id, "now": now})
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
where a.record_id = %(record_id)s {window} {routing_audit}
order by a.occurred_at, a.entry_id
"""

# Every audit entry of a live enquiry lies in [created_at, updated_at] of its row: each entry's
# occurred_at is the row's updated_at as that change stamped it (sql/008), the stamp trigger
# sets created_at = updated_at on insert and refuses to move updated_at backwards (sql/007),
# and rows are never deleted (soft delete and disposal are updates). Those two values, written
# into the statement as literals, let the planner skip every monthly partition outside the
# record's life while planning (bound parameters would let psycopg prepare the statement, and a
# generic plan plans and locks all ~120 partitions before pruning them at run time).
RECORD_WINDOW = """
select e.created_at, e.updated_at, e.version from tenant.enquiries e where e.enquiry_id = %(record_id)s
"""


def _window(window: tuple | None) -> sql.Composable:
    """(from, to): from <= occurred_at <= to."""
    if window is None:
        return sql.SQL("")
    return sql.SQL("and a.occurred_at >= {}::timestamptz and a.occurred_at <= {}::timestamptz").format(
        sql.Literal(window[0]), sql.Literal(window[1]))


# A life longer than this (an enquiry disposed of seven years after it closed) is not read as one
# window: its history is walked back from the last change instead (_life).
SHORT_LIFE = timedelta(days=62)

# The shipped query patterns by name, for the plan guards and the benchmark.
PATTERNS = {"queue": QUEUE, "dashboard": DASHBOARD, "search_reference": SEARCH_REFERENCE,
            "month_report": MONTH_REPORT, "record_history": RECORD_HISTORY}


def compose(pattern: str, routing: bool | None = None, *, window: tuple | None = None) -> sql.Composable:
    """The statement of `pattern`: with the routing hint when `routing` (default: the
    environment), else RLS alone (the dashboard then as sql/076's function)."""
    text = PATTERNS[pattern]
    if routing is None:
        routing = default_routing()
    if not routing and pattern in PLANNED:
        return sql.SQL(PLANNED[pattern])
    if "{routing_audit}" in text:
        return sql.SQL(text).format(routing_audit=sql.SQL("and a.tenant_id = %(tenant_id)s" if routing else ""),
                                    window=_window(window))
    return sql.SQL(text).format(routing=_routing(routing))


def search_reference(cur: psycopg.Cursor, actor: Actor, reference: str, *, routing: bool | None = None) -> list[tuple]:
    cur.execute(compose("search_reference", routing), {"reference": reference, "tenant_id": actor.tenant_id})
    return cur.fetchall()


def month_report(cur: psycopg.Cursor, actor: Actor, month, *, routing: bool | None = None) -> list[tuple]:
    cur.execute(compose("month_report", routing), {"month": month, "tenant_id": actor.tenant_id})
    return cur.fetchall()


def record_window(cur: psycopg.Cursor, record_id) -> tuple | None:
    """(created_at, updated_at, version) of the live enquiry `record_id` (RLS applies), or None
    when it is no enquiry of the caller's department."""
    return cur.execute(RECORD_WINDOW, {"record_id": record_id}).fetchone()


RECORD_HISTORY_IN_ONE_CALL = "select * from audit.record_history(%(record_id)s)"


def record_history(cur: psycopg.Cursor, actor: Actor, record_id, *, routing: bool | None = None) -> list[tuple]:
    """An auditor's view of one record's audit entries, oldest first. For an enquiry, only the
    monthly partitions of its life are read (and only when complete, else every partition): by
    sql/077-078's audit.record_history in one call, or,
    with the routing hint (the Citus profile), from here, the window looked up first (RECORD_WINDOW)
    and a long life walked back. Any other record reads them all."""
    if routing is None:
        routing = default_routing()
    params = {"record_id": record_id, "tenant_id": actor.tenant_id}
    if not routing:
        cur.execute(RECORD_HISTORY_IN_ONE_CALL, params)
        return cur.fetchall()
    window = record_window(cur, record_id)
    if window is not None:
        life = _life(cur, routing, params, *window)
        if life is not None:
            return life
    cur.execute(compose("record_history", routing), params)   # every partition
    return cur.fetchall()


def _whole_life(entries: list[tuple], created: datetime, version: int) -> bool:
    """Whether `entries` are an enquiry's whole history (as sql/078 checks it): each update
    raises the version by one and writes one entry, so there are `version` of them, and the
    first is the insert at created_at. A live row written with the triggers off fails this."""
    return len(entries) == version and entries[0][2] == "insert" and entries[0][0] == created


def _life(cur: psycopg.Cursor, routing, params: dict, created: datetime, updated: datetime,
               version: int) -> list[tuple] | None:
    """An enquiry's entries from the partitions of its life: one window when it is short, else
    read from the last change backwards (each update entry keeps the row's previous updated_at
    in old_values, the business time of the change before it, so each step reads the one
    partition of one instant) until the rest is short enough for one window. None when what
    was read is not the whole life (the caller then reads every partition)."""
    groups: list[list[tuple]] = []   # the entries of each instant read, latest first (all later than `at`)
    at = updated
    for _ in range(10_000):
        if at - created <= SHORT_LIFE:
            cur.execute(compose("record_history", routing, window=(created, at)), params)
            life = cur.fetchall() + [row for group in reversed(groups) for row in group]
            return life if life and _whole_life(life, created, version) else None
        cur.execute(compose("record_history", routing, window=(at, at)), params)
        group = cur.fetchall()
        if not group:
            return None
        groups.append(group)
        earlier = [datetime.fromisoformat(row[4]["updated_at"]) for row in group
                   if row[2] != "insert" and row[4] and "updated_at" in row[4]]
        earlier = [t for t in earlier if t < at]
        if not earlier:
            return None
        at = min(earlier)
    return None
