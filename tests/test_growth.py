"""`generate` grows a generated dataset (issue 21): more enquiries, or a later end, without
`reset` (enquiries_lab/generator/growth.py, docs/generator.md "Growing a dataset").

One chain of runs, A -> B (more enquiries) -> C (a later end), made twice in fresh databases:
the same commands give the same digest; each growth leaves the rows before it as they were,
but for the workflow continuing open enquiries past the old end; every row, old and new, is
the fold of its audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Iterator

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from psycopg import sql
from test_generator import assert_replay_rebuilds_every_row, digest_of, generate_into, key_column

from enquiries_lab.errors import LabError
from enquiries_lab.generator import Params

A = Params(enquiries=400, departments=3, seed=5, batch_size=100)
B = replace(A, enquiries=550)                                           # more enquiries
C = replace(B, end=datetime(2026, 10, 31, tzinfo=timezone.utc))        # and four months on (before the wall clock: EL402)


@dataclass
class Grown:
    dsn: str
    rows: dict[str, dict]    # after A, after B, after C: table -> {key: row as json}
    entries: dict[str, set]  # audit entries (business fields) after each step


def snapshot(dsn: str) -> tuple[dict, set]:
    """Every row of the tables growth touches, by key, and every audit entry's business fields."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set timezone = 'UTC'")
        tables = {}
        for table in ("enquiries", "contacts", "notes", "escalations", "assignments", "legal_holds", "staff"):
            key = sql.Identifier(key_column(conn, table))
            tables[table] = dict(conn.execute(sql.SQL("select t.{}::text, to_jsonb(t)::text from tenant.{} t").format(
                key, sql.Identifier(table))).fetchall())
        entries = {tuple(r) for r in conn.execute(
            "select table_name, record_id::text, occurred_at, action, actor_id::text, row_data::text from audit.entries")}
    return tables, entries


def grow(admin_dsn: str, template: str) -> Iterator[Grown]:
    name = _new_name("grow")
    dsn = create_db(admin_dsn, name, template=template)
    rows, entries = {}, {}
    try:
        for label, params in (("A", A), ("B", B), ("C", C)):
            generate_into(dsn, params)
            rows[label], entries[label] = snapshot(dsn)
            rows[label]["digest"] = digest_of(dsn)
        yield Grown(dsn, rows, entries)
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture(scope="module")
def grown(admin_dsn: str, migrated_template: str) -> Iterator[Grown]:
    yield from grow(admin_dsn, migrated_template)


def test_the_same_growth_commands_give_the_same_digests(admin_dsn, migrated_template, grown):
    again = next(gen := grow(admin_dsn, migrated_template))
    try:
        assert [again.rows[x]["digest"] for x in "ABC"] == [grown.rows[x]["digest"] for x in "ABC"]
        assert len({grown.rows[x]["digest"] for x in "ABC"}) == 3
    finally:
        gen.close()


def test_more_enquiries_adds_rows_and_leaves_every_earlier_row_and_entry_as_it_was(grown):
    before, after = grown.rows["A"], grown.rows["B"]
    for table, rows in before.items():
        if table == "digest":
            continue
        assert {k: after[table].get(k) for k in rows} == rows, table
    assert len(after["enquiries"]) == len(before["enquiries"]) + B.enquiries - A.enquiries
    assert after["staff"] == before["staff"]   # the departments and staff are the base run's
    assert grown.entries["A"] <= grown.entries["B"]


def test_a_later_end_continues_open_enquiries_and_changes_nothing_else(grown):
    before, after = grown.rows["B"], grown.rows["C"]
    # nothing before growth is lost or rewritten: every audit entry is still there
    assert grown.entries["B"] <= grown.entries["C"]
    new_entries = grown.entries["C"] - grown.entries["B"]
    assert new_entries and all(at > B.end for _, _, at, *_ in new_entries)
    assert all(at <= C.end for _, _, at, *_ in new_entries)
    with psycopg.connect(grown.dsn) as conn:
        # enquiries open at the old end that moved on, and new arrivals after it
        moved, arrived = conn.execute(
            """select count(distinct record_id) filter (where action = 'update'),
                      count(*) filter (where action = 'insert')
               from audit.entries where table_name = 'tenant.enquiries' and occurred_at > %s""", [B.end]).fetchone()
    assert moved > 0 and arrived == 0, (moved, arrived)   # a later end adds no enquiries by itself
    changed = [k for k, row in before["enquiries"].items() if after["enquiries"][k] != row]
    continued = {r for t, r, *_ in new_entries if t == "tenant.enquiries"}
    assert changed and set(changed) <= continued


def test_every_row_after_growth_is_the_fold_of_its_audit_entries(grown):
    assert_replay_rebuilds_every_row(grown.dsn)


@pytest.mark.parametrize("other, named", [
    (dict(seed=6), "--seed 5 there, 6 here"),
    (dict(departments=2), "--departments 3 there, 2 here"),
    (dict(enquiries=500), "--enquiries 550 there, 500 here"),
    (dict(end=datetime(2026, 9, 30, tzinfo=timezone.utc)), "--end 2026-10-31 00:00:00+00:00 there, 2026-09-30"),
])
def test_parameters_that_cannot_grow_are_refused_naming_what_differs_and_write_nothing(grown, other, named):
    before = digest_of(grown.dsn)
    with pytest.raises(LabError) as refused:
        generate_into(grown.dsn, replace(C, **other))
    assert named in str(refused.value) and "\n" not in str(refused.value), str(refused.value)
    assert digest_of(grown.dsn) == before
