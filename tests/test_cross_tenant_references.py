"""audit.cross_tenant_references() (check 0006) finds every kind of reference out of a
department, each planted here past the guards that normally prevent it (a superuser with the
triggers and foreign keys switched off), and nothing in a healthy database.

Since 073 it finds them with anti-joins on (tenant_id, key) and looks up only the misses by
key, so that a distributed engine can run it (tests/test_citus_cluster.py); these tests hold
its answers to what 014's correlated form reported.
"""

from __future__ import annotations

import uuid

import psycopg
from tampering import bypassing_triggers


def references(dsn: str) -> set[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return set(conn.execute(
            """select table_name, tenant_id, record_id, column_name, referenced_table, referenced_id, referenced_tenant_id
               from audit.cross_tenant_references()""").fetchall())


def test_a_healthy_world_has_no_cross_tenant_reference(world):
    assert references(world.dsn) == set()


def test_a_note_on_another_departments_enquiry_names_that_department(world):
    a, b = world.a, world.b
    with bypassing_triggers(world.dsn) as conn:
        note = conn.execute("update tenant.notes set enquiry_id = %s where tenant_id = %s returning note_id",
                            [b.enquiry_id, a.tenant_id]).fetchone()[0]
    assert references(world.dsn) == {
        ("tenant.notes", a.tenant_id, note, "enquiry_id", "tenant.enquiries", str(b.enquiry_id), b.tenant_id)}


def test_a_note_on_an_enquiry_that_exists_nowhere_is_dangling(world):
    a, ghost = world.a, uuid.uuid4()
    with bypassing_triggers(world.dsn) as conn:
        note = conn.execute("update tenant.notes set enquiry_id = %s where tenant_id = %s returning note_id",
                            [ghost, a.tenant_id]).fetchone()[0]
    assert references(world.dsn) == {
        ("tenant.notes", a.tenant_id, note, "enquiry_id", "tenant.enquiries", str(ghost), None)}


def test_a_stamp_naming_another_departments_staff_is_reported_and_one_naming_no_staff_is_not(world):
    a, b = world.a, world.b
    outsider = b.actor("supervisor").staff_id
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update tenant.enquiries set updated_by = %s where enquiry_id = %s", [outsider, a.enquiry_id])
        conn.execute("update tenant.contacts set updated_by = %s where tenant_id = %s", [uuid.uuid4(), a.tenant_id])
    assert references(world.dsn) == {
        ("tenant.enquiries", a.tenant_id, a.enquiry_id, "updated_by", "tenant.staff", str(outsider), b.tenant_id)}


def test_an_entry_whose_actor_or_record_is_another_departments_is_reported(world):
    a, b = world.a, world.b
    outsider = b.actor("caseworker").staff_id
    with bypassing_triggers(world.dsn) as conn:
        first, second = [r[0] for r in conn.execute(
            """select entry_id from audit.entries where tenant_id = %s and table_name = 'tenant.notes'
               union all
               select min(entry_id) from audit.entries where tenant_id = %s and table_name = 'tenant.enquiries'""",
            [a.tenant_id, a.tenant_id]).fetchall()][:2]
        note = conn.execute("update audit.entries set actor_id = %s where entry_id = %s returning record_id",
                            [outsider, first]).fetchone()[0]
        conn.execute("update audit.entries set record_id = %s where entry_id = %s", [b.enquiry_id, second])
    assert references(world.dsn) == {
        ("audit.entries", a.tenant_id, note, "actor_id", "tenant.staff", str(outsider), b.tenant_id),
        ("audit.entries", a.tenant_id, b.enquiry_id, "record_id", "tenant.enquiries", str(b.enquiry_id), b.tenant_id)}
