"""Audit reconstruction: timelines, as-of states, department snapshots and diffs rebuilt from
the trail alone, the replay check, and the auditors' questions, as an auditor sees them."""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import pandas as pd
import psycopg
import pytest
from tampering import world, world_copies  # noqa: F401 (fixtures: world copies made and dropped in the background)
from tampering import SIMULATION_END, auditor_of, bypassing_triggers, run_cli, scratch_database, superuser
from world import World, load_world

from enquiries_lab import audit, auditor, casework
from enquiries_lab.errors import LabError
from enquiries_lab.session import Actor, act_as

D1 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)     # created
D2 = datetime(2025, 3, 4, 10, 0, tzinfo=timezone.utc)    # assigned
D3 = datetime(2025, 3, 6, 11, 0, tzinfo=timezone.utc)    # in progress
D4 = datetime(2025, 3, 20, 12, 0, tzinfo=timezone.utc)   # awaiting citizen, with a note


@dataclass
class Timeline:
    world: World
    enquiry_id: uuid.UUID
    note_id: uuid.UUID
    reference: str


def at(conn, actor, when):
    return act_as(conn, actor, business_time=when)


@pytest.fixture(scope="module")
def timeline(admin_dsn: str, world_template: str) -> Iterator[Timeline]:
    """A copy of the world plus one enquiry of department A loaded with known business times
    (by the history loader, as a migration of old records would be)."""
    with scratch_database(admin_dsn, world_template, "tl") as dsn:
        world = load_world(dsn)
        cw = world.a.actor("caseworker")
        with world.connect("enquiries_loader") as conn:
            with at(conn, cw, D1) as cur:
                contact = casework.create_contact(cur, full_name="Timeline Citizen", postcode="LS1 4AP")
                enquiry = casework.create_enquiry(cur, reference="AAA-TL-0001", contact_id=contact, enquiry_type="complaint",
                                                  channel="letter", subject="Late reply", body="Still waiting.")
            with at(conn, cw, D2) as cur:
                v = casework.transition(cur, enquiry, "assigned", version=1, assign_to=cw.staff_id)
            with at(conn, cw, D3) as cur:
                v = casework.transition(cur, enquiry, "in_progress", version=v)
            with at(conn, cw, D4) as cur:
                casework.transition(cur, enquiry, "awaiting_citizen", version=v)
                note = casework.add_note(cur, enquiry, "Asked for the reference number.", direction="outbound", channel="email")
        yield Timeline(world, enquiry, note, "AAA-TL-0001")


@pytest.fixture(scope="module")
def generated(admin_dsn: str, small_generated_template: str) -> Iterator[str]:
    with scratch_database(admin_dsn, small_generated_template, "gen") as dsn:
        yield dsn


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps in UTC whatever the session's time zone, a fresh index: frames from the trail
    and from the live tables compare value for value."""
    out = frame.reset_index(drop=True).copy()
    for column in out.columns:
        if column.endswith("_at"):   # every timestamp column of the schema
            out[column] = pd.to_datetime(out[column], utc=True)
    return out


def live_row(dsn: str, table: str, key: str, record_id) -> dict:
    with superuser(dsn) as conn:
        return conn.execute(f"select to_jsonb(t) from tenant.{table} t where {key} = %s", [record_id]).fetchone()[0]


# -- one record ------------------------------------------------------------------------------------

def test_history_is_a_timeline_of_who_changed_what_from_what_to_what(timeline: Timeline):
    cw = timeline.world.a.actor("caseworker")
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            h = audit.history(cur, "enquiries", timeline.enquiry_id)
    assert list(h.columns) == audit.HISTORY_COLUMNS
    status = h[h["column"] == "status"]
    assert list(zip(status["occurred_at"], status["old"], status["new"])) == [
        (D1, None, "new"), (D2, "new", "assigned"), (D3, "assigned", "in_progress"), (D4, "in_progress", "awaiting_citizen")]
    assert set(status["actor_id"]) == {cw.staff_id} and set(status["actor"]) == {"caseworker AAA"}
    assert set(status["staff_role"]) == {"caseworker"} and set(status["login"]) == {"enquiries_loader"}
    assert status["backdated"].all()
    assigned = h[h["column"] == "assigned_to"]
    assert list(zip(assigned["old"], assigned["new"])) == [(None, str(cw.staff_id))]
    assert list(h["entry_id"]) == sorted(h["entry_id"])     # in order
    assert set(h[h["action"] == "insert"]["column"]) >= {"reference", "subject", "status", "due_at", "created_by"}


def test_state_as_of_rebuilds_every_past_state_and_the_present_exactly(timeline: Timeline):
    second = timedelta(seconds=1)
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            states = {when: audit.state_as_of(cur, "enquiries", timeline.enquiry_id, when)
                      for when in (D1 - second, D1, D2 - second, D2, D3 + second, D4 - second, D4)}
            on_day = audit.state_as_of(cur, "tenant.enquiries", str(timeline.enquiry_id), D3.date())   # the end of that day
            now = audit.state_as_of(cur, "enquiries", timeline.enquiry_id, datetime.now(timezone.utc))
    assert states[D1 - second] is None
    assert [states[w]["status"] for w in (D1, D2 - second, D2, D3 + second, D4 - second, D4)] == [
        "new", "new", "assigned", "in_progress", "in_progress", "awaiting_citizen"]
    assert states[D1]["assigned_to"] is None and states[D2]["assigned_to"] is not None
    assert [states[w]["version"] for w in (D1, D2, D3 + second, D4)] == [1, 2, 3, 4]
    assert on_day["status"] == "in_progress"
    assert now == live_row(timeline.world.dsn, "enquiries", "enquiry_id", timeline.enquiry_id)


def test_one_records_as_of_plans_only_the_partitions_of_its_own_life(timeline: Timeline):
    """The creation-time hint lets the planner prune every month before the record existed:
    what makes a record's state a matter of milliseconds on years of partitions."""
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            plan = "\n".join(r[0] for r in cur.execute(
                "explain " + audit.FOLD + " and e.occurred_at >= %s",
                [audit.department(cur), "tenant.enquiries", timeline.enquiry_id, D4, D1]))
    scanned = {line.split(" on ")[1].split()[0] for line in plan.splitlines() if " on entries_" in line}
    assert scanned == {"entries_2025_03"}, plan


def test_a_record_whose_creation_stamp_lies_still_rebuilds_from_the_trail(world):
    """The live created_at only hints where to look; a hint the trail contradicts is ignored."""
    with superuser(world.dsn) as conn:
        created = conn.execute("select created_at from tenant.enquiries where enquiry_id = %s", [world.a.enquiry_id]).fetchone()[0]
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("update tenant.enquiries set created_at = created_at + interval '1 day' where enquiry_id = %s",
                     [world.a.enquiry_id])
    with world.connect() as conn:
        with act_as(conn, world.a.actor("auditor")) as cur:
            state = audit.state_as_of(cur, "enquiries", world.a.enquiry_id, created + timedelta(hours=1))
            timeline_rows = audit.history(cur, "enquiries", world.a.enquiry_id)
    assert state["reference"] == "AAA-000001" and datetime.fromisoformat(state["created_at"]) == created
    assert timeline_rows["action"].iloc[0] == "insert"


def test_diff_of_a_record_between_two_times(timeline: Timeline):
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            d = audit.diff(cur, "enquiries", timeline.enquiry_id, D1, D3)
            nothing = audit.diff(cur, "enquiries", timeline.enquiry_id, D3, D4 - timedelta(seconds=1))
    changed = dict(zip(d["column"], zip(d["at_t1"], d["at_t2"])))
    assert changed["status"] == ("new", "in_progress") and changed["version"] == (1, 3)
    assert changed["assigned_to"][0] is None and set(changed) == {"status", "version", "assigned_to", "updated_at"}
    assert nothing.empty


def test_instants_must_say_their_time_zone_and_a_date_means_the_whole_day():
    assert audit.instant(date(2025, 3, 6)) == datetime(2025, 3, 6, 23, 59, 59, 999999, tzinfo=timezone.utc)
    assert audit.instant("2025-03-06", day_end=False) == datetime(2025, 3, 6, tzinfo=timezone.utc)
    assert audit.instant("2025-03-06T10:00:00+01:00") == datetime(2025, 3, 6, 9, tzinfo=timezone.utc)
    with pytest.raises(LabError, match="timezone-aware"):
        audit.instant(datetime(2025, 3, 6))
    with pytest.raises(LabError, match="ISO date"):
        audit.instant("last tuesday")


# -- a department -----------------------------------------------------------------------------

def test_a_department_snapshot_then_and_now_from_the_trail_alone(timeline: Timeline):
    a = timeline.world.a
    with timeline.world.connect() as conn:
        with act_as(conn, a.actor("auditor")) as cur:
            then = audit.table_as_of(cur, "enquiries", D2)
            now = audit.table_as_of(cur, "enquiries", datetime.now(timezone.utc) + timedelta(days=1))
            live = pd.DataFrame(cur.execute("select * from app.enquiries order by enquiry_id").fetchall(),
                                columns=[d.name for d in cur.description])
    assert list(then["enquiry_id"]) == [timeline.enquiry_id]    # the world's own enquiry was created later (now)
    assert then.loc[0, "status"] == "assigned" and then.loc[0, "version"] == 2
    assert pd.api.types.is_datetime64_any_dtype(then["updated_at"])
    pd.testing.assert_frame_equal(comparable(now.sort_values("enquiry_id")), comparable(live), check_dtype=False)
    with pytest.raises(LabError, match="not an audited table"):
        with timeline.world.connect() as conn:
            with act_as(conn, a.actor("auditor")) as cur:
                audit.table_as_of(cur, "pg_class", D2)


def test_a_department_diff_lists_created_and_changed_records(timeline: Timeline):
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            d = audit.table_diff(cur, "enquiries", D1 + timedelta(hours=1), D3 + timedelta(hours=1))
            created = audit.table_diff(cur, "notes", D3, D4)
    assert set(d["record_id"]) == {timeline.enquiry_id} and set(d["change"]) == {"changed"}
    assert dict(zip(d["column"], d["after"]))["status"] == "in_progress"
    assert set(created["change"]) == {"created"} and set(created["record_id"]) == {timeline.note_id}
    assert dict(zip(created["column"], created["after"]))["body"] == "Asked for the reference number."


def test_an_auditor_reconstructs_only_their_own_department(timeline: Timeline):
    w = timeline.world
    with w.connect() as conn:
        with act_as(conn, w.b.actor("auditor")) as cur:
            assert audit.state_as_of(cur, "enquiries", timeline.enquiry_id, D4) is None
            assert audit.history(cur, "enquiries", timeline.enquiry_id).empty
            snapshot = audit.table_as_of(cur, "enquiries", datetime.now(timezone.utc))
            assert set(snapshot["tenant_id"]) == {w.b.tenant_id}
            assert audit.replay_mismatches(cur).empty


def test_snapshots_of_generated_data_match_the_live_tables_and_the_replay_is_clean(generated: str):
    with superuser(generated) as conn:
        assert audit.replay_mismatches(conn).empty
    who = auditor_of(generated)
    with psycopg.connect(generated, autocommit=True) as conn:
        with act_as(conn, who) as cur:
            for table, key in (("enquiries", "enquiry_id"), ("notes", "note_id"), ("assignments", "assignment_id")):
                snapshot = audit.table_as_of(cur, table, SIMULATION_END + timedelta(days=1), include_deleted=True)
                live = pd.DataFrame(cur.execute(f"select * from tenant.{table}").fetchall(),
                                    columns=[d.name for d in cur.description])
                assert len(snapshot) == len(live) > 0, table
                pd.testing.assert_frame_equal(comparable(snapshot.sort_values(key)), comparable(live.sort_values(key)),
                                              check_dtype=False)
            # Halfway through: every record of the snapshot is what state_as_of says, one by one.
            middle = datetime(2022, 6, 30, tzinfo=timezone.utc)
            snapshot = audit.table_as_of(cur, "enquiries", middle, include_deleted=True).set_index("enquiry_id")
            assert 0 < len(snapshot) < len(live)
            for enquiry_id in snapshot.index[:25]:
                state = audit.state_as_of(cur, "enquiries", enquiry_id, middle)
                assert state["status"] == snapshot.loc[enquiry_id, "status"]
                assert state["version"] == snapshot.loc[enquiry_id, "version"]
            visible = audit.table_as_of(cur, "enquiries", middle)
            assert len(visible) <= len(snapshot) and visible["deleted_at"].isna().all()


def test_one_records_as_of_takes_milliseconds(generated: str):
    who = auditor_of(generated)
    with psycopg.connect(generated, autocommit=True) as conn:
        with act_as(conn, who) as cur:
            picks = cur.execute("select enquiry_id, created_at + (updated_at - created_at) / 2 from tenant.enquiries "
                                "order by md5(enquiry_id::text) limit 20").fetchall()
            audit.state_as_of(cur, "enquiries", *picks[0])
            timings = []
            for enquiry_id, when in picks:
                started = time.perf_counter()
                assert audit.state_as_of(cur, "enquiries", enquiry_id, when) is not None
                timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.05, timings   # typically 1-3 ms; generous for a busy machine


# -- the auditors' questions ------------------------------------------------------------------

def test_who_changed_a_record_and_why_who_viewed_it_cannot_be_answered(timeline: Timeline):
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            changes = auditor.who_changed(cur, "enquiries", timeline.enquiry_id)
            with pytest.raises(auditor.NotRecorded, match="reads are not audited"):
                auditor.who_viewed(cur, "enquiries", timeline.enquiry_id)
    assert list(changes["occurred_at"]) == [D1, D2, D3, D4]
    assert list(changes["action"]) == ["insert", "update", "update", "update"]
    assert set(changes["actor"]) == {"caseworker AAA"}


def test_what_a_staff_member_did_in_a_period_and_a_case_on_a_date(timeline: Timeline):
    cw = timeline.world.a.actor("caseworker")
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            march = auditor.activity(cur, cw.staff_id, date(2025, 3, 4), date(2025, 3, 20))
            case = auditor.case_on(cur, timeline.reference, date(2025, 3, 5))
            with pytest.raises(LabError, match="no enquiry"):
                auditor.case_on(cur, "BBB-000001", date(2025, 3, 5))    # another department's: invisible
    assert list(zip(march["occurred_at"], march["table_name"])) == [
        (D2, "tenant.assignments"), (D2, "tenant.enquiries"),    # the assignment history row is the caseworker's too
        (D3, "tenant.enquiries"), (D4, "tenant.enquiries"), (D4, "tenant.notes")]
    assert case["status"] == "assigned"


def test_the_auditors_questions_on_generated_data(generated: str):
    who = auditor_of(generated)
    with psycopg.connect(generated, autocommit=True) as conn:
        with act_as(conn, who) as cur:
            breaches = auditor.sla_breaches(cur, SIMULATION_END)
            approvals = auditor.escalation_approvals(cur)
            moves = auditor.reassignments(cur)
            deletions = auditor.soft_deletions(cur)
            disposed = auditor.disposals(cur)
            reopened = auditor.reopened_cases(cur)
            holds = auditor.legal_holds(cur)
            logins = auditor.changes_by_login(cur)
            departments = {r[0] for r in cur.execute("select tenant_id from tenant.enquiries")}
    assert departments == {who.tenant_id}
    assert len(breaches) > 0 and (breaches["overdue"] > timedelta(0)).all()
    assert (breaches["effective_due_at"] >= breaches["due_at"]).all()
    assert len(approvals) > 0 and approvals["approved_by"].notna().all()
    assert (approvals["approved_at"] <= approvals["escalated_at"]).all()
    assert (approvals["approved_by"] != approvals["requested_by"]).all()
    assert len(moves) > 0 and moves["to_staff"].notna().all()
    assert len(disposed) > 0 and (disposed["after_retention_start"] >= timedelta(days=7 * 365)).all()
    assert set(deletions["action"]) <= {"soft_delete", "restore"}
    assert set(reopened["from_status"]) <= {"closed"}
    assert holds["placed_by"].notna().all()
    assert logins["changes"].sum() == entries_of(generated, who.tenant_id)


def entries_of(dsn: str, tenant_id) -> int:
    with superuser(dsn) as conn:
        return conn.execute("select count(*) from audit.entries where tenant_id = %s", [tenant_id]).fetchone()[0]


def test_sla_breaches_count_the_time_waiting_on_the_citizen_as_paused(timeline: Timeline):
    """The timeline's complaint (10-day SLA) waits on the citizen from D4: asked long after,
    its due date has moved on by the waiting time, and it is not counted as overdue for it."""
    later = D4 + timedelta(days=40)
    with timeline.world.connect() as conn:
        with act_as(conn, timeline.world.a.actor("auditor")) as cur:
            breaches = auditor.sla_breaches(cur, later).set_index("reference")
            due = cur.execute("select due_at from tenant.enquiries where enquiry_id = %s", [timeline.enquiry_id]).fetchone()[0]
    row = breaches.loc[timeline.reference]
    assert row["paused"] == later - D4 and row["effective_due_at"] == due + (later - D4)
    assert row["overdue"] == (D4 - due) and pd.isna(row["answered_at"])


def test_audit_measure_prints_the_reconstruction_figures(generated: str):
    proc = run_cli("audit", "measure", "--dsn", generated, "--samples", "5")
    assert proc.returncode == 0, proc.stderr
    for figure in ("one record as of a time (median)", "department snapshot at the end", "replay check, all departments",
                   "verify"):
        assert figure in proc.stdout
