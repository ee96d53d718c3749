"""The data generator (issue 4), against a real server: deterministic by seed, every workflow
state, every department, every change audited with the right actor and tenant, nothing crossing
tenants, interrupted runs consistent and resumable, bad parameters refused in one line.

Behaviour only: the tests read what `generate` leaves in the database (and what the CLI
prints), never how it gets there, so the engine can be rewritten underneath them.

Shared databases (module scope) are only read; a test that writes works on a clone made
with CREATE DATABASE ... TEMPLATE.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from invariants import COMMITTED
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.generator import Params, dataset_digest, generate

TENANT_TABLES = ["departments", "department_enquiry_types", "teams", "staff", "contacts", "enquiries",
                 "notes", "assignments", "escalations", "legal_holds"]
ORGANISATION_TABLES = {"departments", "department_enquiry_types", "teams", "staff"}

# The shared dataset: 1,500 enquiries over the default eight years (2018-07-01 .. 2026-06-30).
# The live end state at demo size is tests/test_demo_data.py's.
DATASET = Params(enquiries=1500, seed=57)
# Small runs for determinism.
SMALL = Params(enquiries=300, seed=11)
# The CLI runs (interruption, resumption, progress bar): several batches of 50.
CLI_N, CLI_SEED, CLI_BATCH = 600, 3, 50
CLI_ARGS = ["--enquiries", str(CLI_N), "--seed", str(CLI_SEED), "--batch-size", str(CLI_BATCH)]
CLEARED_ENV = ("ENQUIRIES_LAB_DSN", "DATABASE_URL", "ENQUIRIES_LAB_SQL_DIR", "ENQUIRIES_LAB_DEBUG",
               "PGPASSWORD", "PGSERVICE", "PGDATABASE", "PGUSER", "PGHOST", "PGPORT")


# -- helpers ----------------------------------------------------------------------------------

def console_script() -> str:
    script = Path(sys.executable).parent / "enquiries-lab"
    assert script.exists(), "the enquiries-lab console script is not installed (pip install -e .)"
    return str(script)


def cli_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=cli_env(),
                          timeout=timeout, stdin=subprocess.DEVNULL)


def generate_into(dsn: str, params: Params, progress=None, stage=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return generate(conn, params, progress=progress, stage=stage)


def digest_of(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return dataset_digest(conn)


def key_column(conn: psycopg.Connection, table: str) -> str:
    """The record key of a tenant table: its primary key column besides tenant_id."""
    row = conn.execute(
        """select a.attname from pg_constraint k join pg_attribute a
               on a.attrelid = k.conrelid and a.attnum = any(k.conkey)
           where k.conrelid = %s::regclass and k.contype = 'p' and a.attname <> 'tenant_id'""",
        [f"tenant.{table}"]).fetchone()
    return row[0] if row else "tenant_id"


def replay_mismatches(dsn: str) -> dict[str, tuple[int, int, int]]:
    """Per tenant table: (rows, live rows that differ from the fold of their audit entries,
    audited records with no row). Set-based, so it stays fast over many audit partitions."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for table in TENANT_TABLES:
            out[table] = conn.execute(sql.SQL(
                """with folded as (
                       select tenant_id, record_id,
                              audit.jsonb_merge(row_data order by occurred_at, entry_id) as state
                       from audit.entries where table_name = {qualified}
                       group by tenant_id, record_id)
                   select count(t.tenant_id),
                          count(*) filter (where t.tenant_id is not null and to_jsonb(t) is distinct from f.state),
                          count(*) filter (where t.tenant_id is null)
                   from tenant.{table} t
                   full join folded f on f.tenant_id = t.tenant_id and f.record_id = t.{key}"""
            ).format(table=sql.Identifier(table), key=sql.Identifier(key_column(conn, table)),
                     qualified=sql.Literal(f"tenant.{table}"))).fetchone()
    return out


def assert_replay_rebuilds_every_row(dsn: str) -> None:
    result = replay_mismatches(dsn)
    bad = {t: r for t, r in result.items() if r[1] or r[2]}
    assert not bad, f"(rows, rows unlike their audit fold, audited records without a row): {bad}"
    assert all(rows > 0 for rows, _, _ in result.values()), result


def wait_until_unused(admin_dsn: str, name: str, timeout: float = 30) -> None:
    """Wait until no session is connected to database `name` (a killed client's backend
    lingers until it notices); after `timeout`, end those backends (ours: the database is
    a throwaway this module created)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        while True:
            pids = [r[0] for r in conn.execute(
                "select pid from pg_stat_activity where datname = %s and pid <> pg_backend_pid()", [name])]
            if not pids:
                return
            if time.monotonic() > deadline:
                for pid in pids:
                    conn.execute("select pg_terminate_backend(%s)", [pid])
                deadline = time.monotonic() + timeout
            time.sleep(0.05)


@dataclass
class Db:
    name: str
    dsn: str


@pytest.fixture
def clone(admin_dsn: str):
    """`clone(db)` copies a database (CREATE DATABASE ... TEMPLATE); copies are dropped afterwards."""
    made: list[str] = []

    def make(source: Db) -> Db:
        wait_until_unused(admin_dsn, source.name)
        name = _new_name("genc")
        made.append(name)
        return Db(name, create_db(admin_dsn, name, template=source.name))

    yield make
    for name in made:
        drop_db(admin_dsn, name)


# -- the shared dataset ------------------------------------------------------------------------

@dataclass
class Generated:
    dsn: str
    params: Params
    summary: object
    progress_calls: list[tuple[int, int] | str]   # (enquiries, events) per batch, then the stages


@pytest.fixture(scope="module")
def dataset(admin_dsn: str, migrated_template: str) -> Iterator[Generated]:
    name = _new_name("gen")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        calls: list[tuple[int, int] | str] = []
        summary = generate_into(dsn, DATASET, progress=lambda n, e: calls.append((n, e)), stage=calls.append)
        yield Generated(dsn, DATASET, summary, calls)
    finally:
        drop_db(admin_dsn, name)


def query(dsn: str, statement: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        return conn.execute(statement, params).fetchall()


def scalar(dsn: str, statement: str, params=None):
    return query(dsn, statement, params)[0][0]


# -- determinism -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_digest(admin_dsn: str, migrated_template: str) -> str:
    return fresh_digest(admin_dsn, migrated_template, SMALL)


def fresh_digest(admin_dsn: str, template: str, params: Params) -> str:
    name = _new_name("det")
    dsn = create_db(admin_dsn, name, template=template)
    try:
        generate_into(dsn, params)
        return digest_of(dsn)
    finally:
        drop_db(admin_dsn, name)


def test_the_same_seed_and_parameters_give_the_same_digest_in_two_fresh_databases(admin_dsn, migrated_template,
                                                                                   small_digest):
    assert fresh_digest(admin_dsn, migrated_template, SMALL) == small_digest


def test_another_seed_gives_another_digest(admin_dsn, migrated_template, small_digest):
    other = replace(SMALL, seed=SMALL.seed + 1)
    assert fresh_digest(admin_dsn, migrated_template, other) != small_digest


@pytest.mark.req("REQ-GEN-1")
def test_the_batch_size_does_not_change_the_digest(admin_dsn, migrated_template, small_digest):
    other = replace(SMALL, batch_size=50)
    assert other.key() == SMALL.key()  # the batch size is not part of the dataset's identity
    assert fresh_digest(admin_dsn, migrated_template, other) == small_digest


@pytest.mark.req("REQ-GEN-1")
def test_the_digest_does_not_depend_on_the_databases_collation(admin_dsn, small_digest):
    """The digest is documented as the same 'on any server': servers differ in default collation."""
    name = _new_name("icu")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        try:
            conn.execute(sql.SQL("create database {} template template0 encoding 'UTF8' locale 'C.UTF-8' "
                                 "locale_provider icu icu_locale 'en-US'").format(sql.Identifier(name)))
        except psycopg.errors.FeatureNotSupported:
            pytest.skip("this server is built without ICU")
    try:
        dsn = with_database(admin_dsn, name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrations.migrate(conn)
            generate(conn, SMALL)
            assert dataset_digest(conn) == small_digest
    finally:
        drop_db(admin_dsn, name)


# -- every state, every department --------------------------------------------------------------

def test_progress_is_reported_for_every_enquiry_and_then_the_seal(dataset):
    *batches, sealing = dataset.progress_calls
    assert sum(n for n, _ in batches) == DATASET.enquiries
    assert len(batches) > 1 and sum(e for _, e in batches) > DATASET.enquiries
    assert sealing.startswith("sealing the audit trail"), sealing
    assert 0 < dataset.summary.seal_seconds < dataset.summary.seconds   # the seal is timed, within the run


@pytest.mark.req("REQ-GEN-2")
def test_every_workflow_state_is_reached_in_the_audited_history(dataset):
    rows = query(dataset.dsn, """
        select s.status, count(distinct e.record_id)
        from core.statuses s
        left join audit.entries e on e.table_name = 'tenant.enquiries' and e.row_data ->> 'status' = s.status
        group by s.status""")
    assert {status: n for status, n in rows if n == 0} == {}
    assert len(rows) == 9


def test_soft_deleted_duplicates_exist_deleted_by_a_supervisor_while_new(dataset):
    rows = query(dataset.dsn, """
        select e.status, s.staff_role, a.action
        from tenant.enquiries e
        join tenant.staff s on s.tenant_id = e.tenant_id and s.staff_id = e.deleted_by
        join audit.entries a on a.tenant_id = e.tenant_id and a.table_name = 'tenant.enquiries'
                            and a.record_id = e.enquiry_id and a.occurred_at = e.deleted_at
        where e.deleted_at is not null""")
    assert rows and set(rows) == {("new", "supervisor", "soft_delete")}


def test_legal_holds_exist_on_closed_enquiries_which_are_not_disposed(dataset):
    rows = query(dataset.dsn, """
        select e.status, e.disposed_at is null, h.placed_at > e.closed_at, s.staff_role
        from tenant.legal_holds h
        join tenant.enquiries e on e.tenant_id = h.tenant_id and e.enquiry_id = h.enquiry_id
        join tenant.staff s on s.tenant_id = h.tenant_id and s.staff_id = h.placed_by
        where h.released_at is null""")
    assert rows and set(rows) == {("closed", True, True, "supervisor")}


@pytest.mark.req("REQ-GEN-2")
def test_disposed_enquiries_exist_and_none_is_disposed_before_seven_years_after_closure(dataset):
    """The clock runs from closure, or from deletion for a soft-deleted duplicate that never closed."""
    end = DATASET.end
    disposed, too_early, closed_late, not_terminal = query(dataset.dsn, """
        select count(*),
               count(*) filter (where e.disposed_at < coalesce(e.closed_at, e.deleted_at) + interval '7 years'),
               count(*) filter (where coalesce(e.closed_at, e.deleted_at) > %(end)s::timestamptz - interval '7 years'),
               count(*) filter (where e.deleted_at is null
                                  and e.status not in (select status from core.statuses where is_terminal))
        from tenant.enquiries e where e.disposed_at is not null""", {"end": end})[0]
    assert disposed > 0
    assert (too_early, closed_late, not_terminal) == (0, 0, 0)
    # ... and the notes of every disposed enquiry went with it
    assert scalar(dataset.dsn, """
        select count(*) from tenant.notes n join tenant.enquiries e using (tenant_id, enquiry_id)
        where e.disposed_at is not null and n.disposed_at is null""") == 0


def test_a_contact_is_anonymised_only_once_all_their_enquiries_are(dataset):
    early = query(dataset.dsn, """
        select c.contact_id, c.disposed_at, max(e.disposed_at)
        from tenant.contacts c join tenant.enquiries e on e.tenant_id = c.tenant_id and e.contact_id = c.contact_id
        where c.disposed_at is not null
        group by c.tenant_id, c.contact_id, c.disposed_at
        having c.disposed_at < max(e.disposed_at)""")
    assert scalar(dataset.dsn, "select count(*) from tenant.contacts where disposed_at is not null") > 0
    assert early == []


def test_sla_breaches_exist(dataset):
    """Resolved after the due date, or still open past it at the end date."""
    resolved_late, open_overdue = query(dataset.dsn, """
        select count(*) filter (where resolved_at > due_at),
               count(*) filter (where status in (select status from core.statuses where is_open)
                                  and deleted_at is null and due_at < %(end)s)
        from tenant.enquiries""", {"end": DATASET.end})[0]
    assert resolved_late + open_overdue > 0
    assert resolved_late > 0


def test_nothing_happens_outside_the_simulated_period(dataset):
    first_arrival, last_change, in_default_partition = query(dataset.dsn, """
        select (select min(received_at) from tenant.enquiries),
               (select max(occurred_at) from audit.entries),
               (select count(*) from audit.entries_default)""")[0]
    assert first_arrival >= DATASET.start
    assert last_change <= DATASET.end
    assert in_default_partition == 0


@pytest.mark.req("REQ-GEN-4")
def test_every_generated_key_leads_with_the_business_time_its_row_was_made(dataset):
    # sql/005 and lifecycle.new_uuid: the first 48 bits are the row's creation in Unix ms
    keys = {"teams": "team_id", "staff": "staff_id", "contacts": "contact_id", "enquiries": "enquiry_id",
            "notes": "note_id", "assignments": "assignment_id", "escalations": "escalation_id",
            "legal_holds": "legal_hold_id"}
    for table, key in keys.items():
        rows, wrong, not_v7 = query(dataset.dsn, f"""
            select count(*),
                   count(*) filter (where ('x' || left(replace({key}::text, '-', ''), 12))::bit(48)::bigint
                                          <> floor(extract(epoch from created_at - timestamptz 'epoch') * 1000)),
                   count(*) filter (where substr({key}::text, 15, 1) <> '7')
            from tenant.{table}""")[0]
        assert rows > 0 and wrong == 0 and not_v7 == 0, (table, rows, wrong, not_v7)


def test_every_planned_department_is_present_with_enquiries_and_staff_of_every_role(dataset):
    planned = dict(dataset.summary.departments)
    assert len(planned) == DATASET.departments
    present = dict(query(dataset.dsn, """
        select d.code, count(e.enquiry_id) from tenant.departments d
        left join tenant.enquiries e on e.tenant_id = d.tenant_id group by d.code"""))
    assert present == planned and all(n > 0 for n in present.values())
    roles = query(dataset.dsn, """
        select d.code, r.staff_role from tenant.departments d cross join core.staff_roles r
        where not exists (select from tenant.staff s where s.tenant_id = d.tenant_id and s.staff_role = r.staff_role
                                                       and s.active and s.deleted_at is null)""")
    assert roles == []
    # each department has its own enquiry types (with SLA targets) and teams, and uses only its types
    assert scalar(dataset.dsn, """
        select count(*) from tenant.departments d
        where not exists (select from tenant.department_enquiry_types t where t.tenant_id = d.tenant_id)
           or not exists (select from tenant.teams t where t.tenant_id = d.tenant_id)""") == 0


def test_department_sizes_are_skewed_and_sum_to_the_number_of_enquiries(dataset):
    sizes = [n for _, n in query(dataset.dsn, "select tenant_id, count(*) from tenant.enquiries group by 1")]
    assert len(sizes) == DATASET.departments
    assert sum(sizes) == DATASET.enquiries
    assert max(sizes) > 2 * min(sizes)


# -- audit: every change, the right actor and tenant ----------------------------------------------

def test_every_status_change_has_its_audit_entry_with_the_right_actor_and_tenant(dataset):
    """For every audited status change: the actor is an active staff member of the entry's
    department, in a role allowed to make that move, acting as that role's database role; the
    entry is backdated, occurs at the row's updated_at of that moment, belongs to the
    enquiry's department, and follows on from the previous status (no change unaudited)."""
    (changes, wrong_actor, not_allowed, wrong_db_role, not_backdated, wrong_time, wrong_tenant, broken_chain,
     wrong_final) = query(dataset.dsn, """
        with changes as (
            select s.*, s.old_values ->> 'status' as from_status, s.row_data ->> 'status' as to_status
            from audit.entry_states s
            where s.table_name = 'tenant.enquiries' and s.action <> 'insert' and 'status' = any(s.changed_columns))
        select count(*),
               count(*) filter (where st.staff_id is null),
               count(*) filter (where not exists (select from core.status_transitions t
                                                  where t.from_status = c.from_status and t.to_status = c.to_status
                                                    and t.staff_role = st.staff_role)),
               count(*) filter (where r.db_role is distinct from c.db_role),
               count(*) filter (where not c.backdated),
               count(*) filter (where c.occurred_at is distinct from (c.after_state ->> 'updated_at')::timestamptz),
               count(*) filter (where c.tenant_id is distinct from e.tenant_id),
               count(*) filter (where c.from_status is distinct from c.before_state ->> 'status'),
               (select count(*) from tenant.enquiries x
                left join (select distinct on (tenant_id, record_id) tenant_id, record_id, row_data ->> 'status' as status
                           from audit.entries where table_name = 'tenant.enquiries' and row_data ? 'status'
                           order by tenant_id, record_id, occurred_at desc, entry_id desc) l
                       on l.tenant_id = x.tenant_id and l.record_id = x.enquiry_id
                where l.status is distinct from x.status)
        from changes c
        left join tenant.staff st on st.tenant_id = c.tenant_id and st.staff_id = c.actor_id
                                 and st.active and st.deleted_at is null
        left join core.staff_roles r on r.staff_role = st.staff_role
        left join tenant.enquiries e on e.enquiry_id = c.record_id""")[0]
    assert changes > DATASET.enquiries
    assert dict(wrong_actor=wrong_actor, not_allowed=not_allowed, wrong_db_role=wrong_db_role,
                not_backdated=not_backdated, wrong_time=wrong_time, wrong_tenant=wrong_tenant,
                broken_chain=broken_chain, wrong_final=wrong_final) == dict.fromkeys(
        ["wrong_actor", "not_allowed", "wrong_db_role", "not_backdated", "wrong_time", "wrong_tenant",
         "broken_chain", "wrong_final"], 0)


def test_every_audit_entry_is_backdated_and_attributed_to_someone_of_its_department(dataset):
    not_backdated, foreign_actor, staff_role_not_staff = query(dataset.dsn, """
        select count(*) filter (where not e.backdated),
               count(*) filter (where exists (select from tenant.staff s
                                              where s.staff_id = e.actor_id and s.tenant_id <> e.tenant_id)),
               count(*) filter (where e.db_role in (select db_role from core.staff_roles)
                                  and not exists (select from tenant.staff s join core.staff_roles r using (staff_role)
                                                  where s.staff_id = e.actor_id and s.tenant_id = e.tenant_id
                                                    and r.db_role = e.db_role))
        from audit.entries e""")[0]
    assert (not_backdated, foreign_actor, staff_role_not_staff) == (0, 0, 0)


def test_every_reassignment_is_recorded_with_the_old_and_new_assignee(dataset):
    """The assignee changes in the audit trail and tenant.assignments are the same set, and
    every enquiry that ever had more than one assignee has from/to rows."""
    only_in_audit, only_in_assignments, reassigned, reassigned_without_from = query(dataset.dsn, """
        with from_audit as (
            select tenant_id, record_id as enquiry_id, (old_values ->> 'assigned_to')::uuid as from_staff_id,
                   (row_data ->> 'assigned_to')::uuid as to_staff_id, occurred_at as assigned_at, actor_id as assigned_by
            from audit.entries
            where table_name = 'tenant.enquiries' and 'assigned_to' = any(changed_columns)),
        recorded as (
            select tenant_id, enquiry_id, from_staff_id, to_staff_id, assigned_at, assigned_by from tenant.assignments),
        assignees as (
            select tenant_id, record_id, count(distinct row_data ->> 'assigned_to') as n
            from audit.entries
            where table_name = 'tenant.enquiries' and row_data ->> 'assigned_to' is not null
            group by tenant_id, record_id)
        select (select count(*) from (select * from from_audit except all select * from recorded) x),
               (select count(*) from (select * from recorded except all select * from from_audit) x),
               (select count(*) from assignees where n > 1),
               (select count(*) from assignees a where n > 1 and (
                    select count(*) from tenant.assignments s
                    where s.tenant_id = a.tenant_id and s.enquiry_id = a.record_id and s.from_staff_id is not null) < n - 1)
        """)[0]
    assert reassigned > 0
    assert (only_in_audit, only_in_assignments, reassigned_without_from) == (0, 0, 0)


def test_every_escalation_was_approved_by_a_supervisor_other_than_the_requester(dataset):
    rows = query(dataset.dsn, """
        with escalated as (
            select tenant_id, record_id, count(*) as n, array_agg(occurred_at order by occurred_at) as times
            from audit.entries
            where table_name = 'tenant.enquiries' and row_data ->> 'status' = 'escalated' and action <> 'insert'
            group by tenant_id, record_id)
        select x.n, e.escalation_count,
               (select count(*) from tenant.escalations z
                join tenant.staff d on d.tenant_id = z.tenant_id and d.staff_id = z.decided_by
                where z.tenant_id = x.tenant_id and z.enquiry_id = x.record_id and z.decision = 'approved'
                  and d.staff_role = 'supervisor' and z.decided_by <> z.requested_by
                  and z.decided_at <= x.times[1])
        from escalated x join tenant.enquiries e on e.tenant_id = x.tenant_id and e.enquiry_id = x.record_id""")
    assert rows, "no enquiry was escalated"
    assert [r for r in rows if r[0] != r[1]] == [], "(escalated transitions, escalation_count, approvals)"
    assert [r for r in rows if r[2] < 1] == [], "(escalated transitions, escalation_count, approvals before it)"
    # every enquiry's escalation_count equals its approved escalations (none unused, none missing)
    assert scalar(dataset.dsn, """
        select count(*) from tenant.enquiries e
        where e.escalation_count <> (select count(*) from tenant.escalations z
                                     where z.tenant_id = e.tenant_id and z.enquiry_id = e.enquiry_id
                                       and z.decision = 'approved')""") == 0
    # requests are also turned down sometimes, by a supervisor who did not ask
    assert query(dataset.dsn, """
        select count(*), count(*) filter (where d.staff_role <> 'supervisor' or z.decided_by = z.requested_by)
        from tenant.escalations z join tenant.staff d on d.tenant_id = z.tenant_id and d.staff_id = z.decided_by
        where z.decision = 'rejected'""")[0][0] > 0


# -- tenants ---------------------------------------------------------------------------------------

REFERENCES = [  # (table, column, referenced table, referenced key)
    ("enquiries", "contact_id", "contacts", "contact_id"),
    ("enquiries", "assigned_to", "staff", "staff_id"),
    ("notes", "enquiry_id", "enquiries", "enquiry_id"),
    ("assignments", "enquiry_id", "enquiries", "enquiry_id"),
    ("assignments", "from_staff_id", "staff", "staff_id"),
    ("assignments", "to_staff_id", "staff", "staff_id"),
    ("assignments", "assigned_by", "staff", "staff_id"),
    ("escalations", "enquiry_id", "enquiries", "enquiry_id"),
    ("escalations", "requested_by", "staff", "staff_id"),
    ("escalations", "decided_by", "staff", "staff_id"),
    ("legal_holds", "enquiry_id", "enquiries", "enquiry_id"),
    ("legal_holds", "placed_by", "staff", "staff_id"),
    ("staff", "team_id", "teams", "team_id"),
] + [(t, c, "staff", "staff_id") for t in TENANT_TABLES for c in ("created_by", "updated_by", "deleted_by")] \
  + [(t, "disposed_by", "staff", "staff_id") for t in ("contacts", "enquiries", "notes")]


def test_nothing_references_another_departments_rows(dataset):
    crossing = {}
    with psycopg.connect(dataset.dsn) as conn:
        for table, column, target, key in REFERENCES:
            n = conn.execute(sql.SQL(
                "select count(*) from tenant.{t} x join tenant.{r} y on y.{k} = x.{c} where y.tenant_id <> x.tenant_id"
            ).format(t=sql.Identifier(table), c=sql.Identifier(column), r=sql.Identifier(target),
                     k=sql.Identifier(key))).fetchone()[0]
            if n:
                crossing[f"{table}.{column}"] = n
        # the type of every enquiry is one its own department handles
        crossing["enquiries.enquiry_type"] = conn.execute(
            """select count(*) from tenant.enquiries e where not exists (
                   select from tenant.department_enquiry_types t
                   where t.tenant_id = e.tenant_id and t.enquiry_type = e.enquiry_type)""").fetchone()[0]
        # casework is done by staff of the department (the provisioner only sets departments up)
        for table in sorted(set(TENANT_TABLES) - ORGANISATION_TABLES):
            crossing[f"{table}.updated_by not own staff"] = conn.execute(sql.SQL(
                """select count(*) from tenant.{t} x where not exists (
                       select from tenant.staff s where s.tenant_id = x.tenant_id and s.staff_id = x.updated_by)"""
            ).format(t=sql.Identifier(table))).fetchone()[0]
        # every audit entry belongs to the department of the record it describes
        for table in TENANT_TABLES:
            crossing[f"audit of {table}"] = conn.execute(sql.SQL(
                """select count(*) from audit.entries e join tenant.{t} x on x.{k} = e.record_id
                   where e.table_name = {q} and e.tenant_id <> x.tenant_id"""
            ).format(t=sql.Identifier(table), k=sql.Identifier(key_column(conn, table)),
                     q=sql.Literal(f"tenant.{table}"))).fetchone()[0]
    assert {k: v for k, v in crossing.items() if v} == {}
    assert scalar(dataset.dsn, "select count(distinct tenant_id) from tenant.enquiries") == DATASET.departments


def test_every_live_row_equals_the_fold_of_its_audit_entries(dataset):
    assert_replay_rebuilds_every_row(dataset.dsn)


# -- the CLI: a clean run, an interrupted one, resumption -------------------------------------------

@pytest.fixture(scope="module")
def clean_cli_run(admin_dsn: str, migrated_template: str) -> Iterator[tuple[Db, subprocess.CompletedProcess[str]]]:
    """An uninterrupted `enquiries-lab generate` (with its progress bar) into a fresh database."""
    name = _new_name("genclean")
    db = Db(name, create_db(admin_dsn, name, template=migrated_template))
    try:
        proc = cli("generate", "--dsn", db.dsn, *CLI_ARGS)
        assert proc.returncode == 0, proc.stderr
        yield db, proc
    finally:
        drop_db(admin_dsn, name)


@dataclass
class Interrupted:
    db: Db
    batches: int          # committed when the process was killed
    enquiries: int        # in those batches and the one left part-way, if any


@pytest.fixture(scope="module")
def interrupted(admin_dsn: str, migrated_template: str) -> Iterator[Interrupted]:
    """`enquiries-lab generate` killed (SIGKILL) once its first batch has committed."""
    name = _new_name("genkill")
    db = Db(name, create_db(admin_dsn, name, template=migrated_template))
    try:
        proc = subprocess.Popen([console_script(), "generate", "--dsn", db.dsn, *CLI_ARGS, "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=cli_env(), start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            with psycopg.connect(db.dsn, autocommit=True) as conn:
                while True:
                    try:
                        if conn.execute("select exists (select from lab_meta.generation_batches)").fetchone()[0]:
                            break
                    except psycopg.errors.UndefinedTable:
                        pass
                    assert proc.poll() is None, f"generate ended before a batch was seen: {proc.communicate()}"
                    assert time.monotonic() < deadline, "no batch committed within two minutes"
                    time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        wait_until_unused(admin_dsn, name)
        with psycopg.connect(db.dsn) as conn:
            batches, enquiries, finished = conn.execute(
                """select count(*),
                          (coalesce(sum(b.enquiries), 0)
                           + (select coalesce(sum(p.enquiries), 0) from lab_meta.batches_in_progress p))::int,
                          (select bool_or(finished_at is not null) from lab_meta.generation_runs)
                   from lab_meta.generation_batches b""").fetchone()
        if finished or enquiries >= CLI_N:
            pytest.fail("the generation finished before it could be interrupted; make the run longer")
        yield Interrupted(db, batches, enquiries)
    finally:
        drop_db(admin_dsn, name)


def test_an_interrupted_generation_keeps_only_complete_rounds_with_their_audit(interrupted):
    dsn = interrupted.db.dsn
    assert interrupted.batches >= 1
    # one snapshot: the committed batches and rounds, and what is in the tables
    per_department = query(dsn, f"""
        select d.code, {COMMITTED}, (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id)
        from tenant.departments d""")
    assert [r for r in per_department if r[1] != r[2]] == [], "(department, in committed batches and rounds, enquiries)"
    assert sum(r[2] for r in per_department) == interrupted.enquiries
    assert_replay_rebuilds_every_row(dsn)
    # nothing of the batch in flight is left in the audit trail either
    assert scalar(dsn, """
        select count(*) from audit.entries a where a.table_name = 'tenant.enquiries' and a.action = 'insert'""") \
        == interrupted.enquiries


def test_running_the_interrupted_command_again_resumes_it(interrupted, clone):
    db = clone(interrupted.db)
    before = dict(((d, b), t) for d, b, t in query(
        db.dsn, "select department, batch_no, committed_at from lab_meta.generation_batches"))
    proc = cli("generate", "--dsn", db.dsn, *CLI_ARGS, "--quiet")
    assert proc.returncode == 0, proc.stderr
    skipped = re.search(r"(\d+) batches already there", proc.stdout)
    assert skipped and int(skipped.group(1)) == interrupted.batches, proc.stdout
    after = dict(((d, b), t) for d, b, t in query(
        db.dsn, "select department, batch_no, committed_at from lab_meta.generation_batches"))
    assert {k: after.get(k) for k in before} == before  # committed batches were kept, not redone
    assert scalar(db.dsn, "select count(*) from tenant.enquiries") == CLI_N
    assert scalar(db.dsn, "select sum(enquiries) from lab_meta.generation_batches") == CLI_N
    assert scalar(db.dsn, "select bool_and(finished_at is not null) from lab_meta.generation_runs")
    assert_replay_rebuilds_every_row(db.dsn)


def test_a_resumed_generation_has_the_digest_of_an_uninterrupted_one(interrupted, clean_cli_run, clone):
    db = clone(interrupted.db)
    proc = cli("generate", "--dsn", db.dsn, *CLI_ARGS, "--quiet")
    assert proc.returncode == 0, proc.stderr
    clean_db, clean = clean_cli_run
    clean_digest = re.search(r"dataset digest: ([0-9a-f]{64})", clean.stdout).group(1)
    assert digest_of(db.dsn) == clean_digest == digest_of(clean_db.dsn)


@pytest.mark.req("REQ-GEN-2")
def test_resuming_with_another_batch_size_completes_the_same_dataset(interrupted, clean_cli_run, clone):
    db = clone(interrupted.db)
    proc = cli("generate", "--dsn", db.dsn, *CLI_ARGS, "--batch-size", str(2 * CLI_BATCH), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert scalar(db.dsn, "select count(*) from tenant.enquiries") == CLI_N
    assert digest_of(db.dsn) == digest_of(clean_cli_run[0].dsn)


@pytest.mark.req("REQ-GEN-1")
def test_the_number_of_worker_processes_does_not_change_the_digest(admin_dsn, migrated_template, clean_cli_run):
    name = _new_name("genjobs")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        proc = cli("generate", "--dsn", dsn, *CLI_ARGS, "--jobs", "2", "--quiet")
        assert proc.returncode == 0, proc.stderr
        assert digest_of(dsn) == digest_of(clean_cli_run[0].dsn)
    finally:
        drop_db(admin_dsn, name)


def test_running_a_finished_generation_again_changes_nothing(clean_cli_run, clone):
    db = clone(clean_cli_run[0])
    before = digest_of(db.dsn)
    proc = cli("generate", "--dsn", db.dsn, *CLI_ARGS, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"generated 0 enquiries", proc.stdout), proc.stdout
    assert digest_of(db.dsn) == before
    assert scalar(db.dsn, "select count(*) from tenant.enquiries") == CLI_N
    # a digest costs minutes at a million enquiries: it can be left out
    proc = cli("generate", "--dsn", db.dsn, *CLI_ARGS, "--quiet", "--no-digest")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^dataset digest: not computed", proc.stdout, re.M) and not re.search(r"[0-9a-f]{64}", proc.stdout)


def test_the_progress_bar_shows_a_rate_on_stderr_and_stdout_the_digest(clean_cli_run):
    db, proc = clean_cli_run
    assert re.search(r"\d[\d.,]*\s*enq/s", proc.stderr), proc.stderr[-500:]
    assert re.search(r"\d+/600 \[", proc.stderr) and "600/600" in proc.stderr
    assert "Traceback" not in proc.stderr
    digest = re.search(r"^dataset digest: ([0-9a-f]{64})$", proc.stdout, re.M)
    assert digest and digest.group(1) == digest_of(db.dsn)
    # the bar goes to stderr only; stdout is the summary
    assert "enq/s" not in proc.stdout


# -- bad parameters -----------------------------------------------------------------------------

BAD = {
    "zero-enquiries": (["--enquiries", "0"], "--enquiries"),
    "negative-enquiries": (["--enquiries", "-5"], "--enquiries"),
    "no-departments": (["--departments", "0"], "--departments"),
    "too-many-departments": (["--departments", "99"], "--departments"),
    "end-before-start": (["--start", "2020-01-01", "--end", "2019-06-30"], "--end"),
    "malformed-start": (["--start", "2020-13-45"], "2020-13-45"),
    "negative-skew": (["--skew", "-1"], "--skew"),
    "negative-batch-size": (["--batch-size", "-5"], "--batch-size"),   # 0 means automatic
}


def written(dsn: str) -> tuple:
    return query(dsn, """
        select to_regclass('lab_meta.generation_runs') is not null, (select count(*) from tenant.departments),
               (select count(*) from tenant.enquiries), (select count(*) from audit.entries)""")[0]


@pytest.mark.req("REQ-GEN-3")
@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_parameters_give_a_one_line_error_and_write_nothing(lab_db, case):
    args, named = BAD[case]
    before = written(lab_db)
    proc = cli("generate", "--dsn", lab_db, "--enquiries", "10", *args)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr + proc.stdout, (proc.returncode, proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and named in errors[0], proc.stderr
    if proc.returncode == 2:  # a usage error: click's "Usage: ... / Try ..." lines and the one error line
        assert [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(("Usage:", "Try "))] \
            == errors, proc.stderr
    else:
        assert proc.returncode == 1 and proc.stderr.strip() == errors[0], proc.stderr
    assert proc.stdout == ""
    assert written(lab_db) == before == (False, 0, 0, before[3])


def test_parameters_that_cannot_grow_a_generated_database_are_refused_and_add_nothing(clean_cli_run, clone):
    db = clone(clean_cli_run[0])
    digest = digest_of(db.dsn)
    runs = query(db.dsn, "select run_key, params from lab_meta.generation_runs")
    # more enquiries or a later end would grow the dataset (tests/test_growth.py); these cannot
    for other, differs in ((["--seed", str(CLI_SEED + 1)], f"--seed {CLI_SEED} there, {CLI_SEED + 1} here"),
                           (["--enquiries", str(CLI_N - 10)], f"--enquiries {CLI_N} there, {CLI_N - 10} here"),
                           (["--departments", "3"], "--departments 6 there, 3 here"),
                           (["--end", "2026-01-31"], "--end 2026-06-30 00:00:00+00:00 there, 2026-01-31 00:00:00+00:00 here")):
        args = [*CLI_ARGS, *other]  # click takes the last value of a repeated option
        proc = cli("generate", "--dsn", db.dsn, *args, "--quiet")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, (proc.returncode, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        # one line, naming the one parameter that differs
        assert len(lines) == 1 and "already holds" in lines[0] and f"({differs}:" in lines[0], proc.stderr
    assert query(db.dsn, "select run_key, params from lab_meta.generation_runs") == runs
    assert digest_of(db.dsn) == digest



