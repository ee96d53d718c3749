"""Retention (sql/010, app.disposal_candidates in sql/011): seven years after closure a
retention officer anonymises an enquiry, its notes and (once nothing of theirs is live) the
citizen's contact in place; never earlier, never under a legal hold, never by anyone else,
and a disposed row is frozen.

History is created by the loader login with business time, each record's changes in time
order (business time never goes backwards for a record, EL401).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from world import load_world

from enquiries_lab import casework
from enquiries_lab.errors import DatabaseError
from enquiries_lab.session import act_as

REFUSALS = (DatabaseError, psycopg.Error)
DISPOSED = "[disposed]"
YEAR = timedelta(days=365)




# -- history ----------------------------------------------------------------------------------------
@dataclass
class Case:
    enquiry_id: uuid.UUID
    contact_id: uuid.UUID
    version: int
    closed_at: datetime | None
    note_ids: list[uuid.UUID] = field(default_factory=list)


CONTACT = dict(full_name="Jane Citizen", email="jane@example.com", phone="020 7946 0000",
               address_line1="1 High Street", town="London", postcode="SW1A 1AA")


def history(w, dept, closed_ago: timedelta | None, *, contact_id=None, status: str = "closed",
            notes: int = 2, **contact) -> Case:
    """An enquiry received (closed_ago + 10 days) ago and worked to `status` through legal
    transitions by the loader with business time, one day per step; closed `closed_ago` ago
    give or take a few days (exactly: the returned closed_at). Uses a contact of its own
    unless `contact_id` is given."""
    cw = dept.actor("caseworker")
    start = datetime.now(timezone.utc) - (closed_ago if closed_ago is not None else YEAR) - timedelta(days=10)
    day = iter(start + timedelta(days=i) for i in range(100))
    with psycopg.connect(w.loader_dsn, autocommit=True) as loader:
        with act_as(loader, cw, business_time=next(day)) as cur:
            if contact_id is None:
                contact_id = casework.create_contact(cur, **{**CONTACT, **contact})
            enquiry = casework.create_enquiry(cur, reference=f"RT-{uuid.uuid4().hex[:10].upper()}", contact_id=contact_id,
                                              enquiry_type="general", channel="letter", subject="My benefit claim",
                                              body="I live at 1 High Street and my NI number is QQ123456C.")
        v = 1
        steps = {"withdrawn": ["withdrawn"], "in_progress": ["assigned", "in_progress"],
                 "closed": ["assigned", "in_progress", "resolved", "closed"]}[status]
        note_ids = []
        for step in steps:
            with act_as(loader, cw, business_time=next(day)) as cur:
                v = casework.transition(cur, enquiry, step, version=v,
                                        assign_to=cw.staff_id if step == "assigned" else None)
                if step == "in_progress":
                    note_ids = [casework.add_note(cur, enquiry, f"Spoke to Jane, note {i}") for i in range(notes)]
    with psycopg.connect(w.dsn) as su:
        closed_at, = su.execute("select closed_at from tenant.enquiries where enquiry_id = %s", [enquiry]).fetchone()
    return Case(enquiry, contact_id, v, closed_at, note_ids)


def row(su, table: str, key: str, value) -> dict:
    cur = su.execute(f"select * from tenant.{table} where {key} = %s", [value])
    r = cur.fetchone()
    assert r is not None, (table, value)
    return dict(zip([d.name for d in cur.description], r))


def snapshot(su, case: Case) -> tuple:
    return (row(su, "enquiries", "enquiry_id", case.enquiry_id), row(su, "contacts", "contact_id", case.contact_id),
            [row(su, "notes", "note_id", n) for n in case.note_ids])


def audit_count(su) -> int:
    return su.execute("select count(*) from audit.entries").fetchone()[0]


def refuse(conn, actor, action, sqlstate: str, su, *cases: Case):
    """`action(cur)` as `actor` fails with `sqlstate`; the cases' rows and the audit trail are unchanged."""
    before = [snapshot(su, c) for c in cases], audit_count(su)
    with pytest.raises(REFUSALS) as e:
        with act_as(conn, actor) as cur:
            action(cur)
    assert e.value.sqlstate == sqlstate, f"expected {sqlstate}, got {e.value.sqlstate}: {e.value}"
    assert ([snapshot(su, c) for c in cases], audit_count(su)) == before, "a refused change wrote something"
    return e.value


def dispose(conn, actor, enquiry_id) -> datetime:
    with act_as(conn, actor) as cur:
        casework.dispose_enquiry(cur, enquiry_id)
        return cur.execute("select now()").fetchone()[0]


@pytest.mark.req("REQ-AUD-4")
def test_history_is_backdated(w, su):
    case = history(w, w.a, 8 * YEAR)
    e = row(su, "enquiries", "enquiry_id", case.enquiry_id)
    now = datetime.now(timezone.utc)
    assert e["status"] == "closed" and now - 8 * YEAR - timedelta(days=7) < e["closed_at"] < now - 8 * YEAR
    assert e["received_at"] == e["created_at"] < e["closed_at"] == e["updated_at"]
    entries = su.execute("select bool_and(backdated), min(occurred_at), max(occurred_at), count(*) from audit.entries "
                         "where record_id = %s", [case.enquiry_id]).fetchone()
    assert entries[0] is True and entries[1] == e["created_at"] and entries[2] == e["closed_at"]
    assert entries[3] == 5  # insert + 4 transitions
    # none of it landed in the default partition: the monthly partitions cover the history
    assert su.execute("select count(*) from audit.entries_default").fetchone()[0] == 0


# -- disposal ---------------------------------------------------------------------------------------
@pytest.mark.req("REQ-RET-2")
def test_disposal_anonymises_enquiry_notes_and_contact_in_place(w, su, conn):
    a = w.a
    ro = a.actor("retention_officer")
    case = history(w, a, 8 * YEAR)
    enquiry0, contact0, notes0 = snapshot(su, case)
    mark = su.execute("select coalesce(max(entry_id), 0) from audit.entries").fetchone()[0]
    now = dispose(conn, ro, case.enquiry_id)
    enquiry, contact, notes = snapshot(su, case)

    assert (enquiry["subject"], enquiry["body"]) == (DISPOSED, DISPOSED)
    assert (enquiry["disposed_at"], enquiry["disposed_by"], enquiry["version"]) == (now, ro.staff_id, case.version + 1)
    assert (enquiry["updated_at"], enquiry["updated_by"]) == (now, ro.staff_id)
    unchanged = set(enquiry0) - {"subject", "body", "disposed_at", "disposed_by", "version", "updated_at", "updated_by"}
    assert {k: enquiry[k] for k in unchanged} == {k: enquiry0[k] for k in unchanged}

    assert len(notes) == 2
    for note, note0 in zip(notes, notes0):
        assert (note["body"], note["disposed_at"], note["disposed_by"]) == (DISPOSED, now, ro.staff_id)
        assert (note["direction"], note["created_at"]) == (note0["direction"], note0["created_at"])

    assert contact["full_name"] == DISPOSED
    assert [contact[k] for k in ("email", "phone", "address_line1", "address_line2", "town")] == [None] * 5
    assert contact["postcode"] == "SW1A"
    assert (contact["disposed_at"], contact["disposed_by"]) == (now, ro.staff_id)

    entries = su.execute("select record_id, table_name, action, actor_id, db_role, occurred_at from audit.entries "
                         "where entry_id > %s order by entry_id", [mark]).fetchall()
    expected = {(case.enquiry_id, "tenant.enquiries"), (case.contact_id, "tenant.contacts")} | {
        (n, "tenant.notes") for n in case.note_ids}
    assert {(r, t) for r, t, *_ in entries} == expected and len(entries) == len(expected)
    assert {(action, actor, role, at) for _, _, action, actor, role, at in entries} == {
        ("dispose", ro.staff_id, "enquiries_retention_officer", now)}


@pytest.mark.req("REQ-RET-2")
def test_a_withdrawn_enquiry_is_disposable_too(w, su, conn):
    a = w.a
    case = history(w, a, 8 * YEAR, status="withdrawn", notes=0)
    assert row(su, "enquiries", "enquiry_id", case.enquiry_id)["closed_at"] is not None
    dispose(conn, a.actor("retention_officer"), case.enquiry_id)
    assert row(su, "enquiries", "enquiry_id", case.enquiry_id)["subject"] == DISPOSED


@pytest.mark.parametrize("postcode, district", [
    ("SW1A 1AA", "SW1A"),
    ("M1 1AE", "M1"),
    ("SW1A1AA", "SW1A"),
    ("sw1a 1aa", "SW1A"),
    (None, None),
])
@pytest.mark.req("REQ-RET-2")
def test_disposal_keeps_only_the_postcode_district(w, su, conn, postcode, district):
    a = w.a
    case = history(w, a, 8 * YEAR, notes=0, postcode=postcode)
    dispose(conn, a.actor("retention_officer"), case.enquiry_id)
    contact = row(su, "contacts", "contact_id", case.contact_id)
    assert contact["full_name"] == DISPOSED and contact["disposed_at"] is not None
    assert contact["postcode"] == district


@pytest.mark.req("REQ-RET-2")
def test_contact_is_disposed_once_none_of_their_enquiries_is_live(w, su, conn):
    a = w.a
    ro = a.actor("retention_officer")
    first = history(w, a, 8 * YEAR, notes=0)
    second = history(w, a, 8 * YEAR + 30 * timedelta(days=1), contact_id=first.contact_id, notes=0)
    # the contact of a live enquiry cannot be disposed of directly either
    refuse(conn, ro, lambda cur: cur.execute("update tenant.contacts set disposed_at = now() where contact_id = %s",
                                             [first.contact_id]), "EL300", su, first)
    dispose(conn, ro, first.enquiry_id)
    contact = row(su, "contacts", "contact_id", first.contact_id)
    assert (contact["full_name"], contact["disposed_at"]) == (CONTACT["full_name"], None)
    now = dispose(conn, ro, second.enquiry_id)
    contact = row(su, "contacts", "contact_id", first.contact_id)
    assert (contact["full_name"], contact["email"], contact["disposed_at"]) == (DISPOSED, None, now)


@pytest.mark.req("REQ-RET-1")
def test_enquiry_within_retention_cannot_be_disposed(w, su, conn):
    a = w.a
    ro = a.actor("retention_officer")
    recent = history(w, a, 6 * YEAR)
    refuse(conn, ro, lambda cur: casework.dispose_enquiry(cur, recent.enquiry_id), "EL300", su, recent)
    # directly, and its notes before it
    refuse(conn, ro, lambda cur: cur.execute(
        "update tenant.enquiries set disposed_at = now(), version = %s where enquiry_id = %s",
        [recent.version + 1, recent.enquiry_id]), "EL300", su, recent)
    refuse(conn, ro, lambda cur: cur.execute("update tenant.notes set disposed_at = now() where note_id = %s",
                                             [recent.note_ids[0]]), "EL300", su, recent)
    assert row(su, "enquiries", "enquiry_id", recent.enquiry_id)["subject"] != DISPOSED


@pytest.mark.req("REQ-RET-1")
def test_open_enquiry_cannot_be_disposed(w, su, conn):
    a = w.a
    case = history(w, a, 9 * YEAR - timedelta(days=60), status="in_progress")  # received over 8 years ago, never closed
    assert case.closed_at is None
    refuse(conn, a.actor("retention_officer"), lambda cur: casework.dispose_enquiry(cur, case.enquiry_id),
           "EL300", su, case)


@pytest.mark.req("REQ-RET-1")
def test_legal_hold_blocks_disposal_until_released(w, su, conn):
    a = w.a
    ro, sup = a.actor("retention_officer"), a.actor("supervisor")
    case = history(w, a, 8 * YEAR)
    with act_as(conn, sup) as cur:
        hold = casework.place_legal_hold(cur, case.enquiry_id, "Tribunal proceedings")
    refuse(conn, ro, lambda cur: casework.dispose_enquiry(cur, case.enquiry_id), "EL301", su, case)
    # a second hold, placed by the retention officer: both must be released
    with act_as(conn, ro) as cur:
        second = casework.place_legal_hold(cur, case.enquiry_id, "Information Commissioner inquiry")
    with act_as(conn, sup) as cur:
        casework.release_legal_hold(cur, hold)
    refuse(conn, ro, lambda cur: casework.dispose_enquiry(cur, case.enquiry_id), "EL301", su, case)
    with act_as(conn, ro) as cur:
        casework.release_legal_hold(cur, second)
    dispose(conn, ro, case.enquiry_id)
    assert row(su, "enquiries", "enquiry_id", case.enquiry_id)["subject"] == DISPOSED
    holds = su.execute("select released_by from tenant.legal_holds where enquiry_id = %s order by placed_at",
                       [case.enquiry_id]).fetchall()
    assert holds == [(sup.staff_id,), (ro.staff_id,)]


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "auditor"])
@pytest.mark.req("REQ-RET-2")
def test_only_a_retention_officer_disposes(w, su, conn, role):
    a = w.a
    actor = a.actor(role)
    case = history(w, a, 8 * YEAR)
    # the disposal function is executable by the retention officer only
    refuse(conn, actor, lambda cur: casework.dispose_enquiry(cur, case.enquiry_id), "42501", su, case)
    # the UPDATE it makes: refused by the retention trigger (EL303), or, for the auditor,
    # who has no UPDATE privilege at all, before it (42501)
    expected = "42501" if role == "auditor" else "EL303"
    refuse(conn, actor, lambda cur: cur.execute(
        "update tenant.enquiries set disposed_at = now(), version = %s where enquiry_id = %s",
        [case.version + 1, case.enquiry_id]), expected, su, case)
    refuse(conn, actor, lambda cur: cur.execute("update tenant.contacts set disposed_at = now() where contact_id = %s",
                                                [case.contact_id]), expected, su, case)


@pytest.mark.parametrize("change", [
    ("enquiries", "subject = 'edited', version = version + 1"),
    ("enquiries", "priority = 'urgent', version = version + 1"),
    ("enquiries", "version = version + 1"),
    ("notes", "body = 'edited'"),
    ("contacts", "email = 'new@example.com'"),
    ("contacts", "full_name = '[disposed]'"),
])
@pytest.mark.req("REQ-RET-2")
def test_retention_officer_can_do_nothing_but_dispose(w, su, conn, change):
    a = w.a
    table, assignments = change
    case = history(w, a, 8 * YEAR)
    key, value = {"enquiries": ("enquiry_id", case.enquiry_id), "notes": ("note_id", case.note_ids[0]),
                  "contacts": ("contact_id", case.contact_id)}[table]
    refuse(conn, a.actor("retention_officer"), lambda cur: cur.execute(
        f"update tenant.{table} set {assignments} where {key} = %s", [value]), "EL303", su, case)


@pytest.mark.parametrize("extra", ["reference = 'RT-REWRITTEN'", "priority = 'urgent'", "channel = 'phone'"])
@pytest.mark.req("REQ-RET-2")
def test_a_disposal_cannot_change_anything_else(w, su, conn, extra):
    a = w.a
    case = history(w, a, 8 * YEAR, notes=0)
    refuse(conn, a.actor("retention_officer"), lambda cur: cur.execute(
        f"update tenant.enquiries set disposed_at = now(), version = version + 1, {extra} where enquiry_id = %s",
        [case.enquiry_id]), "EL303", su, case)


@pytest.mark.req("REQ-RET-2")
def test_a_direct_disposal_update_is_complete(w, su, conn):
    a = w.a
    case = history(w, a, 8 * YEAR)
    with act_as(conn, a.actor("retention_officer")) as cur:
        cur.execute("update tenant.enquiries set disposed_at = now(), version = %s where enquiry_id = %s",
                    [case.version + 1, case.enquiry_id])
    enquiry, contact, notes = snapshot(su, case)
    assert (enquiry["subject"], enquiry["body"]) == (DISPOSED, DISPOSED) and enquiry["disposed_at"] is not None
    assert [n["body"] for n in notes] == [DISPOSED] * len(notes)
    assert (contact["full_name"], contact["email"]) == (DISPOSED, None)


@pytest.mark.req("REQ-RET-2")
def test_a_disposed_record_is_frozen(w, su, conn):
    a = w.a
    ro, sup, cw = a.actor("retention_officer"), a.actor("supervisor"), a.actor("caseworker")
    case = history(w, a, 8 * YEAR)
    dispose(conn, ro, case.enquiry_id)
    v = case.version + 1
    attempts = [
        (sup, f"update tenant.enquiries set status = 'reopened', version = {v + 1} where enquiry_id = %s", case.enquiry_id),
        (sup, f"update tenant.enquiries set subject = 'restored', version = {v + 1} where enquiry_id = %s", case.enquiry_id),
        (cw, f"update tenant.enquiries set priority = 'low', version = {v + 1} where enquiry_id = %s", case.enquiry_id),
        (ro, f"update tenant.enquiries set disposed_at = now(), version = {v + 1} where enquiry_id = %s", case.enquiry_id),
        (cw, "update tenant.notes set body = 'restored' where note_id = %s", case.note_ids[0]),
        (ro, "update tenant.notes set disposed_at = now() where note_id = %s", case.note_ids[0]),
        (sup, "update tenant.contacts set full_name = 'Jane Citizen' where contact_id = %s", case.contact_id),
        (ro, "update tenant.contacts set disposed_at = now() where contact_id = %s", case.contact_id),
    ]
    for actor, statement, key in attempts:
        refuse(conn, actor, lambda cur: cur.execute(statement, [key]), "EL302", su, case)
    # disposing of it again through the function finds nothing left to dispose of
    refuse(conn, ro, lambda cur: casework.dispose_enquiry(cur, case.enquiry_id), "EL304", su, case)


# -- candidates -------------------------------------------------------------------------------------
def candidates(conn, actor) -> set[uuid.UUID]:
    with act_as(conn, actor) as cur:
        return {e for e, in cur.execute("select enquiry_id from app.disposal_candidates")}


@pytest.mark.req("REQ-RET-3")
def test_disposal_candidates_lists_exactly_the_eligible_enquiries(world):
    a, b = world.a, world.b
    ro = a.actor("retention_officer")
    old = history(world, a, 8 * YEAR, notes=0)
    withdrawn = history(world, a, 8 * YEAR, status="withdrawn", notes=0)
    held = history(world, a, 8 * YEAR, notes=0)
    recent = history(world, a, 6 * YEAR, notes=0)
    never_closed = history(world, a, 9 * YEAR - timedelta(days=60), status="in_progress", notes=0)
    other_department = history(world, b, 8 * YEAR, notes=0)
    with world.connect() as conn:
        with act_as(conn, a.actor("supervisor")) as cur:
            hold = casework.place_legal_hold(cur, held.enquiry_id, "Litigation")
        # the world's own enquiry (open, held), recent and never-closed ones are not candidates
        for actor in (ro, a.actor("supervisor"), a.actor("auditor")):
            assert candidates(conn, actor) == {old.enquiry_id, withdrawn.enquiry_id}, actor.role
        assert candidates(conn, b.actor("retention_officer")) == {other_department.enquiry_id}
        with act_as(conn, ro) as cur:
            assert cur.execute("select bool_and(disposable_from = closed_at + interval '7 years' "
                               "and disposable_from <= now()) from app.disposal_candidates").fetchone()[0] is True
        # the caseworker may not read it
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            candidates(conn, a.actor("caseworker"))

        with act_as(conn, ro) as cur:
            casework.release_legal_hold(cur, hold)
        assert candidates(conn, ro) == {old.enquiry_id, withdrawn.enquiry_id, held.enquiry_id}
        dispose(conn, ro, old.enquiry_id)
        assert candidates(conn, ro) == {withdrawn.enquiry_id, held.enquiry_id}
        # every candidate is disposable now; nothing else is
        for case in (withdrawn, held):
            dispose(conn, ro, case.enquiry_id)
        assert candidates(conn, ro) == set()
        for case in (recent, never_closed):
            with pytest.raises(DatabaseError) as e:
                dispose(conn, ro, case.enquiry_id)
            assert e.value.sqlstate == "EL300"


@pytest.mark.req("REQ-RET-2")
def test_nothing_can_be_added_to_a_disposed_enquiry(w, su, conn):
    a = w.a
    case = history(w, a, 8 * YEAR, notes=0)
    dispose(conn, a.actor("retention_officer"), case.enquiry_id)
    with pytest.raises(psycopg.Error) as err:
        with act_as(conn, a.actor("caseworker")) as cur:
            cur.execute("insert into tenant.notes (enquiry_id, direction, body) values (%s, 'inbound', 'new personal data')",
                        [case.enquiry_id])
    assert err.value.sqlstate == "EL302"
    assert su.execute("select count(*) from tenant.notes where enquiry_id = %s", [case.enquiry_id]).fetchone()[0] == 0


@pytest.mark.req("REQ-PERF-2")
def test_a_disposal_reads_the_rows_of_the_enquiry_it_disposes_of_not_the_departments(world):
    """The cascade of a disposal (a statement trigger) joins the disposed enquiries to the
    notes, escalations, legal holds and contacts of the department. PL/pgSQL kept the plan made
    at a backend's first disposal, on tiny tables; it read every escalation of the department
    for each disposal. sql/079 plans each write of the cascade when it runs."""
    from plans import explained, rows_read

    a = world.a
    ro = a.actor("retention_officer")
    first, second = history(world, a, 8 * YEAR), history(world, a, 8 * YEAR)
    grown = 20000
    with psycopg.connect(world.dsn, autocommit=True) as conn, psycopg.connect(world.dsn, autocommit=True) as su:
        for table in ("notes", "escalations", "legal_holds", "contacts", "enquiries"):
            su.execute(f"alter table tenant.{table} set (autovacuum_enabled = off)")   # no analyze replans midway
        log = explained(conn, analyze=True)
        dispose(conn, ro, first.enquiry_id)          # the backend's first disposal: a handful of rows
        assert row(su, "notes", "note_id", first.note_ids[0])["body"] == DISPOSED
        with su.transaction():                       # the department grows (copies of its rows, triggers off)
            su.execute("set local session_replication_role = replica")
            for table, key, column, value in (("notes", "note_id", "enquiry_id", a.enquiry_id),
                                              ("escalations", "escalation_id", "escalation_id", a.escalation_id),
                                              ("legal_holds", "legal_hold_id", "legal_hold_id", a.legal_hold_id),
                                              ("contacts", "contact_id", "contact_id", a.contact_id),
                                              ("enquiries", "enquiry_id", "enquiry_id", a.enquiry_id)):
                su.execute(f"insert into tenant.{table} select (jsonb_populate_record(null::tenant.{table}, "
                           f"to_jsonb(x) || jsonb_build_object('{key}', gen_random_uuid(), 'reference', 'G-' || i))).* "
                           f"from tenant.{table} x, generate_series(1, %s) i where x.{column} = %s", [grown, value])
        log.clear()
        dispose(conn, ro, second.enquiry_id)
        cascade = log.plans("new_rows")
        assert row(su, "notes", "note_id", second.note_ids[0])["body"] == DISPOSED
        assert row(su, "contacts", "contact_id", second.contact_id)["full_name"] == DISPOSED
    read = {table: rows_read(cascade, table) for table in ("notes", "escalations", "legal_holds", "contacts")}
    assert all(read.values()), read
    assert all(rows <= 10 for scans in read.values() for *_, rows in scans), read
