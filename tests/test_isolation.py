"""Department isolation, enforced by the database: every role x every tenant table x every command.

Each test attacks: it tries the cross-department thing as a real application login
(enquiries_app / enquiries_loader, SET ROLE through act_as) and asserts the SQLSTATE and
that nothing was written.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from world import OPERATOR, STAFF_ROLES, TENANT_TABLES

from enquiries_lab.session import Actor, act_as

LAB_ROLES = ["enquiries_caseworker", "enquiries_supervisor", "enquiries_auditor", "enquiries_retention_officer",
             "enquiries_provisioner", "enquiries_history_loader", "enquiries_audit_writer", "enquiries_owner",
             "enquiries_app", "enquiries_loader"]
ROLES = STAFF_ROLES + ["provisioner"]
PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]


def actor_for(dept, role: str) -> Actor:
    return Actor(dept.tenant_id, OPERATOR, "provisioner") if role == "provisioner" else dept.actor(role)


def login_for(role: str) -> str:
    return "enquiries_loader" if role == "provisioner" else "enquiries_app"


def matrix(dsn: str) -> set[tuple[str, str, str]]:
    with psycopg.connect(dsn) as conn:
        return set(conn.execute("select table_name, db_role, privilege from core.table_privileges").fetchall())


def table_count(dsn: str, table: str, tenant_id: uuid.UUID | None = None) -> int:
    with psycopg.connect(dsn) as conn:
        if tenant_id is None:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]
        return conn.execute(f"select count(*) from {table} where tenant_id = %s", [tenant_id]).fetchone()[0]


@pytest.mark.req("REQ-ISO-1")
def test_granted_privileges_are_exactly_the_access_matrix(world):
    allowed = matrix(world.dsn)
    tables = [f"tenant.{t}" for t in TENANT_TABLES] + ["audit.entries"]
    wrong = []
    with psycopg.connect(world.dsn) as conn:
        for table in tables:
            for role in LAB_ROLES:
                if role == "enquiries_owner":
                    continue  # the owner holds everything implicitly; its limits are tested in test_audit
                for priv in PRIVILEGES:
                    has = conn.execute("select has_table_privilege(%s, %s, %s)", [role, table, priv]).fetchone()[0]
                    if has != ((table, role, priv) in allowed):
                        wrong.append((table, role, priv, has))
    assert wrong == []


@pytest.mark.req("REQ-ISO-2")
def test_no_lab_role_is_or_can_become_superuser_or_bypassrls(world):
    with psycopg.connect(world.dsn) as conn:
        rows = conn.execute(
            """
            select r.rolname, s.rolname
            from pg_roles r join pg_roles s on pg_has_role(r.oid, s.oid, 'MEMBER')
            where r.rolname like 'enquiries\\_%' and (s.rolsuper or s.rolbypassrls)
            """
        ).fetchall()
    assert rows == []


@pytest.mark.req("REQ-ISO-1")
def test_no_lab_role_holds_delete_truncate_or_references_anywhere(world):
    with psycopg.connect(world.dsn) as conn:
        rows = conn.execute(
            """
            select grantee, table_schema, table_name, privilege_type
            from information_schema.table_privileges
            where grantee like 'enquiries\\_%' and grantee <> 'enquiries_owner'
              and privilege_type in ('DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')
            """
        ).fetchall()
    assert rows == []


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-ISO-3")
def test_each_role_reads_only_its_own_department(world, role, table):
    allowed = (f"tenant.{table}", f"enquiries_{role}", "SELECT") in matrix(world.dsn)
    with world.connect(login_for(role)) as conn:
        if not allowed:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, actor_for(world.a, role)) as cur:
                    cur.execute(f"select tenant_id from tenant.{table}")
            return
        for view in (f"tenant.{table}", f"app.{table}"):
            with act_as(conn, actor_for(world.a, role)) as cur:
                tenants = {r[0] for r in cur.execute(f"select tenant_id from {view}")}
            assert tenants == {world.a.tenant_id}, view


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.req("REQ-ISO-3")
def test_explicitly_asking_for_another_departments_rows_returns_none(world, role):
    with world.connect(login_for(role)) as conn:
        with act_as(conn, actor_for(world.a, role)) as cur:
            table = "tenant.staff" if role != "provisioner" else "tenant.teams"
            n = cur.execute(f"select count(*) from {table} where tenant_id = %s", [world.b.tenant_id]).fetchone()[0]
    assert n == 0


# One valid-looking row per table, pointing at department `d`'s rows.
def insert_sql(table: str, d) -> tuple[str, list]:
    new = uuid.uuid4()
    return {
        "departments": ("insert into tenant.departments (tenant_id, code, name) values (%s, 'ZZZ', 'Z')", [d.tenant_id]),
        "department_enquiry_types": ("insert into tenant.department_enquiry_types (tenant_id, enquiry_type, sla_days) values (%s, 'appeal', 5)", [d.tenant_id]),
        "teams": ("insert into tenant.teams (tenant_id, name) values (%s, 'Other')", [d.tenant_id]),
        "staff": ("insert into tenant.staff (tenant_id, staff_role, full_name, email) values (%s, 'caseworker', 'X', 'x@example.gov.uk')", [d.tenant_id]),
        "contacts": ("insert into tenant.contacts (tenant_id, full_name) values (%s, 'X')", [d.tenant_id]),
        "enquiries": ("insert into tenant.enquiries (tenant_id, reference, contact_id, enquiry_type, channel, subject, body, status) "
                      "values (%s, %s, %s, 'general', 'email', 's', 'b', 'new')", [d.tenant_id, f"X-{new.hex[:8].upper()}", d.contact_id]),
        "notes": ("insert into tenant.notes (tenant_id, enquiry_id, direction, body) values (%s, %s, 'internal', 'n')", [d.tenant_id, d.enquiry_id]),
        "assignments": ("insert into tenant.assignments (tenant_id, enquiry_id, to_staff_id, assigned_at, assigned_by) "
                        "values (%s, %s, %s, now(), %s)", [d.tenant_id, d.enquiry_id, d.caseworker2.staff_id, d.caseworker2.staff_id]),
        "escalations": ("insert into tenant.escalations (tenant_id, enquiry_id, reason) values (%s, %s, 'r')", [d.tenant_id, d.enquiry_id]),
        "legal_holds": ("insert into tenant.legal_holds (tenant_id, enquiry_id, reason) values (%s, %s, 'r')", [d.tenant_id, d.enquiry_id]),
    }[table]


def inserters(world) -> list[tuple[str, str]]:
    return sorted((t.split(".")[1], r.removeprefix("enquiries_")) for t, r, p in matrix(world.dsn)
                  if p == "INSERT" and t.startswith("tenant.") and r.removeprefix("enquiries_") in ROLES)


@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-ISO-4")
def test_inserting_into_another_department_is_refused_for_every_role_that_may_insert(world, table):
    pairs = [(t, r) for t, r in inserters(world) if t == table]
    assert pairs or table in ("assignments",), f"no role may insert into {table}?"
    for _, role in pairs:
        before = table_count(world.dsn, f"tenant.{table}")
        statement, params = insert_sql(table, world.b)
        with world.connect(login_for(role)) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, actor_for(world.a, role)) as cur:
                    cur.execute(statement, params)
        assert table_count(world.dsn, f"tenant.{table}") == before, (table, role)


def updaters(world) -> list[tuple[str, str]]:
    return sorted((t.split(".")[1], r.removeprefix("enquiries_")) for t, r, p in matrix(world.dsn)
                  if p == "UPDATE" and t.startswith("tenant.") and r.removeprefix("enquiries_") in ROLES)


@pytest.mark.req("REQ-ISO-4")
def test_updating_another_departments_rows_changes_nothing(world):
    for table, role in updaters(world):
        with psycopg.connect(world.dsn) as conn:
            before = conn.execute(f"select to_jsonb(t) from tenant.{table} t where tenant_id = %s order by 1::text",
                                  [world.b.tenant_id]).fetchall()
        with world.connect(login_for(role)) as conn:
            with act_as(conn, actor_for(world.a, role)) as cur:
                cur.execute(f"update tenant.{table} set tenant_id = tenant_id where tenant_id = %s", [world.b.tenant_id])
                assert cur.rowcount == 0, (table, role)
        with psycopg.connect(world.dsn) as conn:
            after = conn.execute(f"select to_jsonb(t) from tenant.{table} t where tenant_id = %s order by 1::text",
                                 [world.b.tenant_id]).fetchall()
        assert after == before, (table, role)


@pytest.mark.req("REQ-ISO-4")
def test_moving_a_row_to_another_department_is_refused_for_every_role_that_may_update(world):
    for table, role in updaters(world):
        with world.connect(login_for(role)) as conn:
            with pytest.raises(psycopg.Error) as err:
                with act_as(conn, actor_for(world.a, role)) as cur:
                    cur.execute(f"update tenant.{table} set tenant_id = %s", [world.b.tenant_id])
                    assert cur.rowcount > 0, f"{role} sees no rows of {table} to move"
        assert err.value.sqlstate == "EL204", (table, role, err.value)
    assert table_count(world.dsn, "tenant.enquiries", world.a.tenant_id) == 1


@pytest.mark.parametrize("table", ["enquiries", "notes", "escalations", "legal_holds"])
@pytest.mark.req("REQ-ISO-5")
def test_referencing_another_departments_row_fails_as_not_found(world, table):
    """Composite foreign keys: a reference to B's row from A is 'not present', exactly like a random id."""
    role = "supervisor"
    statement, params = insert_sql(table, world.a)
    foreign = world.b.contact_id if table == "enquiries" else world.b.enquiry_id
    local = world.a.contact_id if table == "enquiries" else world.a.enquiry_id
    for target in (foreign, uuid.uuid4()):
        before = table_count(world.dsn, f"tenant.{table}")
        with world.connect() as conn:
            with pytest.raises(psycopg.errors.ForeignKeyViolation) as err:
                with act_as(conn, actor_for(world.a, role)) as cur:
                    cur.execute(statement, [target if p == local else p for p in params])
        assert err.value.sqlstate == "23503"
        assert table_count(world.dsn, f"tenant.{table}") == before


@pytest.mark.parametrize("table", ["notes", "assignments", "escalations", "legal_holds"])
@pytest.mark.req("REQ-ISO-5")
def test_a_row_cannot_name_a_department_that_does_not_exist(world, table):
    """sql/005 dropped these tables' own tenant_id -> departments keys: the composite key to the
    enquiry refuses a department that does not exist, even for a superuser (no RLS, no grants
    in the way) acting in that department's context."""
    ghost = uuid.uuid4()
    statement, params = insert_sql(table, world.a)
    params = [ghost if p == world.a.tenant_id else p for p in params]
    before = table_count(world.dsn, f"tenant.{table}")
    with psycopg.connect(world.dsn) as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as err:
            with conn.transaction():
                conn.execute("select set_config('enquiries.tenant_id', %s, true), set_config('enquiries.actor_id', %s, true)",
                             [str(ghost), str(world.a.actor("supervisor").staff_id)])
                conn.execute(statement, params)
    assert err.value.sqlstate == "23503" and "enquiry_id" in str(err.value), err.value
    assert table_count(world.dsn, f"tenant.{table}") == before


@pytest.mark.req("REQ-ISO-5")
def test_every_tenant_table_reaches_the_departments_through_its_foreign_keys(world):
    """Each tenant table either references tenant.departments by tenant_id or has a foreign key
    that includes tenant_id to a table that does (sql/005 relies on it): no row can belong to
    a department that does not exist."""
    with psycopg.connect(world.dsn) as conn:
        edges = conn.execute("""
            select c.conrelid::regclass::text, c.confrelid::regclass::text
            from pg_constraint c
            where c.contype = 'f' and c.conrelid::regclass::text like 'tenant.%'
              and (select a.attnum from pg_attribute a where a.attrelid = c.conrelid and a.attname = 'tenant_id') = any (c.conkey)
        """).fetchall()
    reaches = {"tenant.departments"}
    while True:
        more = {child for child, parent in edges if parent in reaches} - reaches
        if not more:
            break
        reaches |= more
    assert {f"tenant.{t}" for t in TENANT_TABLES} - reaches == set()


@pytest.mark.req("REQ-ISO-5")
def test_unique_keys_are_per_department_so_values_cannot_be_probed(world):
    """A may use B's enquiry reference: uniqueness never reveals another department's data."""
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:
            cur.execute(
                "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status) "
                "values ('BBB-000001', %s, 'general', 'email', 's', 'b', 'new')", [world.a.contact_id])
    assert table_count(world.dsn, "tenant.enquiries") == 3
