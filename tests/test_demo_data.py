"""The demo's dataset (`enquiries-lab demo`: cli.DEMO_PARAMS) as an analyst meets it: a live
backlog in every workflow state, and a summary that keeps soft-deleted rows apart (issue 21).

The demo's own parameters, not a smaller run of the same shape: the rarer live states
(reopened, escalated) are a handful of enquiries per department at this size (Little's law:
arrivals x time in the state, generator/workload.py), and a smaller run does not hold them in
three departments.
"""

from __future__ import annotations

import re
from typing import Iterator

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db

from enquiries_lab import summary
from enquiries_lab.cli import DEMO_PARAMS
from enquiries_lab.generator import Params, generate

DEPARTMENTS_PER_LIVE_STATE = 3
END = Params(**DEMO_PARAMS).end


@pytest.fixture(scope="module")
def demo_db(admin_dsn: str, migrated_template: str) -> Iterator[str]:
    name = _new_name("demo")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            generate(conn, Params(**DEMO_PARAMS), jobs=2, dsn=dsn)   # as the demo runs it
        yield dsn
    finally:
        drop_db(admin_dsn, name)


def test_every_workflow_state_is_live_in_at_least_three_departments(demo_db):
    with psycopg.connect(demo_db) as conn:
        rows = conn.execute(
            """select s.status, count(distinct e.tenant_id)
               from core.statuses s
               left join tenant.enquiries e
                 on e.status = s.status and e.deleted_at is null and e.disposed_at is null
               group by s.status order by s.status""").fetchall()
    assert len(rows) >= 9   # the workflow as migrated: states read from the table, never listed here
    assert [(status, n) for status, n in rows if n < DEPARTMENTS_PER_LIVE_STATE] == []


def test_the_backlog_is_weeks_of_work_not_days(demo_db):
    """Work waiting for assignment at the end has waited weeks in most departments, and the
    open work is more than a fortnight of arrivals (before the queue model: 17 enquiries)."""
    with psycopg.connect(demo_db) as conn:
        conn.execute("set timezone = 'UTC'")
        waits = conn.execute(
            """select e.tenant_id, percentile_cont(0.5) within group (order by %(end)s - e.received_at)
               from tenant.enquiries e
               where e.status = (select status from core.statuses where is_initial) and e.deleted_at is null
               group by 1""", {"end": END}).fetchall()
        open_now, arrived_last_fortnight = conn.execute(
            """select count(*) filter (where s.is_open and e.deleted_at is null),
                      count(*) filter (where e.received_at > %(end)s - interval '14 days')
               from tenant.enquiries e join core.statuses s using (status)""",
            {"end": END}).fetchone()
    assert sum(1 for _, wait in waits if wait.days >= 7) >= DEPARTMENTS_PER_LIVE_STATE, waits
    assert open_now > arrived_last_fortnight > 0, (open_now, arrived_last_fortnight)


def test_the_demo_summary_shows_soft_deleted_enquiries_apart_from_live_ones(demo_db):
    with psycopg.connect(demo_db) as conn:
        text = summary.render(conn)
        deleted = dict(conn.execute(
            """select d.code, count(*) from tenant.enquiries e join tenant.departments d using (tenant_id)
               where e.deleted_at is not null group by 1""").fetchall())
        live_new = dict(conn.execute(
            """select d.code, count(*) from tenant.enquiries e join tenant.departments d using (tenant_id)
               where e.deleted_at is null and e.status = 'new' group by 1""").fetchall())
    assert deleted, "the demo has soft-deleted duplicates"
    lines = text.splitlines()
    for code, n in deleted.items():
        at = next(i for i, line in enumerate(lines) if line.split()[:1] == [code])
        assert lines[at + 1].strip().startswith("soft-deleted:"), lines[at:at + 2]
        # duplicates are deleted while new: the deleted line counts them, the live line does not
        assert re.search(rf"\bnew {n}\b", lines[at + 1]), lines[at + 1]
        assert re.findall(r"\bnew (\d+)", lines[at]) == ([str(live_new[code])] if code in live_new else []), lines[at]
