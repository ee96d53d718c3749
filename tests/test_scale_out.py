"""Scale-out readiness: the schema stays distributable by tenant_id (Citus), proved on
single-node PostgreSQL on every CI run. Citus itself is not installable here; what CI can
prove is the readiness rules, the profile's order and names, and that the row-form triggers
the profile switches to write exactly what the statement forms write."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from world import load_world

from enquiries_lab import casework, migrations, readiness
from enquiries_lab.queries import dashboard, queue
from enquiries_lab.session import act_as, context_statement, context_statements

CITUS = migrations.sql_dir() / "citus"


def findings(dsn: str) -> set[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return {(f.rule, f.object) for f in readiness.check(conn)}


@pytest.mark.req("REQ-SCALE-1")
def test_the_project_schema_is_ready_to_distribute(lab_db):
    assert findings(lab_db) == set()


@pytest.mark.parametrize("breakage,rule,obj", [
    ("alter table tenant.teams add constraint teams_name_everywhere unique (name)", "scale_out_keys", "tenant.teams"),
    ("create table public.things (thing_id uuid primary key); "
     "alter table tenant.notes add column thing_id uuid references public.things on delete restrict",
     "scale_out_foreign_keys", "tenant.notes"),
    ("create unique index staff_id_alone on tenant.staff (staff_id); "
     "alter table tenant.notes add constraint notes_author foreign key (created_by) references tenant.staff (staff_id) on delete restrict",
     "scale_out_foreign_keys", "tenant.notes"),
    ("create policy auditor_everything on tenant.notes for select to enquiries_auditor using (true)",
     "scale_out_policies", "tenant.notes"),
    ("create policy caseworker_anywhere on tenant.contacts for insert to enquiries_caseworker with check (true)",
     "scale_out_policies", "tenant.contacts"),
    ("alter table tenant.notes disable trigger a_stamp_row", "scale_out_tenant_immutable", "tenant.notes"),
    ("drop trigger z_audit_insert on tenant.notes; drop trigger z_audit_update on tenant.notes", "scale_out_audit", "tenant.notes"),
    ("create table tenant.orphans (orphan_id uuid primary key)", "scale_out_distribution_column", "tenant.orphans"),
])
@pytest.mark.req("REQ-SCALE-1")
def test_each_readiness_rule_catches_the_drift_it_names(lab_db, breakage, rule, obj):
    with psycopg.connect(lab_db, autocommit=True) as conn:
        conn.execute(breakage)
    assert (rule, obj) in findings(lab_db)


def test_the_context_is_set_with_set_local_so_it_reaches_the_shards(world):
    text = context_statement(world.a.actor("caseworker")).as_string(None)
    assert "set local enquiries.tenant_id = " in text and "set local enquiries.actor_id = " in text
    assert "set_config" not in text


def test_act_as_sends_each_set_local_on_its_own(world, monkeypatch):
    """Citus forwards a SET LOCAL to the workers as the string it arrived in: each SET must
    arrive alone, or every worker would receive (and run) all of them for each one."""
    texts = [s.as_string(None) for s in context_statements(world.a.actor("caseworker"), business_time="per_row")]
    assert len(texts) == 4 and all(t.startswith("set local ") and ";" not in t for t in texts)
    sent = []
    real = psycopg.Cursor.execute

    def spy(cur, query, *args, **kwargs):
        sent.append(query.as_string(cur) if hasattr(query, "as_string") else str(query))
        return real(cur, query, *args, **kwargs)

    with world.connect() as conn:
        monkeypatch.setattr(psycopg.Cursor, "execute", spy)
        with act_as(conn, world.a.actor("caseworker")):
            pass
        monkeypatch.undo()
    assert [t.split(" = ")[0] for t in sent] == [
        'set local role "enquiries_caseworker"', "set local enquiries.tenant_id", "set local enquiries.actor_id"]


@pytest.mark.req("REQ-SCALE-2")
def test_the_migration_runner_sends_each_statement_of_a_file_on_its_own(empty_db, tmp_path):
    """current_query() is the string the client sent: each statement sees only itself."""
    d = tmp_path / "sql"
    d.mkdir()
    (d / "001_two.sql").write_text("create table public.seen (q text);\n"
                                   "insert into public.seen select current_query();\n"
                                   "insert into public.seen select current_query(); -- and a comment\n")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        migrations.migrate(conn, d)
        seen = [r[0] for r in conn.execute("select q from public.seen")]
    assert len(seen) == 2 and all("create table" not in q and q.count("insert") == 1 for q in seen), seen


STUBS = """
create schema citus_stub;
create table citus_stub.calls (n serial, kind text, tbl regclass, colocate_with text);
create function citus_stub.create_reference_table(t regclass) returns void language sql
    as $$ insert into citus_stub.calls (kind, tbl) values ('reference', t) $$;
create function citus_stub.create_distributed_table(t regclass, col text, colocate_with text default 'default')
    returns void language sql
    as $$ insert into citus_stub.calls (kind, tbl, colocate_with) values ('distributed:' || col, t, colocate_with) $$;
"""


@pytest.mark.req("REQ-SCALE-2")
def test_the_citus_profile_distributes_every_table_in_the_order_citus_needs(lab_db):
    """Stand-ins for create_reference_table/create_distributed_table record the calls; the
    regclass arguments prove every named table exists."""
    with psycopg.connect(lab_db) as conn:
        conn.execute(STUBS)
        conn.execute("set local search_path = citus_stub, public")
        for name in ("020_reference_tables.sql", "030_distributed_tables.sql"):
            conn.execute((CITUS / name).read_text())
        calls = conn.execute("select kind, tbl::text, colocate_with from citus_stub.calls order by n").fetchall()
        core = {r[0] for r in conn.execute("select format('core.%s', relname) from pg_class c join pg_namespace n "
                                           "on n.oid = c.relnamespace where nspname = 'core' and relkind = 'r'")}
        tenant = {r[0] for r in conn.execute("select format('tenant.%s', relname) from pg_class c join pg_namespace n "
                                             "on n.oid = c.relnamespace where nspname = 'tenant' and relkind = 'r'")}
        conn.rollback()
    kinds = [k for k, _, _ in calls]
    assert kinds == sorted(kinds, key=lambda k: k != "reference")            # reference tables first
    assert {t for k, t, _ in calls if k == "reference"} == core
    distributed = [(t, c) for k, t, c in calls if k == "distributed:tenant_id"]
    assert distributed[0] == ("tenant.departments", "default")               # the parent first
    assert {t for t, _ in distributed} == tenant | {"audit.entries"}
    assert all(c == "tenant.departments" for _, c in distributed[1:])       # all colocated


@pytest.mark.req("REQ-SCALE-2")
def test_the_citus_settings_file_is_valid_sql(lab_db):
    with psycopg.connect(lab_db) as conn:
        conn.execute((CITUS / "010_settings.sql").read_text())
        conn.rollback()


@pytest.fixture
def world_pair(admin_dsn, world_template):
    names = [_new_name("rows"), _new_name("stmt")]
    dsns = [create_db(admin_dsn, n, template=world_template) for n in names]
    try:
        yield [load_world(d) for d in dsns]
    finally:
        for n in names:
            drop_db(admin_dsn, n)


def _script(w) -> None:
    """The same workflow, at fixed business times, so both databases can be compared: a
    history load (business time is never later than the wall clock, sql/036) of a case with
    fixed keys, closed in 2018 and disposed of seven years later."""
    a = w.a
    at = datetime(2018, 1, 2, tzinfo=timezone.utc)
    contact, enquiry, note, hold = uuid.UUID(int=5), uuid.UUID(int=6), uuid.UUID(int=7), uuid.UUID(int=8)
    day = timedelta(days=1)
    with psycopg.connect(w.loader_dsn, autocommit=True) as conn:
        with act_as(conn, a.actor("caseworker"), business_time=at) as cur:
            cur.execute("insert into tenant.contacts (contact_id, full_name, phone, postcode) "
                        "values (%s, 'Jane Citizen', '01632 960000', 'SW1A 1AA')", [contact])
            cur.execute("insert into tenant.enquiries (enquiry_id, reference, contact_id, enquiry_type, channel, subject, body, "
                        "status) values (%s, 'AAA-000099', %s, 'general', 'email', 'Payment', 'Not arrived', 'new')",
                        [enquiry, contact])
        with act_as(conn, a.actor("supervisor"), business_time=at + day) as cur:
            v = casework.transition(cur, enquiry, "assigned", version=1, assign_to=a.caseworker2.staff_id)
            cur.execute("insert into tenant.notes (note_id, enquiry_id, direction, body) values (%s, %s, 'internal', 'x')",
                        [note, enquiry])
            cur.execute("insert into tenant.legal_holds (legal_hold_id, enquiry_id, reason) values (%s, %s, 'Jane v. Dept')",
                        [hold, enquiry])
        with act_as(conn, a.caseworker2, business_time=at + 2 * day) as cur:
            v = casework.transition(cur, enquiry, "in_progress", version=v)
        with act_as(conn, a.actor("supervisor"), business_time=at + 3 * day) as cur:
            v = casework.reassign(cur, enquiry, a.actor("caseworker").staff_id, version=v)
            v = casework.transition(cur, enquiry, "resolved", version=v)
            cur.execute("update tenant.contacts set phone = '01632 960001' where contact_id = %s", [contact])
            v = casework.transition(cur, enquiry, "closed", version=v)
            casework.release_legal_hold(cur, hold)
        # seven years on, the disposal cascades to the notes, the hold and (last enquiry) the contact
        with act_as(conn, a.actor("retention_officer"), business_time=at.replace(year=2025, month=6)) as cur:
            casework.dispose_enquiry(cur, enquiry)


TRAIL = """
select table_name, record_id, occurred_at, action, actor_id, db_role, backdated, changed_columns, row_data, old_values
from audit.entries where occurred_at >= '2018-01-01' and occurred_at < '2026-01-01' order by table_name, record_id, occurred_at, action
"""


@pytest.mark.req("REQ-SCALE-1")
def test_the_row_form_triggers_write_exactly_what_the_statement_forms_write(world_pair):
    rows_world, statement_world = world_pair
    with psycopg.connect(rows_world.dsn, autocommit=True) as conn:
        for trigger_file in (CITUS / "040_row_triggers.sql", CITUS / "050_row_forms.sql"):   # the trigger swaps
            conn.execute(trigger_file.read_text())
        assert conn.execute("select count(*) from pg_trigger where tgname = 'z_audit_row'").fetchone()[0] == 10
        assert conn.execute("select count(*) from pg_trigger where tgname = 'd_cascade_disposal'").fetchone()[0] == 1
    for w in world_pair:
        _script(w)
    trails, assignments = [], []
    for w in world_pair:
        with psycopg.connect(w.dsn) as conn:
            trails.append(conn.execute(TRAIL).fetchall())
            assignments.append(conn.execute("select * from tenant.assignments order by assignment_id").fetchall())
    assert len(trails[0]) >= 6 and trails[0] == trails[1]
    assert {(t[0], t[3]) for t in trails[0] if t[3] == "dispose"} == {
        ("tenant.enquiries", "dispose"), ("tenant.notes", "dispose"), ("tenant.contacts", "dispose")}
    assert assignments[0] == assignments[1]
    assert findings(rows_world.dsn) == set()


def test_queue_and_dashboard_give_the_same_answer_with_the_routing_filter(world):
    cw = world.a.actor("caseworker")
    with world.connect() as conn:
        with act_as(conn, cw) as cur:
            assert queue(cur, cw) == queue(cur, cw, routing=True) and len(queue(cur, cw)) == 1
            assert dashboard(cur, cw, routing=False) == dashboard(cur, cw, routing=True)
            plan = cur.execute("explain (format json) select * from app.enquiries e where e.tenant_id = %s and e.assigned_to = %s",
                               [cw.tenant_id, cw.staff_id]).fetchone()[0]
    assert "tenant_id" in str(plan)


def test_queries_carry_no_tenant_filter_unless_the_citus_profile_asks(world, monkeypatch):
    """queries.py: RLS alone by default; ENQUIRIES_LAB_ROUTING=1 (the Citus profile) adds the
    routing hint to every pattern, and the answers are the same either way."""
    from enquiries_lab import queries

    cw = world.a.actor("caseworker")
    with world.connect() as conn:
        monkeypatch.delenv(queries.ROUTING_ENV, raising=False)
        plain = {p: queries.compose(p).as_string(conn) for p in queries.PATTERNS}
        with act_as(conn, cw) as cur:
            alone = queries.dashboard(cur, cw)
        monkeypatch.setenv(queries.ROUTING_ENV, "1")
        routed = {p: queries.compose(p).as_string(conn) for p in queries.PATTERNS}
        with act_as(conn, cw) as cur:
            assert queries.dashboard(cur, cw) == alone
    assert not [p for p, text in plain.items() if "tenant_id" in text], plain
    assert all("tenant_id = %(tenant_id)s" in text for text in routed.values()), routed
