"""Tenant context: set per transaction in one place, gone afterwards, fail-closed when unset
or malformed, and the queries it filters keep using the tenant_id indexes."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from psycopg import sql
from world import TENANT_TABLES

from enquiries_lab.errors import LabError
from enquiries_lab.session import Actor, act_as

HOSTILE_TENANT_IDS = [
    "not-a-uuid",
    "'; drop table tenant.enquiries; --",
    "x" * 100_000,
    "ünïcödé-😀",
    "00000000-0000-0000-0000-00000000000",   # one digit short
    " 00000000-0000-4000-8000-000000000001 OR true",
]


def count_as_role(conn: psycopg.Connection, role: str, table: str, settings: dict[str, str]) -> int:
    with conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        for name, value in settings.items():
            # SET LOCAL: no lab role may call set_config (sql/036)
            conn.execute(sql.SQL("set local {} = {}").format(sql.Identifier(*name.split(".")), sql.Literal(value)))
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


@pytest.mark.parametrize("table", [f"tenant.{t}" for t in TENANT_TABLES] + ["app.enquiries", "audit.entries"])
@pytest.mark.req("REQ-CTX-1")
def test_unset_context_shows_no_rows(world, table):
    role = "enquiries_auditor"  # reads every table, the audit trail included
    with world.connect() as conn:
        assert count_as_role(conn, role, table, {}) == 0
        assert count_as_role(conn, role, table, {"enquiries.tenant_id": ""}) == 0


@pytest.mark.parametrize("statement", [
    "insert into tenant.contacts (tenant_id, full_name) values (%s, 'X')",
    "update tenant.contacts set full_name = 'X' where tenant_id = %s",
])
@pytest.mark.req("REQ-CTX-1")
def test_unset_context_rejects_every_write(world, statement):
    with world.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            with conn.transaction():
                conn.execute("set local role enquiries_caseworker")
                conn.execute(statement, [world.a.tenant_id])
        assert err.value.sqlstate == "EL001"
    with psycopg.connect(world.dsn) as conn:
        assert conn.execute("select count(*) from tenant.contacts where full_name = 'X'").fetchone()[0] == 0


@pytest.mark.req("REQ-CTX-1")
def test_a_write_without_an_acting_user_is_rejected(world):
    with world.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            with conn.transaction():
                conn.execute("set local role enquiries_caseworker")
                conn.execute(sql.SQL("set local enquiries.tenant_id = {}").format(sql.Literal(str(world.a.tenant_id))))
                conn.execute("insert into tenant.contacts (full_name) values ('No Actor')")
    assert err.value.sqlstate == "EL001"


@pytest.mark.parametrize("value", HOSTILE_TENANT_IDS)
@pytest.mark.req("REQ-CTX-2")
def test_malformed_tenant_id_is_an_error_never_rows(world, value):
    with world.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            count_as_role(conn, "enquiries_auditor", "tenant.enquiries", {"enquiries.tenant_id": value})
    assert err.value.sqlstate == "22P02"


@pytest.mark.parametrize("value", HOSTILE_TENANT_IDS)
@pytest.mark.req("REQ-CTX-2")
def test_the_python_api_refuses_malformed_ids_before_reaching_the_database(value):
    with pytest.raises(LabError, match="tenant_id must be a UUID"):
        Actor(value, uuid.uuid4(), "caseworker")


@pytest.mark.req("REQ-CTX-2")
def test_unknown_role_is_refused_by_the_api():
    with pytest.raises(LabError, match="unknown role"):
        Actor(uuid.uuid4(), uuid.uuid4(), "superuser")


@pytest.mark.req("REQ-CTX-3")
def test_context_and_role_are_gone_after_commit_and_after_rollback(world):
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:
            assert cur.execute("select count(*) from tenant.enquiries").fetchone()[0] == 1
        after_commit = conn.execute(
            "select current_user, current_setting('enquiries.tenant_id', true), current_setting('enquiries.actor_id', true)"
        ).fetchone()
        with pytest.raises(RuntimeError):
            with act_as(conn, world.a.actor("caseworker")):
                raise RuntimeError("roll back")
        after_rollback = conn.execute(
            "select current_user, current_setting('enquiries.tenant_id', true), current_setting('enquiries.actor_id', true)"
        ).fetchone()
        # Same connection, next transaction, as a staff role but with no context: nothing.
        assert count_as_role(conn, "enquiries_caseworker", "tenant.enquiries", {}) == 0
    for user, tenant, actor in (after_commit, after_rollback):
        assert user == "enquiries_app"
        assert tenant in ("", None) and actor in ("", None)


@pytest.mark.req("REQ-CTX-3")
def test_act_as_refuses_to_run_inside_an_open_transaction(world):
    with psycopg.connect(world.app_dsn) as conn:  # not autocommit
        conn.execute("select 1")
        with pytest.raises(LabError, match="not inside a transaction"):
            with act_as(conn, world.a.actor("caseworker")):
                pass


@pytest.mark.req("REQ-CTX-4")
def test_the_application_login_alone_reads_nothing(world):
    with world.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from tenant.enquiries")


@pytest.mark.parametrize("target", ["enquiries_owner", "enquiries_audit_writer", "enquiries_provisioner", "postgres"])
@pytest.mark.req("REQ-ISO-2")
def test_the_application_login_cannot_switch_to_privileged_roles(world, target):
    with world.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(target)))


@pytest.mark.req("REQ-CTX-4")
def test_reset_role_inside_a_session_drops_all_privileges(world):
    with world.connect() as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with act_as(conn, world.a.actor("caseworker")) as cur:
                cur.execute("reset role")
                cur.execute("select count(*) from tenant.enquiries")


@pytest.mark.req("REQ-CTX-5")
def test_a_forged_department_lets_a_caller_read_but_never_write_there(world):
    """The trust boundary: reads follow the context the application sets; writes verify the actor
    is an active staff member of that department in that role (EL002)."""
    a_caseworker = world.a.actor("caseworker")
    forged = Actor(world.b.tenant_id, a_caseworker.staff_id, "caseworker")
    with world.connect() as conn:
        with act_as(conn, forged) as cur:
            assert cur.execute("select count(*) from tenant.enquiries").fetchone()[0] == 1  # trusted for reads
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, forged) as cur:
                cur.execute("insert into tenant.contacts (full_name) values ('Forged')")
    assert err.value.sqlstate == "EL002"
    with psycopg.connect(world.dsn) as conn:
        assert conn.execute("select count(*) from tenant.contacts where full_name = 'Forged'").fetchone()[0] == 0


@pytest.mark.req("REQ-CTX-5")
def test_acting_in_a_role_the_staff_member_does_not_hold_is_refused(world):
    as_supervisor = Actor(world.a.tenant_id, world.a.actor("caseworker").staff_id, "supervisor")
    with world.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, as_supervisor) as cur:
                cur.execute("insert into tenant.notes (enquiry_id, direction, body) values (%s, 'internal', 'x')",
                            [world.a.enquiry_id])
    assert err.value.sqlstate == "EL002"


def plan(conn: psycopg.Connection, actor: Actor, query: str, params: list) -> dict:
    with act_as(conn, actor) as cur:
        cur.execute("set local enable_seqscan = off")  # tiny tables: ask which index the planner *can* use
        return cur.execute("explain (format json) " + query, params).fetchone()[0][0]["Plan"]


def walk(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


@pytest.mark.parametrize("query,params", [
    ("select * from tenant.enquiries where assigned_to = %s order by received_at limit 20", "caseworker"),
    ("select status, count(*) from tenant.enquiries group by status", None),
    ("select * from tenant.enquiries where reference = 'AAA-000001'", None),
])
@pytest.mark.req("REQ-CTX-6")
def test_policy_context_is_evaluated_once_and_tenant_id_is_an_index_condition(world, query, params):
    actor = world.a.actor("caseworker")
    with world.connect() as conn:
        root = plan(conn, actor, query, [actor.staff_id] if params else [])
    nodes = list(walk(root))
    text = json.dumps(root)
    assert any(n.get("Parent Relationship") == "InitPlan" for n in nodes), text
    assert not any(n.get("Parent Relationship") == "SubPlan" for n in nodes), text
    scans = [n for n in nodes if n.get("Relation Name") == "enquiries"]
    assert scans and all("tenant_id" in n.get("Index Cond", "") for n in scans), text
