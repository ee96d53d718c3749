"""The questions auditors ask, answered from the audit trail, as DataFrames.

Run them in an auditor's context; RLS keeps the answers to the auditor's department:

    with act_as(conn, auditor) as cur:
        auditor.who_changed(cur, "enquiries", enquiry_id)
        auditor.activity(cur, staff_id, date(2024, 1, 1), date(2024, 3, 31))
        auditor.case_on(cur, "DWP-2024-0000123", date(2024, 2, 1))
        auditor.sla_breaches(cur)
        auditor.escalation_approvals(cur)

Reads are not audited: the trail holds every change, never who looked at something.
`who_viewed` says so rather than returning an empty (and misleading) answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd

from enquiries_lab import audit
from enquiries_lab.audit import Executor, Instant, instant
from enquiries_lab.errors import LabError
from enquiries_lab.session import as_uuid

READS_NOT_AUDITED = (
    "reads are not audited: the trail records every change (who, when, what, old and new values) "
    "but nobody's viewing; answering 'who viewed it' needs read logging (e.g. pgaudit's READ class "
    "or the application's access log), which this lab does not keep"
)


class NotRecorded(LabError):
    """The question cannot be answered because the data was never recorded."""


def _frame(ex: Executor, query: str, params: list | tuple = ()) -> pd.DataFrame:
    cur = ex.execute(query, params)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def who_changed(ex: Executor, table: str, record_id: uuid.UUID | str) -> pd.DataFrame:
    """Every change to a record: when, who (name, staff role, database role, login), what kind
    and which columns. Column by column old and new values: audit.history."""
    name, _ = audit.resolve_table(ex, table)
    return _frame(ex, """
        select e.entry_id, e.occurred_at, e.recorded_at, e.action, e.actor_id, s.full_name as actor,
               s.staff_role, e.db_role, e.login_role as login, e.backdated, e.changed_columns
        from audit.entries e
        left join tenant.staff s on s.tenant_id = e.tenant_id and s.staff_id = e.actor_id
        where e.tenant_id = %s and e.table_name = %s and e.record_id = %s
        order by e.occurred_at, e.entry_id""", [audit.department(ex), name, as_uuid(record_id, "record_id")])


def who_viewed(ex: Executor, table: str, record_id: uuid.UUID | str) -> pd.DataFrame:
    """Cannot be answered: raises NotRecorded, explaining why."""
    raise NotRecorded(f"who viewed {table} {record_id}: {READS_NOT_AUDITED}")


def activity(ex: Executor, staff_id: uuid.UUID | str, start: Instant, end: Instant) -> pd.DataFrame:
    """Everything a staff member changed with business time in [start, end] (dates: whole days)."""
    return _frame(ex, """
        select e.occurred_at, e.recorded_at, e.table_name, e.record_id, e.action, e.changed_columns, e.db_role,
               e.login_role as login, e.backdated, e.entry_id
        from audit.entries e
        where e.tenant_id = %s and e.actor_id = %s
          and e.occurred_at >= %s and e.occurred_at <= %s
        order by e.occurred_at, e.entry_id""", [audit.department(ex), as_uuid(staff_id, "staff_id"), instant(start, "start", day_end=False), instant(end, "end")])


def case_on(ex: Executor, reference: str, on: Instant) -> dict[str, Any] | None:
    """An enquiry (by reference) as it stood at a business time (a date: the end of that day)."""
    row = ex.execute("select enquiry_id from tenant.enquiries where tenant_id = %s and reference = %s",
                     [audit.department(ex), reference]).fetchone()
    if row is None:
        raise LabError(f"no enquiry {reference!r} in this department")
    return audit.state_as_of(ex, "enquiries", row[0], on)


def sla_breaches(ex: Executor, as_of: Instant | None = None) -> pd.DataFrame:
    """Enquiries answered (or still open at as_of) after their due date, the due date moved on by
    the time the SLA clock stood still (waiting on the citizen): audit.sla_breaches."""
    if as_of is None:
        return _frame(ex, "select * from audit.sla_breaches() order by overdue desc")
    return _frame(ex, "select * from audit.sla_breaches(%s) order by overdue desc", [instant(as_of, "as_of")])


def escalation_approvals(ex: Executor) -> pd.DataFrame:
    """Each escalation and who approved it: requested by whom and why, approved by whom and
    when (NaN approver: escalated without an approval, which the compliance check reports)."""
    return _frame(ex, """
        select q.reference, x.escalated_at, esc.full_name as escalated_by, x.escalated_as,
               req.full_name as requested_by, x.requested_at, x.reason,
               app.full_name as approved_by, x.approver_db_role as approved_as, x.approved_at,
               x.enquiry_id, x.escalation_id, x.entry_id
        from audit.escalation_transitions x
        join tenant.enquiries q on q.tenant_id = x.tenant_id and q.enquiry_id = x.enquiry_id
        left join tenant.staff esc on esc.tenant_id = x.tenant_id and esc.staff_id = x.escalated_by
        left join tenant.staff req on req.tenant_id = x.tenant_id and req.staff_id = x.requested_by
        left join tenant.staff app on app.tenant_id = x.tenant_id and app.staff_id = x.approved_by
        order by x.escalated_at, x.entry_id""")


def reassignments(ex: Executor) -> pd.DataFrame:
    """Every change of assignee: the enquiry, from whom to whom, by whom and when."""
    return _frame(ex, """
        select q.reference, a.assigned_at, f.full_name as from_staff, t.full_name as to_staff, b.full_name as assigned_by,
               a.from_staff_id is not null as reassignment, a.enquiry_id, a.assignment_id
        from tenant.assignments a
        join tenant.enquiries q on q.tenant_id = a.tenant_id and q.enquiry_id = a.enquiry_id
        left join tenant.staff f on f.tenant_id = a.tenant_id and f.staff_id = a.from_staff_id
        left join tenant.staff t on t.tenant_id = a.tenant_id and t.staff_id = a.to_staff_id
        left join tenant.staff b on b.tenant_id = a.tenant_id and b.staff_id = a.assigned_by
        order by a.assigned_at, a.assignment_id""")


def soft_deletions(ex: Executor) -> pd.DataFrame:
    """Every soft delete and restore: what, when, by whom."""
    return _frame(ex, """
        select e.occurred_at, e.action, e.table_name, e.record_id, s.full_name as actor, e.db_role, e.entry_id
        from audit.entries e
        left join tenant.staff s on s.tenant_id = e.tenant_id and s.staff_id = e.actor_id
        where e.tenant_id = %s and e.action in ('soft_delete', 'restore')
        order by e.occurred_at, e.entry_id""", [audit.department(ex)])


def disposals(ex: Executor) -> pd.DataFrame:
    """Every disposed enquiry: when its retention clock started (closure, or deletion of one
    that never closed), when and by whom it was disposed of, and how long after."""
    return _frame(ex, """
        select q.reference, q.closed_at, q.deleted_at, q.disposed_at, s.full_name as disposed_by,
               q.disposed_at - coalesce(q.closed_at, q.deleted_at) as after_retention_start, q.enquiry_id
        from tenant.enquiries q
        left join tenant.staff s on s.tenant_id = q.tenant_id and s.staff_id = q.disposed_by
        where q.disposed_at is not null
        order by q.disposed_at, q.reference""")


def reopened_cases(ex: Executor) -> pd.DataFrame:
    """Closed enquiries that were reopened: when, by whom, in which role."""
    return _frame(ex, """
        select q.reference, h.entered_at as reopened_at, s.full_name as reopened_by, h.db_role, h.from_status,
               h.enquiry_id, h.entry_id
        from audit.enquiry_status_history h
        join tenant.enquiries q on q.tenant_id = h.tenant_id and q.enquiry_id = h.enquiry_id
        left join tenant.staff s on s.tenant_id = h.tenant_id and s.staff_id = h.actor_id
        where h.status = 'reopened'
        order by h.entered_at, h.entry_id""")


def legal_holds(ex: Executor, active_at: Instant | None = None) -> pd.DataFrame:
    """Legal holds (those active at `active_at` if given): the enquiry, placed and released by whom, and when."""
    query = """
        select q.reference, h.reason, h.placed_at, p.full_name as placed_by, h.released_at, r.full_name as released_by,
               h.enquiry_id, h.legal_hold_id
        from tenant.legal_holds h
        join tenant.enquiries q on q.tenant_id = h.tenant_id and q.enquiry_id = h.enquiry_id
        left join tenant.staff p on p.tenant_id = h.tenant_id and p.staff_id = h.placed_by
        left join tenant.staff r on r.tenant_id = h.tenant_id and r.staff_id = h.released_by
        where h.deleted_at is null {}
        order by h.placed_at, h.legal_hold_id"""
    if active_at is None:
        return _frame(ex, query.format(""))
    return _frame(ex, query.format("and h.placed_at <= %(at)s and (h.released_at is null or h.released_at > %(at)s)"),
                  {"at": instant(active_at, "active_at")})


def changes_by_login(ex: Executor) -> pd.DataFrame:
    """Who made changes through which login and role, how many and when: changes made through
    anything but the application's logins, or backdated by a history loader, stand out here."""
    return _frame(ex, """
        select e.login_role as login, e.db_role, e.backdated, count(*) as changes,
               min(e.occurred_at) as first_change, max(e.occurred_at) as last_change,
               min(e.recorded_at) as first_recorded, max(e.recorded_at) as last_recorded
        from audit.entries e
        where e.tenant_id = %s
        group by 1, 2, 3
        order by 1, 2, 3""", [audit.department(ex)])
