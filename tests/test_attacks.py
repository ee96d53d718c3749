"""Attacks on the known RLS pitfalls that the isolation, context and audit suites do not cover
already (docs/threat-model.md maps every attack to its test).

Each test is the attacker: a real application login (enquiries_app, enquiries_loader)
sending SQL directly, as a staff role through act_as or with the context set by hand. It
asserts the SQLSTATE, or that only the caller's department came back, and that nothing was
written.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pytest
from invariants import TENANT_TABLES, create_db, drop_db, new_name, scalar, table_counts
from psycopg import sql
from world import STAFF_ROLES, load_world

from enquiries_lab.errors import LabError
from enquiries_lab.session import Actor, act_as

WORLD_TABLES = ["assignments", "contacts", "department_enquiry_types", "departments", "enquiries",
                "escalations", "legal_holds", "notes", "staff", "teams"]
LAB_SCHEMAS = ["core", "tenant", "audit", "app"]
LAB_ROLES = ["enquiries_caseworker", "enquiries_supervisor", "enquiries_auditor", "enquiries_retention_officer",
             "enquiries_provisioner", "enquiries_history_loader", "enquiries_audit_writer", "enquiries_owner",
             "enquiries_app", "enquiries_loader"]
APPLICATION_ROLES = [r for r in LAB_ROLES if r not in ("enquiries_owner", "enquiries_audit_writer")]
# The only SECURITY DEFINER functions, who owns them, and why they must be definer.
DEFINER_ALLOW_LIST = {
    "audit.capture_row()": "enquiries_audit_writer",  # the row form of the capture (the Citus profile)
    # the per-table statement captures audit.install_capture generates (025), one per tenant table
    **{f"audit.capture_{t}()": "enquiries_audit_writer" for t in WORLD_TABLES},
}
HOSTILE = ["not-a-uuid", "'; drop table tenant.enquiries; --", "x" * 100_000, "ünïcödé-😀",
           " 00000000-0000-4000-8000-000000000001 OR true"]


@pytest.fixture(scope="module")
def shared(admin_dsn, world_template):
    """One world copy for the tests that only read (or write nothing that others look at)."""
    name = new_name("attacks")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        yield load_world(dsn)
    finally:
        drop_db(admin_dsn, name)


def su(w) -> psycopg.Connection:
    return psycopg.connect(w.dsn, autocommit=True)


def written(w) -> tuple:
    """Everything a refused attack must leave as it was."""
    with su(w) as conn:
        return (table_counts(conn), scalar(conn, "select count(*) from audit.entries"),
                scalar(conn, "select md5(string_agg(to_jsonb(e)::text, '' order by enquiry_id)) from tenant.enquiries e"))


# -- non-leakproof functions: a predicate that fails on a hidden row must never run on it ----------

FAILING_PREDICATES = {
    "division-by-zero": ("1 / (case when tenant_id = %(probe)s then 0 else 1 end) = 1", "22012"),
    "failed-cast": ("(case when tenant_id = %(probe)s then tenant_id::text::int else 0 end) = 0", "22P02"),
    "sqrt-of-negative": ("sqrt(case when tenant_id = %(probe)s then -1 else 1 end) = 1", "2201F"),
    "bad-uuid": ("coalesce((case when tenant_id = %(probe)s then tenant_id::text || 'x' end)::uuid, tenant_id) = tenant_id",
                 "22P02"),
}


@pytest.mark.parametrize("table", ["tenant.enquiries", "tenant.contacts", "tenant.staff", "tenant.notes", "app.enquiries",
                                   "audit.entries"])
@pytest.mark.parametrize("predicate", list(FAILING_PREDICATES))
def test_a_predicate_that_fails_on_hidden_rows_never_fires(shared, table, predicate):
    """RLS quals run before any non-LEAKPROOF function of the query, so probing department B with an
    error-raising expression returns A's rows and no error; the same probe on A's own rows does raise,
    which shows the attack is real."""
    text, sqlstate = FAILING_PREDICATES[predicate]
    actor = shared.a.actor("auditor" if table.startswith("audit.") else "caseworker")
    query = f"select tenant_id from {table} where {text}"
    with shared.connect() as conn:
        with act_as(conn, actor) as cur:
            tenants = [r[0] for r in cur.execute(query, {"probe": shared.b.tenant_id})]
        assert tenants and set(tenants) == {shared.a.tenant_id}
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, actor) as cur:
                cur.execute(query, {"probe": shared.a.tenant_id})
    assert err.value.sqlstate == sqlstate


def test_the_search_query_with_lower_and_ilike_finds_only_the_callers_rows(shared):
    """Both departments have an enquiry about a payment; lower()/ILIKE (not LEAKPROOF) still work as
    the caller and find only the caller's."""
    search = ("select reference from app.enquiries where lower(subject) like lower(%(q)s) or body ilike %(q)s "
              "order by reference")
    with shared.connect() as conn:
        for dept in (shared.a, shared.b):
            with act_as(conn, dept.actor("caseworker")) as cur:
                assert [r[0] for r in cur.execute(search, {"q": "%PAYMENT%"})] == [f"{dept.code}-000001"]
                assert cur.execute(search, {"q": "%arrived%"}).fetchall() == [(f"{dept.code}-000001",)]


def test_no_function_in_the_lab_schemas_is_leakproof(shared):
    with su(shared) as conn:
        leakproof = conn.execute(
            """select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
               where n.nspname = any(%s) and p.proleakproof""", [LAB_SCHEMAS]).fetchall()
        operators = conn.execute(
            """select o.oid::regoperator::text from pg_operator o join pg_namespace n on n.oid = o.oprnamespace
               where n.nspname = any(%s)""", [LAB_SCHEMAS + ["public"]]).fetchall()
    assert leakproof == [] and operators == []


@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("schema", ["public", "core", "tenant", "audit", "app"])
def test_a_caller_cannot_create_a_function_to_leak_rows_through(shared, role, schema):
    """The classic leak: a cheap function that RAISE NOTICEs its argument, used in a WHERE clause.
    Nobody but the owner can create one in any schema (pg_temp: see the TEMP tests below)."""
    leak = (f"create function {schema}.leak(t text) returns boolean language plpgsql cost 0.0001 "
            "as $$ begin raise notice 'leaked %', t; return true; end $$")
    with shared.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, shared.a.actor(role)) as cur:
                cur.execute(leak)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_a_caller_cannot_rewrite_or_recompile_the_compiled_workflow(shared, role):
    """sql/003: the workflow trigger trusts core.workflow_step and its siblings. A staff role
    that could replace one (to allow any move) or rerun the compiler would own the workflow;
    both are refused, and the rules stay what the tables say."""
    forged = ("create or replace function core.workflow_step(from_status text, to_status text, staff_role text) "
              "returns text language sql stable as $$ select 'allowed'::text $$")
    with su(shared) as conn:
        before = conn.execute("select md5(prosrc) from pg_proc where proname = 'workflow_step'").fetchone()
    with shared.connect() as conn:
        for attack in (forged, "select core.compile_workflow()"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, shared.a.actor(role)) as cur:
                    cur.execute(attack)
        with act_as(conn, shared.a.actor(role)) as cur:
            assert cur.execute("select core.workflow_step('new', 'closed', 'caseworker')").fetchone()[0] is None
    with su(shared) as conn:
        assert conn.execute("select md5(prosrc) from pg_proc where proname = 'workflow_step'").fetchone() == before


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_a_caller_cannot_widen_the_types_that_check_channels_and_priorities(shared, role):
    """sql/004-034: a channel, a priority and an enquiry's text are checked by the rules of their
    types (domains), the first two compiled from core.channels and core.priorities. A staff role
    that could drop a domain's check, replace the domain, add a row to those tables or rerun the
    compiler could write any value; every way is refused, and the checks stay as they were."""
    checks = """select array_agg(pg_get_constraintdef(c.oid) order by c.conname) from pg_constraint c
                where c.contypid in ('core.channel'::regtype, 'core.priority'::regtype, 'core.enquiry_reference'::regtype,
                                     'core.enquiry_subject'::regtype, 'core.enquiry_body'::regtype)"""
    with su(shared) as conn:
        before = conn.execute(checks).fetchone()
    attacks = ("alter domain core.channel drop constraint channel_known",
               "alter domain core.enquiry_reference drop constraint enquiry_reference_format",
               "alter domain core.priority rename constraint priority_known to anything_goes",
               "drop domain core.channel cascade",
               "insert into core.channels (channel, label) values ('pigeon', 'Carrier pigeon')",
               "insert into core.priorities (priority, label, sla_factor, sort_order) values ('never', 'Never', 9, 99)",
               "select core.compile_reference_types()")
    with shared.connect() as conn:
        for attack in attacks:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, shared.a.actor(role)) as cur:
                    cur.execute(attack)
    with su(shared) as conn:
        assert conn.execute(checks).fetchone() == before
        assert conn.execute("select count(*) from core.channels where channel = 'pigeon'").fetchone()[0] == 0


def public_database_privileges(admin_dsn: str, dbname: str) -> list[tuple]:
    """(grantee, privilege) on the database itself; grantee '-' is PUBLIC."""
    with psycopg.connect(admin_dsn) as conn:
        return conn.execute(
            """select coalesce(r.rolname, '-'), a.privilege_type
               from pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
               left join pg_roles r on r.oid = a.grantee
               where d.datname = %s and (a.grantee = 0 or r.rolname in ('enquiries_app', 'enquiries_loader'))
               order by 1, 2""", [dbname]).fetchall()


def test_a_migrated_database_admits_the_two_logins_only_and_nobody_gets_temp(admin_dsn, migrated_template):
    """002: the database is not reachable by PUBLIC and nobody may create temporary tables (a
    temporary table with a trigger runs code in trigger context, which assignment history relies on)."""
    assert public_database_privileges(admin_dsn, migrated_template) == [
        ("enquiries_app", "CONNECT"), ("enquiries_loader", "CONNECT")]


FORGE_ASSIGNMENT = [
    """create function pg_temp.forge() returns trigger language plpgsql as $$
       begin
           insert into tenant.assignments (enquiry_id, to_staff_id, assigned_at, assigned_by)
           values (new.enquiry_id, new.to_staff_id, now(), new.to_staff_id);
           return new;
       end $$""",
    "create temp table bait (enquiry_id uuid, to_staff_id uuid)",
    "create trigger forge after insert on bait for each row execute function pg_temp.forge()",
    "insert into bait values (%(enquiry)s, %(to)s)",
]


def test_a_copy_of_a_lab_database_keeps_temp_closed_so_assignment_history_cannot_be_forged(world):
    before = written(world)
    with world.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, world.a.actor("caseworker")) as cur:
                for statement in FORGE_ASSIGNMENT:
                    cur.execute(statement, {"enquiry": world.a.enquiry_id, "to": world.a.caseworker2.staff_id})
    assert written(world) == before
    assert public_database_privileges(world.dsn, psycopg.conninfo.conninfo_to_dict(world.dsn)["dbname"]) == [
        ("enquiries_app", "CONNECT"), ("enquiries_loader", "CONNECT")]


def test_planner_statistics_reveal_nothing_of_tenant_tables(shared):
    """pg_stats would show most common values across all departments; it hides RLS tables from
    everyone RLS applies to."""
    with su(shared) as conn:
        for table in TENANT_TABLES:
            conn.execute(sql.SQL("analyze tenant.{}").format(sql.Identifier(table)))
        assert scalar(conn, "select count(*) from pg_stats where schemaname = 'tenant' and tablename = 'enquiries'") > 0
    with shared.connect() as conn:
        for role in STAFF_ROLES:
            with act_as(conn, shared.a.actor(role)) as cur:
                shown = cur.execute("select tablename, attname from pg_stats where schemaname in ('tenant', 'audit')").fetchall()
            assert shown == [], role


# -- COPY --------------------------------------------------------------------------------------------

def copy_out(cur: psycopg.Cursor, statement: str) -> list[str]:
    data = bytearray()
    with cur.copy(statement) as copy:
        for chunk in copy:
            data += chunk
    return data.decode().splitlines()


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_copy_to_returns_only_the_callers_department(shared, table):
    with shared.connect() as conn:
        with act_as(conn, shared.a.actor("caseworker")) as cur:
            direct = copy_out(cur, f"copy tenant.{table} (tenant_id) to stdout")
            query = copy_out(cur, f"copy (select tenant_id from tenant.{table}) to stdout")
            view = copy_out(cur, f"copy (select tenant_id from app.{table}) to stdout")
        with act_as(conn, shared.a.actor("auditor")) as cur:
            trail = copy_out(cur, "copy (select tenant_id from audit.entries) to stdout")
    for lines in (direct, query, view, trail):
        assert lines and set(lines) == {str(shared.a.tenant_id)}, (table, lines)


COPY_FROM = [
    # (role, table, columns, row, SQLSTATE): RLS refuses COPY FROM outright where the role could insert
    ("caseworker", "tenant.contacts", "full_name", ["Copied In"], "0A000"),
    ("supervisor", "tenant.legal_holds", "enquiry_id, reason", ["{enquiry}", "copied"], "0A000"),
    ("caseworker", "tenant.staff", "full_name", ["Copied In"], "42501"),
    ("caseworker", "audit.entries", "table_name", ["tenant.contacts"], "42501"),
    ("auditor", "audit.entries", "table_name", ["tenant.contacts"], "42501"),
]


@pytest.mark.parametrize("role,table,columns,row,sqlstate", COPY_FROM, ids=[f"{c[0]}-{c[1]}" for c in COPY_FROM])
def test_copy_from_is_refused_and_writes_nothing(shared, role, table, columns, row, sqlstate):
    before = written(shared)
    values = [str(shared.a.enquiry_id) if v == "{enquiry}" else v for v in row]
    with shared.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, shared.a.actor(role)) as cur:
                with cur.copy(f"copy {table} ({columns}) from stdin") as copy:
                    copy.write_row(values)
    assert err.value.sqlstate == sqlstate, err.value
    assert written(shared) == before


@pytest.mark.parametrize("statement", [
    "copy tenant.enquiries to '/tmp/enqlab-attack.csv'",
    "copy (select * from tenant.enquiries) to program 'cat > /tmp/enqlab-attack.csv'",
    "copy tenant.contacts (full_name) from '/etc/passwd'",
    "select pg_read_file('/etc/passwd')",
])
def test_copy_to_a_server_file_or_program_is_refused(shared, statement):
    with shared.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, shared.a.actor("supervisor")) as cur:
                cur.execute(statement)
    assert not Path("/tmp/enqlab-attack.csv").exists()


# -- policies OR-ing into a hole ------------------------------------------------------------------

def tenants_seen(w, role: str) -> dict[str, set]:
    with w.connect() as conn:
        seen = {}
        for table in TENANT_TABLES:
            with act_as(conn, w.a.actor(role)) as cur:
                seen[table] = {r[0] for r in cur.execute(f"select tenant_id from tenant.{table}")}
    return seen


def attempt_writes_into_b(w) -> list[str]:
    """As A's supervisor: change B's enquiry, add a note and a contact to B; the SQLSTATEs."""
    outcomes = []
    attempts = [
        ("update tenant.enquiries set subject = 'hijacked', version = version + 1 where enquiry_id = %s", [w.b.enquiry_id]),
        ("insert into tenant.notes (tenant_id, enquiry_id, direction, body) values (%s, %s, 'internal', 'x')",
         [w.b.tenant_id, w.b.enquiry_id]),
        ("insert into tenant.contacts (tenant_id, full_name) values (%s, 'Planted')", [w.b.tenant_id]),
    ]
    with w.connect() as conn:
        for statement, params in attempts:
            try:
                with act_as(conn, w.a.actor("supervisor")) as cur:
                    cur.execute(statement, params)
                    outcomes.append(f"rowcount {cur.rowcount}")
            except psycopg.Error as err:
                outcomes.append(err.sqlstate)
    return outcomes


def test_a_permissive_using_true_policy_cannot_widen_the_tenant_isolation(world):
    """A superuser (or a careless migration) adds a permissive `using (true)` policy for the
    caseworker and supervisor on every tenant table: permissive policies OR together, but the
    restrictive tenant_isolation is ANDed with their OR, so department B stays invisible."""
    before = written(world)
    with su(world) as conn:
        for table in TENANT_TABLES:
            conn.execute(sql.SQL("create policy attack_open on tenant.{} as permissive for all "
                                 "to enquiries_caseworker, enquiries_supervisor using (true) with check (true)")
                         .format(sql.Identifier(table)))
    for role in ("caseworker", "supervisor"):
        assert tenants_seen(world, role) == {t: {world.a.tenant_id} for t in TENANT_TABLES}, role
    assert attempt_writes_into_b(world) == ["rowcount 0", "42501", "42501"]
    assert written(world) == before


def test_the_permissive_policies_isolate_without_the_restrictive_one(world):
    """Citus copies restrictive policies to the shards as permissive, so every permissive policy
    repeats the tenant check: with tenant_isolation dropped (as superuser), nothing widens."""
    before = written(world)
    with su(world) as conn:
        for table in TENANT_TABLES + ["audit.entries"]:
            qualified = table if "." in table else f"tenant.{table}"
            conn.execute(f"drop policy tenant_isolation on {qualified}")
        assert scalar(conn, "select count(*) from pg_policies where policyname = 'tenant_isolation'") == 0
    for role in STAFF_ROLES:
        assert tenants_seen(world, role) == {t: {world.a.tenant_id} for t in TENANT_TABLES}, role
    with world.connect() as conn:
        with act_as(conn, world.a.actor("auditor")) as cur:
            assert {r[0] for r in cur.execute("select tenant_id from audit.entries")} == {world.a.tenant_id}
    assert attempt_writes_into_b(world) == ["rowcount 0", "42501", "42501"]
    assert written(world) == before


# -- SECURITY DEFINER functions and views ---------------------------------------------------------

def definer_functions(conn) -> list[tuple[str, str, list]]:
    return conn.execute(
        """select p.oid::regprocedure::text, pg_get_userbyid(p.proowner)::text, coalesce(p.proconfig, '{}')
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
           order by 1""").fetchall()


def test_security_definer_functions_are_exactly_the_allow_list_with_a_pinned_search_path(shared):
    with su(shared) as conn:
        found = definer_functions(conn)
    assert {name: owner for name, owner, _ in found} == DEFINER_ALLOW_LIST
    for name, _, config in found:
        paths = [c.split("=", 1)[1] for c in config if c.startswith("search_path=")]
        # pinned, and pg_temp named last so a temporary object can never shadow a catalog one
        assert paths and [p.strip() for p in paths[0].split(",")][-1] == "pg_temp", (name, config)
        assert "public" not in paths[0] and "$user" not in paths[0], (name, config)


def test_no_application_role_can_execute_a_security_definer_function(shared):
    with su(shared) as conn:
        functions = [name for name, _, _ in definer_functions(conn)]
        granted = [(role, fn) for role in APPLICATION_ROLES for fn in functions
                   if scalar(conn, "select has_function_privilege(%s, %s, 'EXECUTE')", [role, fn])]
        public = conn.execute(
            """select p.oid::regprocedure::text from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
               where p.prosecdef and a.grantee = 0 and a.privilege_type = 'EXECUTE'""").fetchall()
    assert functions and granted == [] and public == []
    with shared.connect() as conn:
        for fn in functions:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, shared.a.actor("supervisor")) as cur:
                    cur.execute(f"select {fn}")


def test_every_view_in_every_lab_schema_is_security_invoker_and_isolates(shared):
    with su(shared) as conn:
        views = conn.execute(
            """select format('%%I.%%I', n.nspname, c.relname), c.relkind::text, coalesce(c.reloptions, '{}'),
                      exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where c.relkind in ('v', 'm') and n.nspname = any(%s) order by 1""", [LAB_SCHEMAS]).fetchall()
    assert len(views) >= 12
    assert [(v, kind) for v, kind, _, _ in views if kind != "v"] == []  # a materialized view has no RLS at all
    assert [v for v, _, options, _ in views if "security_invoker=true" not in options] == []
    checked = 0
    with shared.connect() as conn:
        for view, _, _, has_tenant in views:
            if not has_tenant:
                continue
            for role in ("auditor", "caseworker"):
                try:
                    with act_as(conn, shared.a.actor(role)) as cur:
                        tenants = {r[0] for r in cur.execute(f"select tenant_id from {view}")}
                except psycopg.errors.InsufficientPrivilege:
                    continue
                assert tenants <= {shared.a.tenant_id}, (view, role)
                checked += 1
    assert checked >= 12


# -- context on a pooled connection ---------------------------------------------------------------

def context_now(conn) -> tuple:
    """(current user, the two raw settings, what the context functions make of them as a staff role)."""
    raw = conn.execute("select current_user::text, current_setting('enquiries.tenant_id', true), "
                       "current_setting('enquiries.actor_id', true)").fetchone()
    with conn.transaction():
        conn.execute("set local role enquiries_auditor")
        return raw + conn.execute("select tenant.current_tenant_id(), tenant.current_actor_id()").fetchone()


@pytest.mark.parametrize("path", ["never-set", "after-commit", "after-rollback", "after-an-error"])
def test_a_pooled_connection_carries_no_context_into_the_next_transaction(shared, path):
    """The next transaction on a reused connection has no role and no context, whether the custom
    settings read NULL (never set in this session) or '' (what they read after COMMIT/ROLLBACK), and
    staff roles then see nothing and may write nothing."""
    actor = shared.a.actor("caseworker")
    with shared.connect() as conn:
        if path == "after-commit":
            with act_as(conn, actor) as cur:
                assert cur.execute("select count(*) from tenant.enquiries").fetchone()[0] == 1
        elif path == "after-rollback":
            with pytest.raises(RuntimeError):
                with act_as(conn, actor):
                    raise RuntimeError("the application rolls back")
        elif path == "after-an-error":
            with pytest.raises(psycopg.errors.DivisionByZero):
                with act_as(conn, actor) as cur:
                    cur.execute("select count(*) / 0 from tenant.enquiries")
        user, tenant, acting, tenant_id, actor_id = context_now(conn)
        assert user == "enquiries_app" and tenant_id is None and actor_id is None
        expected_raw = None if path == "never-set" else ""
        assert (tenant, acting) == (expected_raw, expected_raw)
        for role in STAFF_ROLES:
            with conn.transaction():
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(f"enquiries_{role}")))
                assert conn.execute("select count(*) from tenant.staff").fetchone()[0] == 0
        with pytest.raises(psycopg.Error) as err:
            with conn.transaction():
                conn.execute("set local role enquiries_caseworker")
                conn.execute("insert into tenant.contacts (full_name) values ('Leftover')")
    assert err.value.sqlstate == "EL001"


def test_session_level_settings_would_leak_until_discard_all(shared):
    """The pitfall `SET LOCAL` avoids: a plain SET (session level) survives COMMIT and the next
    request on the pooled connection inherits it; the pooler's reset query (DISCARD ALL) clears it.
    The database cannot tell the two apart: keeping context transaction-local is the application's
    job (see the next test)."""
    actor = shared.a.actor("caseworker")
    with shared.connect() as conn:
        conn.execute(sql.SQL("set role enquiries_caseworker; set enquiries.tenant_id = {}; set enquiries.actor_id = {}")
                     .format(sql.Literal(str(actor.tenant_id)), sql.Literal(str(actor.staff_id))))
        assert conn.execute("select count(*) from tenant.enquiries").fetchone()[0] == 1  # the next "request" inherits
        conn.execute("discard all")
        assert context_now(conn)[0] == "enquiries_app" and context_now(conn)[3:] == (None, None)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from tenant.enquiries")


SESSION_LEVEL = re.compile(r"""\bset\s+(?!local\b)(role|session\s+authorization|enquiries\.)""", re.I)
SET_CONFIG_SESSION = re.compile(r"""set_config\(\s*'(role|enquiries\.[a-z_]+)'[^)]*,\s*false\s*\)""", re.I)


def test_the_package_sets_context_and_role_only_transaction_locally():
    package = Path(__file__).resolve().parent.parent / "enquiries_lab"
    offending = []
    for path in sorted(package.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if SESSION_LEVEL.search(code) or SET_CONFIG_SESSION.search(code):
                offending.append(f"{path.relative_to(package.parent)}:{number}: {line.strip()}")
    assert offending == []


# -- role escalation from inside an application transaction ---------------------------------------

ESCALATIONS = [
    ("enquiries_app", "caseworker", "set local role enquiries_owner"),
    ("enquiries_app", "caseworker", "set role enquiries_audit_writer"),
    ("enquiries_app", "caseworker", "set local role enquiries_provisioner"),
    ("enquiries_app", "caseworker", "set local role enquiries_history_loader"),
    ("enquiries_app", "caseworker", "set local role enquiries_loader"),
    ("enquiries_app", "caseworker", "set local role postgres"),
    ("enquiries_app", "caseworker", "select set_config('role', 'enquiries_owner', true)"),
    ("enquiries_app", "caseworker", "select set_config('role', 'enquiries_audit_writer', false)"),
    ("enquiries_app", "caseworker", "set session authorization postgres"),
    ("enquiries_app", "caseworker", "set local session authorization enquiries_owner"),
    ("enquiries_app", "caseworker", "select set_config('session_authorization', 'postgres', true)"),
    ("enquiries_app", "auditor", "set local role enquiries_owner"),
    ("enquiries_app", "retention_officer", "select set_config('role', 'enquiries_provisioner', true)"),
    ("enquiries_loader", "provisioner", "set local role enquiries_owner"),
    ("enquiries_loader", "provisioner", "set local role enquiries_audit_writer"),
    ("enquiries_loader", "provisioner", "select set_config('role', 'postgres', true)"),
    ("enquiries_loader", "provisioner", "set session authorization enquiries_owner"),
    ("enquiries_loader", "provisioner", "set local role enquiries_app"),
]


@pytest.mark.parametrize("login,role,statement", ESCALATIONS, ids=[f"{l}-{r}-{s}" for l, r, s in ESCALATIONS])
def test_escalating_the_role_from_inside_an_app_transaction_is_refused(shared, login, role, statement):
    actor = Actor(shared.a.tenant_id, uuid.uuid4(), "provisioner") if role == "provisioner" else shared.a.actor(role)
    with shared.connect(login) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, actor) as cur:
                cur.execute(statement)
        assert conn.execute("select current_user::text, session_user::text").fetchone() == (login, login)


def test_switching_to_a_sibling_staff_role_cannot_write_as_it(shared):
    """The application login may SET ROLE to any staff role, so a caseworker's session can become a
    supervisor or an auditor and read as one (the login is the boundary, docs/threat-model.md), but a
    write is verified against the acting user's own role: EL002, nothing written."""
    before = written(shared)
    caseworker = shared.a.actor("caseworker")
    with shared.connect() as conn:
        with act_as(conn, caseworker) as cur:
            cur.execute("set local role enquiries_auditor")
            assert {r[0] for r in cur.execute("select tenant_id from audit.entries")} == {shared.a.tenant_id}
        for role, statement, params in [
            ("enquiries_supervisor", "insert into tenant.legal_holds (enquiry_id, reason) values (%s, 'sibling')",
             [shared.a.enquiry_id]),
            ("enquiries_supervisor", "update tenant.enquiries set deleted_at = now(), version = version + 1 where enquiry_id = %s",
             [shared.a.enquiry_id]),
            ("enquiries_supervisor", "update tenant.escalations set decision = 'rejected' where escalation_id = %s",
             [shared.a.escalation_id]),
        ]:
            with pytest.raises(psycopg.Error) as err:
                with act_as(conn, caseworker) as cur:
                    cur.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                    cur.execute(statement, params)
            assert err.value.sqlstate in ("EL002", "EL105"), (statement, err.value)
    assert written(shared) == before


# -- hostile acting-user values -------------------------------------------------------------------

def hostile_actor_cases(w) -> list[tuple[str, str]]:
    return ([("", "EL001")] + [(v, "22P02") for v in HOSTILE]
            + [(str(uuid.uuid4()), "EL002"),                         # a well-formed id of nobody
               (str(w.b.actor("caseworker").staff_id), "EL002"),     # another department's caseworker
               (str(w.a.actor("auditor").staff_id), "EL002")])       # a staff member of A in another role


WRITES = {
    "insert": ("insert into tenant.contacts (full_name) values ('Hostile')", []),
    "update": ("update tenant.enquiries set subject = 'Hostile', version = version + 1 where enquiry_id = %s", ["a.enquiry"]),
    "note": ("insert into tenant.notes (enquiry_id, direction, body) values (%s, 'internal', 'Hostile')", ["a.enquiry"]),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_hostile_actor_ids_are_refused_and_write_nothing(shared, write):
    statement, params = WRITES[write]
    params = [shared.a.enquiry_id if p == "a.enquiry" else p for p in params]
    before = written(shared)
    outcomes = []
    with shared.connect() as conn:
        for value, expected in hostile_actor_cases(shared):
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("set local role enquiries_caseworker; set local enquiries.tenant_id = {}; "
                                         "set local enquiries.actor_id = {}")
                                 .format(sql.Literal(str(shared.a.tenant_id)), sql.Literal(value)))
                    conn.execute(statement, params)
                outcomes.append((value[:40], expected, "written"))
            except psycopg.Error as err:
                outcomes.append((value[:40], expected, err.sqlstate))
    assert [o for o in outcomes if o[1] != o[2]] == []
    assert written(shared) == before


@pytest.mark.parametrize("value", HOSTILE + [""])
def test_the_python_api_refuses_hostile_actor_ids(value):
    with pytest.raises(LabError, match="staff_id must be a UUID"):
        Actor(uuid.uuid4(), value, "caseworker")


# -- grants ----------------------------------------------------------------------------------------

def privileges(w) -> list[tuple]:
    with su(w) as conn:
        return conn.execute(
            """select grantee, table_schema, table_name, privilege_type from information_schema.table_privileges
               where table_schema in ('tenant', 'audit', 'app', 'core') order by 1, 2, 3, 4""").fetchall()


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_roles_cannot_grant_truncate_references_or_anything(shared, role):
    """GRANT by a role without the grant option grants nothing: a warning (01007) when it holds some
    privilege on the table, 42501 when it holds none; role membership and attributes need more."""
    before = privileges(shared)
    notices: list[str] = []
    attempts = [(f"grant {p} on tenant.enquiries to {target}", ("01007", "42501"))
                for p in ("truncate", "references", "delete", "trigger", "all") for target in ("public", f"enquiries_{role}")]
    attempts += [
        ("grant truncate, references on audit.entries to public", ("01007", "42501")),
        ("grant enquiries_owner to enquiries_app", ("42501",)),
        (f"grant enquiries_supervisor to enquiries_{role}", ("42501",)),
        (f"alter role enquiries_{role} bypassrls", ("42501",)),
        ("alter table tenant.enquiries no force row level security", ("42501",)),
    ]
    with shared.connect() as conn:
        conn.add_notice_handler(lambda d: notices.append(d.sqlstate))
        for statement, allowed in attempts:
            notices.clear()
            try:
                with act_as(conn, shared.a.actor(role)) as cur:
                    cur.execute(statement)
                outcome = notices[0] if notices else "no error"
            except psycopg.Error as err:
                outcome = err.sqlstate
            assert outcome in allowed, (statement, outcome)
    assert privileges(shared) == before
    with su(shared) as conn:
        assert conn.execute("select rolbypassrls from pg_roles where rolname = %s", [f"enquiries_{role}"]).fetchone() == (False,)


# -- the trust boundary, stated as a test -----------------------------------------------------------

def test_the_app_login_is_the_boundary_a_forged_context_can_read_staff_ids_and_write_as_them(world):
    """What the database trusts the application for (docs/threat-model.md): with direct SQL on the
    enquiries_app login, a caller can set department B, read B's staff list, and then write as one
    of B's caseworkers. The write is audited under that person with login_role = enquiries_app.
    This test documents the boundary; it flips when a verified-context mode lands."""
    intruder = world.a.actor("caseworker")
    with world.connect() as conn:
        with act_as(conn, Actor(world.b.tenant_id, intruder.staff_id, "caseworker")) as cur:
            victim_id = cur.execute(
                "select staff_id from tenant.staff where staff_role = 'caseworker' and active order by email limit 1"
            ).fetchone()[0]
        with act_as(conn, Actor(world.b.tenant_id, victim_id, "caseworker")) as cur:
            contact = cur.execute("insert into tenant.contacts (full_name) values ('Impostor') returning contact_id").fetchone()[0]
    with su(world) as conn:
        entry = conn.execute(
            "select tenant_id, actor_id, db_role::text, login_role::text from audit.entries where record_id = %s",
            [contact]).fetchone()
    assert entry == (world.b.tenant_id, victim_id, "enquiries_caseworker", "enquiries_app")


def test_only_the_bare_login_sees_and_signals_other_sessions_of_the_shared_login(shared):
    """All application sessions share one login, so the bare login sees the query text of the others
    and may cancel or terminate them (a denial of service, docs/threat-model.md); a staff role may
    not."""
    with shared.connect() as victim, shared.connect() as attacker:
        victim.execute("select 'victim marker'")
        pid = victim.info.backend_pid
        assert attacker.execute("select query from pg_stat_activity where pid = %s", [pid]).fetchone() == ("select 'victim marker'",)
        with act_as(attacker, shared.a.actor("caseworker")) as cur:
            assert cur.execute("select query from pg_stat_activity where pid = %s", [pid]).fetchone() == ("<insufficient privilege>",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(attacker, shared.a.actor("supervisor")) as cur:
                cur.execute("select pg_terminate_backend(%s)", [pid])
        assert victim.execute("select 1").fetchone() == (1,)
        assert attacker.execute("select pg_terminate_backend(%s, 5000)", [pid]).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError):
            victim.execute("select 1")
