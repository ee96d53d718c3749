"""No row is ever physically removed (sql/007), soft delete is stamped and audited, and the
app.* views (sql/011) hide soft-deleted rows under the caller's own RLS.

Refusals assert the exact SQLSTATE and that nothing changed (row counts of every tenant
table and of audit.entries, read as superuser).
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from psycopg import sql
from world import OPERATOR, STAFF_ROLES, TENANT_TABLES, load_world

from enquiries_lab import casework
from enquiries_lab.errors import DatabaseError
from enquiries_lab.session import Actor, act_as

REFUSALS = (DatabaseError, psycopg.Error)



def counts(su) -> dict[str, int]:
    """Rows per tenant table, and audit entries, as the superuser sees them (no RLS)."""
    result = {t: su.execute(sql.SQL("select count(*) from tenant.{}").format(sql.Identifier(t))).fetchone()[0]
              for t in TENANT_TABLES}
    result["audit.entries"] = su.execute("select count(*) from audit.entries").fetchone()[0]
    return result


def row_of(su, table: str, key: str, value) -> dict:
    cur = su.execute(sql.SQL("select * from tenant.{} where {} = %s").format(sql.Identifier(table), sql.Identifier(key)),
                     [value])
    row = cur.fetchone()
    assert row is not None, (table, value)
    return dict(zip([d.name for d in cur.description], row))


def refuse(conn, actor, statement, sqlstate: str, su, params=()):
    before = counts(su)
    with pytest.raises(REFUSALS) as e:
        with act_as(conn, actor) as cur:
            if callable(statement):
                statement(cur)
            else:
                cur.execute(statement, params)
    assert e.value.sqlstate == sqlstate, f"expected {sqlstate}, got {e.value.sqlstate}: {e.value}"
    assert counts(su) == before, "a refused statement changed something"
    return e.value


def actors(w) -> list[tuple[str, Actor]]:
    """(login, actor) for every staff role of department A, and the provisioner."""
    a = w.a
    return [("enquiries_app", a.actor(role)) for role in STAFF_ROLES] + [
        ("enquiries_loader", Actor(a.tenant_id, OPERATOR, "provisioner"))]


# -- physical deletion ------------------------------------------------------------------------------
@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-DEL-1")
def test_delete_is_refused_for_every_role(w, su, table):
    stmt = sql.SQL("delete from tenant.{}").format(sql.Identifier(table))
    for login, actor in actors(w):
        with w.connect(login) as conn:
            refuse(conn, actor, stmt, "42501", su)
            refuse(conn, actor, sql.SQL("delete from tenant.{} where tenant_id = %s").format(sql.Identifier(table)),
                   "42501", su, [actor.tenant_id])


@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-DEL-1")
def test_truncate_is_refused_for_every_role(w, su, table):
    for login, actor in actors(w):
        with w.connect(login) as conn:
            for suffix in ("", " cascade"):
                refuse(conn, actor, sql.SQL("truncate tenant.{}" + suffix).format(sql.Identifier(table)), "42501", su)


def superuser_refuses(w, su, statement, sqlstate: str, *, role: str | None = None):
    """As the superuser (optionally SET ROLE `role`) with department A's context set."""
    before = counts(su)
    with psycopg.connect(w.dsn) as conn:  # the superuser, in a transaction of its own
        with pytest.raises(psycopg.Error) as e:
            with conn.transaction():
                if role:
                    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("set local enquiries.tenant_id = {}").format(sql.Literal(str(w.a.tenant_id))))
                conn.execute(sql.SQL("set local enquiries.actor_id = {}").format(sql.Literal(str(OPERATOR))))
                conn.execute(statement)
    assert e.value.sqlstate == sqlstate, f"expected {sqlstate}, got {e.value.sqlstate}: {e.value}"
    assert counts(su) == before


@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-DEL-1")
def test_delete_is_refused_by_trigger_for_the_superuser(w, su, table):
    superuser_refuses(w, su, sql.SQL("delete from tenant.{}").format(sql.Identifier(table)), "EL200")
    superuser_refuses(w, su, sql.SQL("delete from tenant.{} where tenant_id = {}").format(
        sql.Identifier(table), sql.Literal(str(w.b.tenant_id))), "EL200")


def referenced_tables(su) -> set[str]:
    return {t for t, in su.execute(
        "select distinct c.relname from pg_constraint k join pg_class c on c.oid = k.confrelid "
        "join pg_namespace n on n.oid = c.relnamespace where k.contype = 'f' and n.nspname = 'tenant'")}


@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-DEL-1")
def test_truncate_is_refused_by_trigger_for_the_superuser(w, su, table):
    # TRUNCATE checks foreign keys before it fires BEFORE TRUNCATE triggers: a table that
    # others reference is refused with 0A000 by plain TRUNCATE, and with EL200 by the
    # trigger once CASCADE takes the referencing tables along.
    plain = "0A000" if table in referenced_tables(su) else "EL200"
    superuser_refuses(w, su, sql.SQL("truncate tenant.{}").format(sql.Identifier(table)), plain)
    superuser_refuses(w, su, sql.SQL("truncate tenant.{} cascade").format(sql.Identifier(table)), "EL200")


@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-DEL-1")
def test_owner_cannot_remove_rows(w, su, table):
    # The owner holds DELETE and TRUNCATE on its tables. RLS is forced and no policy admits
    # the owner, so its DELETE sees no row (nothing for the trigger to refuse, nothing
    # removed); TRUNCATE is not subject to RLS and is refused by the trigger.
    before = counts(su)
    with psycopg.connect(w.dsn) as conn, conn.transaction():
        conn.execute("set local role enquiries_owner")
        conn.execute(sql.SQL("set local enquiries.tenant_id = {}").format(sql.Literal(str(w.a.tenant_id))))
        conn.execute(sql.SQL("set local enquiries.actor_id = {}").format(sql.Literal(str(OPERATOR))))
        assert conn.execute(sql.SQL("delete from tenant.{}").format(sql.Identifier(table))).rowcount == 0
    assert counts(su) == before
    superuser_refuses(w, su, sql.SQL("truncate tenant.{} cascade").format(sql.Identifier(table)), "EL200",
                      role="enquiries_owner")


# -- soft delete ----------------------------------------------------------------------------------
def audit_entries(su, record_id, since: int = 0) -> list[dict]:
    cur = su.execute("select * from audit.entries where record_id = %s and entry_id > %s order by occurred_at, entry_id",
                     [record_id, since])
    return [dict(zip([d.name for d in cur.description], r)) for r in cur.fetchall()]


def max_entry(su) -> int:
    return su.execute("select coalesce(max(entry_id), 0) from audit.entries").fetchone()[0]


def fresh_enquiry(conn, dept) -> tuple[uuid.UUID, int]:
    cw = dept.actor("caseworker")
    with act_as(conn, cw) as cur:
        enquiry = casework.create_enquiry(cur, reference=f"SD-{uuid.uuid4().hex[:8].upper()}", contact_id=dept.contact_id,
                                          enquiry_type="general", channel="email", subject="s", body="b")
        v = casework.transition(cur, enquiry, "assigned", version=1, assign_to=cw.staff_id)
    return enquiry, v


def visible_in(conn, actor, relation: str, key: str, value) -> bool:
    with act_as(conn, actor) as cur:
        return cur.execute(sql.SQL("select count(*) from {} where {} = %s").format(
            sql.SQL(relation), sql.Identifier(key)), [value]).fetchone()[0] == 1


@pytest.mark.req("REQ-DEL-2")
def test_supervisor_soft_deletes_and_restores_an_enquiry(w, su):
    a = w.a
    sup, cw = a.actor("supervisor"), a.actor("caseworker")
    with w.connect() as conn:
        enquiry, v = fresh_enquiry(conn, a)
        mark = max_entry(su)
        with act_as(conn, sup) as cur:
            assert casework.soft_delete_enquiry(cur, enquiry, version=v) == v + 1
            now, = cur.execute("select now()").fetchone()
        v += 1
        row = row_of(su, "enquiries", "enquiry_id", enquiry)
        assert (row["deleted_at"], row["deleted_by"], row["version"]) == (now, sup.staff_id, v)
        for actor in (sup, cw, a.actor("auditor")):
            assert not visible_in(conn, actor, "app.enquiries", "enquiry_id", enquiry)
            assert visible_in(conn, actor, "tenant.enquiries", "enquiry_id", enquiry)
        entries = audit_entries(su, enquiry, mark)
        assert [(e["action"], e["actor_id"], e["db_role"]) for e in entries] == [
            ("soft_delete", sup.staff_id, "enquiries_supervisor")]
        assert entries[0]["row_data"]["deleted_by"] == str(sup.staff_id)

        # restore: deleted_at cleared (deleted_by with it), version + 1, audited as 'restore'
        mark = max_entry(su)
        with act_as(conn, sup) as cur:
            cur.execute("update tenant.enquiries set deleted_at = null, version = %s where enquiry_id = %s",
                        [v + 1, enquiry])
        v += 1
        row = row_of(su, "enquiries", "enquiry_id", enquiry)
        assert (row["deleted_at"], row["deleted_by"], row["version"]) == (None, None, v)
        assert visible_in(conn, cw, "app.enquiries", "enquiry_id", enquiry)
        assert [e["action"] for e in audit_entries(su, enquiry, mark)] == ["restore"]

        # deleted_at/deleted_by are the database's: values the client supplies are ignored
        mark = max_entry(su)
        with act_as(conn, sup) as cur:
            cur.execute("update tenant.enquiries set deleted_at = '2001-01-01', deleted_by = %s, version = %s "
                        "where enquiry_id = %s", [cw.staff_id, v + 1, enquiry])
            now, = cur.execute("select now()").fetchone()
        row = row_of(su, "enquiries", "enquiry_id", enquiry)
        assert (row["deleted_at"], row["deleted_by"]) == (now, sup.staff_id)
        assert [e["action"] for e in audit_entries(su, enquiry, mark)] == ["soft_delete"]


@pytest.mark.parametrize("role", ["caseworker", "retention_officer"])
@pytest.mark.req("REQ-DEL-2")
def test_roles_without_soft_delete_privilege_cannot_soft_delete_an_enquiry(w, su, role):
    a = w.a
    with w.connect() as conn:
        enquiry, v = fresh_enquiry(conn, a)
        before = row_of(su, "enquiries", "enquiry_id", enquiry)
        refuse(conn, a.actor(role), lambda cur: casework.soft_delete_enquiry(cur, enquiry, version=v), "EL203", su)
    assert row_of(su, "enquiries", "enquiry_id", enquiry) == before


@pytest.mark.req("REQ-DEL-2")
def test_auditor_cannot_soft_delete(w, su):
    a = w.a
    with w.connect() as conn:
        enquiry, v = fresh_enquiry(conn, a)
        refuse(conn, a.actor("auditor"), lambda cur: casework.soft_delete_enquiry(cur, enquiry, version=v), "42501", su)
        refuse(conn, a.actor("auditor"), "update tenant.notes set deleted_at = now() where enquiry_id = %s", "42501", su,
               [a.enquiry_id])


@pytest.mark.req("REQ-DEL-2")
def test_caseworker_may_soft_delete_a_note(w, su):
    a = w.a
    cw = a.actor("caseworker")
    with w.connect() as conn:
        enquiry, _ = fresh_enquiry(conn, a)
        with act_as(conn, cw) as cur:
            note = casework.add_note(cur, enquiry, "typo")
        mark = max_entry(su)
        with act_as(conn, cw) as cur:
            cur.execute("update tenant.notes set deleted_at = now(), deleted_by = %s where note_id = %s",
                        [a.actor("supervisor").staff_id, note])
            now, = cur.execute("select now()").fetchone()
        row = row_of(su, "notes", "note_id", note)
        assert (row["deleted_at"], row["deleted_by"]) == (now, cw.staff_id)
        assert not visible_in(conn, cw, "app.notes", "note_id", note)
        assert visible_in(conn, cw, "tenant.notes", "note_id", note)
        assert [e["action"] for e in audit_entries(su, note, mark)] == ["soft_delete"]


@pytest.mark.parametrize("table, key", [("notes", "note_id"), ("contacts", "contact_id"), ("enquiries", "enquiry_id")])
@pytest.mark.req("REQ-DEL-2")
def test_rows_are_created_live(w, su, table, key):
    # deleted_at on INSERT is refused before any privilege lookup
    a = w.a
    inserts = {
        "notes": ("insert into tenant.notes (enquiry_id, direction, body, deleted_at) values (%s, 'internal', 'x', now())",
                  [a.enquiry_id]),
        "contacts": ("insert into tenant.contacts (full_name, deleted_at) values ('x', now())", []),
        "enquiries": ("insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status, "
                      "deleted_at) values ('SD-DEAD', %s, 'general', 'email', 's', 'b', 'new', now())", [a.contact_id]),
    }
    statement, params = inserts[table]
    with w.connect() as conn:
        refuse(conn, a.actor("supervisor"), statement, "EL203", su, params)


# -- the app views --------------------------------------------------------------------------------
@pytest.mark.req("REQ-ISO-6")
def test_every_app_view_is_security_invoker(su):
    views = su.execute(
        "select c.relname, coalesce(c.reloptions, '{}') from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'app' and c.relkind = 'v' order by 1").fetchall()
    names = {v for v, _ in views}
    assert set(TENANT_TABLES) <= names and "disposal_candidates" in names
    for name, options in views:
        assert "security_invoker=true" in options, (name, options)
    # and app holds nothing else that could run as its owner
    assert su.execute("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                      "where n.nspname = 'app' and c.relkind <> 'v'").fetchone()[0] == 0


def keys_of(su, table: str) -> str:
    key, = su.execute(
        "select a.attname from pg_constraint k cross join lateral unnest(k.conkey) as col(attnum) "
        "join pg_attribute a on a.attrelid = k.conrelid and a.attnum = col.attnum "
        "where k.conrelid = %s::regclass and k.contype = 'p' and a.attname <> 'tenant_id'", [f"tenant.{table}"]).fetchone() \
        or ("tenant_id",)
    return key


@pytest.fixture(scope="module")
def soft_deleted(admin_dsn, world_template):
    """A world copy where one department-A row of every tenant table is soft-deleted.

    By hand (superuser, triggers off for the one statement): most tables have no role with
    SOFT_DELETE at all (departments, assignments, escalations, legal holds). What the tests
    using this check is the views; the soft delete itself is tested above.
    """
    name = _new_name("sdv")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        world = load_world(dsn)
        targets = {}
        with psycopg.connect(dsn, autocommit=True) as su:
            for table in TENANT_TABLES:
                key = keys_of(su, table)
                target, = su.execute(sql.SQL("select {} from tenant.{} where tenant_id = %s limit 1").format(
                    sql.Identifier(key), sql.Identifier(table)), [world.a.tenant_id]).fetchone()
                with su.transaction():
                    su.execute("set local session_replication_role = replica")
                    su.execute(sql.SQL("update tenant.{} set deleted_at = now(), deleted_by = %s where {} = %s").format(
                        sql.Identifier(table), sql.Identifier(key)), [OPERATOR, target])
                targets[table] = (key, target)
        yield world, targets
    finally:
        drop_db(admin_dsn, name)


@pytest.mark.parametrize("table", TENANT_TABLES)
@pytest.mark.req("REQ-DEL-2")
def test_app_view_hides_soft_deleted_rows(soft_deleted, table):
    world, targets = soft_deleted
    a = world.a
    key, target = targets[table]
    with psycopg.connect(world.dsn, autocommit=True) as su:
        live = {r for r, in su.execute(sql.SQL("select {} from tenant.{} where tenant_id = %s and deleted_at is null")
                                        .format(sql.Identifier(key), sql.Identifier(table)), [a.tenant_id])}
    with world.connect() as conn:
        for role in STAFF_ROLES:
            with act_as(conn, a.actor(role)) as cur:
                shown = {r for r, in cur.execute(sql.SQL("select {} from app.{}").format(
                    sql.Identifier(key), sql.Identifier(table)))}
                base = {r for r, in cur.execute(sql.SQL("select {} from tenant.{}").format(
                    sql.Identifier(key), sql.Identifier(table)))}
            assert target not in shown and target in base, role
            assert shown == live == base - {target}, role
