"""The audit trail: complete (every change, any path), exact (both states recoverable),
attributed (actor, department, role, login, transaction) and immutable for everyone."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from world import TENANT_TABLES, as_login

from enquiries_lab import casework
from enquiries_lab.session import act_as


def entries(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select count(*) from audit.entries").fetchone()[0]


@pytest.mark.req("REQ-AUD-1")
def test_replaying_the_audit_trail_rebuilds_every_live_row_exactly(world):
    """Completeness and exactness at once: the fold of each record's entries equals the row."""
    with psycopg.connect(world.dsn) as conn:
        for table in TENANT_TABLES:
            key = conn.execute(
                """select a.attname from pg_constraint k join pg_attribute a
                       on a.attrelid = k.conrelid and a.attnum = any(k.conkey)
                   where k.conrelid = %s::regclass and k.contype = 'p' and a.attname <> 'tenant_id'""",
                [f"tenant.{table}"]).fetchone()
            key = key[0] if key else "tenant_id"
            mismatches = conn.execute(sql.SQL(
                """select t.{key} from tenant.{table} t
                   where to_jsonb(t) is distinct from (
                       select audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) from audit.entries e
                       where e.tenant_id = t.tenant_id and e.table_name = {qualified} and e.record_id = t.{key})"""
            ).format(key=sql.Identifier(key), table=sql.Identifier(table), qualified=sql.Literal(f"tenant.{table}"))).fetchall()
            rows = conn.execute(sql.SQL("select count(*) from tenant.{}").format(sql.Identifier(table))).fetchone()[0]
            assert rows > 0 and mismatches == [], table


@pytest.mark.req("REQ-AUD-1")
def test_every_entry_is_attributed_and_has_both_states(world):
    with psycopg.connect(world.dsn) as conn:
        bad = conn.execute(
            """select entry_id from audit.entry_states
               where actor_id is null or tenant_id is null or db_role is null or login_role is null
                  or transaction_id is null or after_state is null
                  or (action = 'insert') <> (before_state is null)
                  or (action <> 'insert' and before_state || row_data <> after_state)
                  or (action <> 'insert' and before_state || old_values <> before_state)"""
        ).fetchall()
        n = conn.execute("select count(*) from audit.entries").fetchone()[0]
    assert n > 20 and bad == []


@pytest.mark.req("REQ-AUD-1")
def test_a_status_change_is_recorded_with_actor_department_role_and_both_values(world):
    cw = world.a.actor("caseworker")
    with world.connect() as conn:
        with act_as(conn, cw) as cur:
            casework.transition(cur, world.a.enquiry_id, "awaiting_citizen", version=world.a.enquiry_version)
            txid = cur.execute("select pg_current_xact_id()::text::bigint").fetchone()[0]
    with psycopg.connect(world.dsn) as conn:
        row = conn.execute(
            """select actor_id, tenant_id, db_role, login_role, transaction_id::text::bigint, action, changed_columns,
                      row_data ->> 'status', old_values ->> 'status', backdated
               from audit.entries where record_id = %s order by entry_id desc limit 1""", [world.a.enquiry_id]).fetchone()
    assert row == (cw.staff_id, world.a.tenant_id, "enquiries_caseworker", "enquiries_app", txid, "update",
                   ["status", "updated_at", "version"], "awaiting_citizen", "in_progress", False)


@pytest.mark.req("REQ-AUD-2")
def test_an_auditor_reads_only_their_departments_entries_and_a_caseworker_none(world):
    with world.connect() as conn:
        with act_as(conn, world.a.actor("auditor")) as cur:
            tenants = {r[0] for r in cur.execute("select tenant_id from audit.entries")}
            states = {r[0] for r in cur.execute("select tenant_id from audit.entry_states")}
        assert tenants == states == {world.a.tenant_id}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, world.a.actor("caseworker")) as cur:
                cur.execute("select count(*) from audit.entries")


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "auditor", "retention_officer"])
@pytest.mark.parametrize("statement", [
    "update audit.entries set actor_id = gen_random_uuid()",
    "delete from audit.entries",
    "truncate audit.entries",
    "insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id, "
    "table_name, record_id, action, changed_columns, row_data) values (tenant.current_tenant_id(), now(), false, "
    "gen_random_uuid(), 'x', 'x', pg_current_xact_id(), 'tenant.enquiries', gen_random_uuid(), 'insert', '{}', '{}')",
])
@pytest.mark.req("REQ-AUD-3")
def test_no_staff_role_can_change_remove_or_forge_audit_entries(world, role, statement):
    before = entries(world.dsn)
    with world.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, world.a.actor(role)) as cur:
                cur.execute(statement)
    assert entries(world.dsn) == before


def current_partition(conn) -> str:
    return conn.execute(
        "select tableoid::regclass::text from audit.entries order by occurred_at desc limit 1").fetchone()[0]


@pytest.mark.parametrize("statement", [
    "update audit.entries set actor_id = gen_random_uuid()",
    "delete from audit.entries",
    "truncate audit.entries",
    "update {partition} set actor_id = gen_random_uuid()",
    "delete from {partition}",
    "truncate {partition}",
])
@pytest.mark.req("REQ-AUD-3")
def test_even_a_superuser_cannot_change_or_remove_entries_while_the_triggers_stand(world, statement):
    before = entries(world.dsn)
    with psycopg.connect(world.dsn) as conn:
        with pytest.raises(psycopg.Error) as err:
            conn.execute(statement.format(partition=current_partition(conn)))
    assert err.value.sqlstate == "EL201"
    assert entries(world.dsn) == before


@pytest.fixture
def owner_login(world):
    """A login that is a member of enquiries_owner (inheriting its rights): the 'owner' attacker."""
    name = f"enqlab_test_owner_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(world.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login inherit in role enquiries_owner").format(sql.Identifier(name)))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(name)))
    try:
        yield as_login(world.dsn, name)
    finally:
        with psycopg.connect(world.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


@pytest.mark.parametrize("statement,sqlstate", [
    ("delete from {partition}", "EL201"),
    ("update {partition} set actor_id = gen_random_uuid()", "EL201"),
    ("truncate {partition}", "EL201"),
    ("delete from audit.entries", "42501"),
    ("grant delete on audit.entries to enquiries_owner", "EL202"),
    ("alter table audit.entries disable trigger entries_immutable", "EL202"),
    ("alter table {partition} disable trigger all", "EL202"),
    ("drop trigger entries_immutable on audit.entries", "EL202"),
    ("alter table audit.entries detach partition {partition}", "EL202"),
    ("drop table {partition}", "EL202"),
    ("create or replace function audit.refuse_change() returns trigger language plpgsql as 'begin return old; end'", "EL202"),
    ("alter table tenant.enquiries disable trigger z_audit_update", "EL202"),
    ("alter table tenant.enquiries no force row level security", "EL202"),
    ("alter table tenant.enquiries disable row level security", "EL202"),
    ("drop policy tenant_isolation on tenant.enquiries", "EL202"),
    ("drop trigger z_audit_insert on tenant.notes", "EL202"),
])
@pytest.mark.req("REQ-AUD-3")
def test_the_owner_cannot_tamper_with_the_trail_or_switch_the_safeguards_off(world, owner_login, statement, sqlstate):
    with psycopg.connect(world.dsn) as conn:
        partition = current_partition(conn)
    before = entries(world.dsn)
    with psycopg.connect(owner_login) as conn:
        with pytest.raises(psycopg.Error) as err:
            conn.execute(statement.format(partition=partition))
    assert err.value.sqlstate == sqlstate, err.value
    assert entries(world.dsn) == before
    with psycopg.connect(world.dsn) as conn:
        disabled = conn.execute(
            "select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('tenant', 'audit') and t.tgenabled = 'D'").fetchone()[0]
        unforced = conn.execute(
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = 'tenant' and c.relkind = 'r' and not (c.relrowsecurity and c.relforcerowsecurity)").fetchone()[0]
    assert disabled == unforced == 0


@pytest.mark.req("REQ-AUD-4")
def test_only_a_history_loader_may_set_business_time(world, refused):
    past = datetime(2019, 3, 4, 9, 30, tzinfo=timezone.utc)
    before = entries(world.dsn)
    with world.connect("enquiries_app") as conn:
        with refused("EL400"):
            with act_as(conn, world.a.actor("caseworker"), business_time=past) as cur:
                casework.add_note(cur, world.a.enquiry_id, "backdated?")
    assert entries(world.dsn) == before


@pytest.mark.req("REQ-AUD-4")
def test_a_history_loader_backdates_visibly_with_a_fixed_or_a_per_row_business_time(world):
    cw = world.a.actor("caseworker")
    fixed = datetime(2019, 3, 4, 9, 30, tzinfo=timezone.utc)
    with world.connect("enquiries_loader") as conn:
        with act_as(conn, cw, business_time=fixed) as cur:
            contact = casework.create_contact(cur, full_name="Past Citizen")
        with act_as(conn, cw, business_time="per_row") as cur:
            cur.executemany("insert into tenant.notes (enquiry_id, direction, body, created_at) values (%s, 'internal', %s, %s)",
                            [(world.a.enquiry_id, f"n{i}", fixed + timedelta(days=i)) for i in range(3)])
    with psycopg.connect(world.dsn) as conn:
        c = conn.execute("select occurred_at, backdated, login_role, recorded_at > now() - interval '1 hour', tableoid::regclass::text "
                         "from audit.entries where record_id = %s", [contact]).fetchone()
        notes = conn.execute("select e.occurred_at from audit.entries e join tenant.notes n on n.note_id = e.record_id "
                             "where n.body like 'n_' order by 1").fetchall()
        live = conn.execute("select created_at from tenant.contacts where contact_id = %s", [contact]).fetchone()[0]
    assert c == (fixed, True, "enquiries_loader", True, "audit.entries_2019_03")
    assert live == fixed
    assert [n[0] for n in notes] == [fixed + timedelta(days=i) for i in range(3)]


@pytest.mark.req("REQ-AUD-4")
def test_business_time_never_goes_backwards_for_a_record(world, refused):
    cw = world.a.actor("caseworker")
    with world.connect("enquiries_loader") as conn:
        with refused("EL401"):
            with act_as(conn, cw, business_time=datetime(2019, 1, 1, tzinfo=timezone.utc)) as cur:
                casework.transition(cur, world.a.enquiry_id, "awaiting_citizen", version=world.a.enquiry_version)


@pytest.mark.req("REQ-AUD-4")
def test_changing_a_records_key_is_refused_so_history_stays_attached(world):
    with world.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, world.a.actor("caseworker")) as cur:
                cur.execute("update tenant.notes set note_id = gen_random_uuid()")
    assert err.value.sqlstate == "EL205"


@pytest.mark.req("REQ-AUD-5")
def test_audit_partitions_exist_ahead_and_the_default_partition_stays_empty(world):
    with psycopg.connect(world.dsn) as conn:
        ahead = conn.execute(
            "select count(*) from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'audit.entries'::regclass and c.relname >= 'entries_' || to_char(now() + interval '11 months', 'YYYY_MM')"
        ).fetchone()[0]
        default_rows = conn.execute("select count(*) from audit.entries_default").fetchone()[0]
        created = conn.execute("select audit.ensure_partitions(now()::date, (now() + interval '11 months')::date)").fetchone()[0]
    assert ahead >= 1 and default_rows == 0 and created == 0


@pytest.mark.req("REQ-AUD-5")
def test_record_as_of_rebuilds_a_past_state_from_the_trail(world):
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:
            casework.transition(cur, world.a.enquiry_id, "awaiting_citizen", version=world.a.enquiry_version)
    with psycopg.connect(world.dsn) as conn:
        times = [r[0] for r in conn.execute(
            "select occurred_at from audit.entries where record_id = %s order by occurred_at, entry_id", [world.a.enquiry_id])]
    with world.connect() as conn:
        with act_as(conn, world.a.actor("auditor")) as cur:
            before = cur.execute("select audit.record_as_of('tenant.enquiries', %s, %s)",
                                 [world.a.enquiry_id, times[0] - timedelta(seconds=1)]).fetchone()[0]
            first = cur.execute("select audit.record_as_of('tenant.enquiries', %s, %s)", [world.a.enquiry_id, times[0]]).fetchone()[0]
            last = cur.execute("select audit.record_as_of('tenant.enquiries', %s, now())", [world.a.enquiry_id]).fetchone()[0]
            live = cur.execute("select to_jsonb(e) from tenant.enquiries e where enquiry_id = %s", [world.a.enquiry_id]).fetchone()[0]
    assert before is None
    assert first["status"] in ("new", "in_progress")  # world setup may commit several steps in one transaction
    assert last == live and last["status"] == "awaiting_citizen"
