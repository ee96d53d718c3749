"""Time-ordered keys (sql/005): every key the database or the generator makes leads with the
time it was made, so recent records sit together at the right of every index keyed by them."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from test_workflow import new_enquiry

from enquiries_lab.generator.lifecycle import UNIX_EPOCH, new_uuid, time_ordered_uuid

pytestmark = pytest.mark.req("REQ-GEN-4")

TIME_ORDERED = "core.time_ordered_uuid(at => %s, random_bits => %s)"


def ms_of(key: uuid.UUID) -> int:
    return key.int >> 80


def ms(at: datetime) -> int:
    return (at - UNIX_EPOCH) // timedelta(milliseconds=1)


@pytest.mark.parametrize("random_bits, expected", [
    ("00000000-0000-0000-0000-000000000000", "01a2174c-357b-7000-8000-000000000000"),
    ("ffffffff-ffff-ffff-ffff-ffffffffffff", "01a2174c-357b-7fff-bfff-ffffffffffff"),
    ("0123abcd-4567-4abc-9def-0123456789ab", "01a2174c-357b-7abc-9def-0123456789ab"),
])
def test_a_key_is_the_time_in_unix_milliseconds_then_the_random_bits_marked_version_7(lab_db, random_bits, expected):
    at = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=timezone.utc)   # 0x01a2174c357b ms: the .456 is dropped
    with psycopg.connect(lab_db) as conn:
        key = conn.execute(f"select {TIME_ORDERED}", [at, random_bits]).fetchone()[0]
    assert str(key) == expected
    assert key.version == 7 and key.variant == uuid.RFC_4122


def test_later_keys_sort_after_earlier_ones(lab_db):
    start = datetime(2019, 1, 1, tzinfo=timezone.utc)
    times = [start + timedelta(milliseconds=n * 997) for n in range(200)]
    with psycopg.connect(lab_db) as conn:
        keys = [conn.execute(f"select {TIME_ORDERED}", [at, uuid.uuid4()]).fetchone()[0] for at in times]
        ordered = conn.execute("select array_agg(k order by k) from unnest(%s::uuid[]) k", [keys]).fetchone()[0]
    assert ordered == keys   # the database's uuid order is the order of the times


def test_the_generator_makes_the_same_key_as_the_database_from_the_same_time_and_bits(lab_db):
    draws = random.Random(7)
    with psycopg.connect(lab_db) as conn:
        for n in range(300):
            at = datetime(2018, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=draws.randrange(10**15))
            bits = random.Random(n).getrandbits(128)
            database = conn.execute(f"select {TIME_ORDERED}", [at, uuid.UUID(int=bits)]).fetchone()[0]
            assert new_uuid(random.Random(n), at) == database, at


def test_every_generated_key_column_of_a_tenant_table_defaults_to_a_time_ordered_key(lab_db):
    with psycopg.connect(lab_db) as conn:
        defaults = conn.execute("""
            select c.relname || '.' || a.attname, pg_get_expr(d.adbin, d.adrelid)
            from pg_attrdef d join pg_class c on c.oid = d.adrelid join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
            where n.nspname = 'tenant' and a.atttypid = 'uuid'::regtype and a.attname <> 'tenant_id'""").fetchall()
    assert len(defaults) == 9, defaults
    assert {expr for _, expr in defaults} == {"core.time_ordered_uuid(clock_timestamp(), gen_random_uuid())"}, defaults


def test_a_row_written_without_a_key_gets_one_of_the_moment_it_was_written(world):
    a = world.a
    with world.connect() as conn:
        before = conn.execute("select clock_timestamp()").fetchone()[0]
        enquiry = new_enquiry(conn, a.actor("caseworker"), a.contact_id)
        after = conn.execute("select clock_timestamp()").fetchone()[0]
    assert enquiry.version == 7
    assert ms(before) <= ms_of(enquiry) <= ms(after)


def test_an_assignment_id_leads_with_its_business_time_and_still_derives_from_the_enquiry_and_version(world):
    with psycopg.connect(world.dsn) as su:
        # the enquiry's version that changed the assignee, from its audit entry
        rows = su.execute("""
            select a.assignment_id, a.assigned_at, a.enquiry_id, (x.row_data ->> 'version')::int
            from tenant.assignments a
            join audit.entries x on x.tenant_id = a.tenant_id and x.record_id = a.enquiry_id
                                and x.table_name = 'tenant.enquiries' and x.occurred_at = a.assigned_at
                                and 'assigned_to' = any(x.changed_columns)""").fetchall()
        assignments = su.execute("select count(*) from tenant.assignments").fetchone()[0]
    assert rows and len(rows) == assignments, "every assignment has its enquiry's audit entry"
    for assignment_id, assigned_at, enquiry_id, version in rows:
        assert assignment_id.version == 7
        assert ms_of(assignment_id) == ms(assigned_at)
        # the rest is md5(enquiry:version) of the version that assigned it
        assert assignment_id == time_ordered_uuid(assigned_at, int(hashlib.md5(f"{enquiry_id}:{version}".encode()).hexdigest(), 16))
