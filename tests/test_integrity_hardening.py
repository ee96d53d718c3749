"""Integrity hardening (issue 19, sql/036-037): the audit trail names the user and role each
row was written by, business time is bounded by the wall clock and the transaction's age,
a legal hold and a disposal cannot both win a race, a disposed record is frozen in every
table that refers to it and anonymised in every free-text field, and the side channels a
staff role or the bare login had (large objects, ALTER ROLE ... SET) are closed or found.

Every test attacks as the real login (enquiries_app, enquiries_loader) or as a superuser
behind the application's back, and asserts the SQLSTATE and that nothing was written.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from tampering import bypassing_triggers, superuser
from test_retention import REFUSALS, YEAR, dispose, history, refuse, row
from world import as_login

from enquiries_lab import casework, compliance, migrations
from enquiries_lab.session import act_as

FAKE = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
NOTE = ("insert into tenant.notes (enquiry_id, direction, channel, body) values ({enquiry}, 'outbound', 'phone', 'x')")


def trail_and_rows(su) -> tuple:
    return (su.execute("select count(*) from audit.entries").fetchone()[0],
            su.execute("select count(*), md5(string_agg(to_jsonb(n)::text, '' order by note_id)) from tenant.notes n").fetchone(),
            su.execute("select md5(string_agg(to_jsonb(e)::text, '' order by enquiry_id)) from tenant.enquiries e").fetchone())


def mismatched_entries(su) -> list:
    """Audit entries whose actor is not the row stamp they record (insert: created_by; any
    change: updated_by), or whose role is not the actor's staff role."""
    return su.execute("""
        select e.entry_id, e.table_name, e.actor_id, e.db_role
        from audit.entries e
        left join tenant.staff s on s.tenant_id = e.tenant_id and s.staff_id = e.actor_id
        left join core.staff_roles r on r.db_role = e.db_role
        where e.table_name <> 'tenant.departments'
          and ((e.row_data ? 'updated_by' and (e.row_data ->> 'updated_by')::uuid is distinct from e.actor_id)
               or (r.staff_role is not null and s.staff_role is distinct from r.staff_role)
               or (e.db_role not like 'enquiries\\_%%' and e.db_role <> 'postgres'))""").fetchall()


# -- attribution: the role and the actor cannot change inside a statement ---------------------------

def vectors(w):
    a = w.a
    cw, cw2 = a.actor("caseworker"), a.caseworker2
    enquiry = sql.Literal(str(a.enquiry_id))
    return {
        # the bare login, with a made-up actor, once the row is written
        "returning-set-config": (cw, sql.SQL(NOTE + " returning set_config('role', 'none', true), "
                                             "set_config('enquiries.actor_id', {fake}, true)").format(
            enquiry=enquiry, fake=sql.Literal(str(FAKE)))),
        # the row written as someone else, the statement ending as the real caseworker
        "cte-set-config": (cw, sql.SQL("with switch as (select set_config('enquiries.actor_id', {cw2}, true) as s) "
                                       "insert into tenant.notes (enquiry_id, direction, channel, body) "
                                       "select {enquiry}, 'outbound', 'phone', 'x' from switch "
                                       "returning set_config('enquiries.actor_id', {cw}, true)").format(
            enquiry=enquiry, cw2=sql.Literal(str(cw2.staff_id)), cw=sql.Literal(str(cw.staff_id)))),
        # a second VALUES row evaluated (and stamped) under another actor
        "values-set-config": (cw, sql.SQL("insert into tenant.notes (enquiry_id, direction, channel, body) values "
                                          "({enquiry}, 'outbound', 'phone', 'first'), "
                                          "({enquiry}, 'outbound', 'phone', left(set_config('enquiries.actor_id', {cw2}, true), 0) || 'second')").format(
            enquiry=enquiry, cw2=sql.Literal(str(cw2.staff_id)))),
        # a supervisor-only step (reassigning) made as a supervisor inside the statement and
        # recorded as the caseworker's: the role switched in the SET list, back in RETURNING
        "role-switch-in-set-list": (cw, sql.SQL(
            "update tenant.enquiries set assigned_to = ({cw2} || left(set_config('role', 'enquiries_supervisor', true), 0))::uuid, "
            "version = version + 1 where enquiry_id = {enquiry} "
            "returning set_config('role', 'enquiries_caseworker', true)").format(
            enquiry=enquiry, cw2=sql.Literal(str(cw2.staff_id)))),
    }


@pytest.mark.parametrize("vector", ["returning-set-config", "cte-set-config", "values-set-config", "role-switch-in-set-list"])
def test_a_statement_cannot_change_its_role_or_actor_between_its_rows(w, su, vector):
    """Before sql/036 each of these committed: a made-up actor in the trail, notes stamped by
    one caseworker and recorded as another's, a reassignment (supervisor only) recorded as a
    caseworker's. Now set_config is not executable by any lab role (42501) and nothing is written."""
    actor, statement = vectors(w)[vector]
    before = trail_and_rows(su)
    with w.connect() as conn:
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, actor) as cur:
                cur.execute(statement)
    assert err.value.sqlstate == "42501", err.value
    assert trail_and_rows(su) == before
    assert mismatched_entries(su) == []


def test_the_capture_refuses_rows_stamped_by_another_actor_or_department(w, su):
    """Where set_config is still callable (a superuser acting in a department), the capture
    compares each row's stamp with the actor it verifies and refuses a mismatch (EL003)."""
    a = w.a
    before = trail_and_rows(su)
    actor_switch = sql.SQL("set_config('enquiries.actor_id', {}, true)").format(sql.Literal(str(a.caseworker2.staff_id)))
    tenant_switch = sql.SQL("set_config('enquiries.tenant_id', {}, true)").format(sql.Literal(str(w.b.tenant_id)))
    e = sql.Literal(str(a.enquiry_id))
    attacks = [  # the second row stamped by another actor; every row written, then the department switched
        sql.SQL("insert into tenant.notes (enquiry_id, direction, channel, body) values "
                "({e}, 'outbound', 'phone', 'first'), ({e}, 'outbound', 'phone', left({s}, 0))").format(e=e, s=actor_switch),
        sql.SQL("update tenant.notes set body = body || '.' where enquiry_id = {e} returning {s}").format(e=e, s=tenant_switch),
    ]
    with psycopg.connect(w.dsn) as conn:
        for attack in attacks:
            with pytest.raises(psycopg.Error) as err:
                with conn.transaction():
                    conn.execute("set local enquiries.tenant_id = '%s'; set local enquiries.actor_id = '%s'"
                                 % (a.tenant_id, a.actor("supervisor").staff_id))
                    conn.execute(attack)
            assert err.value.sqlstate == "EL003", err.value
    assert trail_and_rows(su) == before


def test_no_lab_role_can_call_set_config_but_set_local_still_sets_the_context(w):
    a = w.a
    with w.connect("enquiries_loader") as conn:
        for role in ["caseworker", "supervisor", "auditor", "retention_officer"]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, a.actor(role)) as cur:
                    cur.execute("select set_config('enquiries.actor_id', %s, true)", [str(FAKE)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the bare login too
            conn.execute("select set_config('application_name', 'x', false)")
        with act_as(conn, a.actor("caseworker")) as cur:
            assert cur.execute("select tenant.current_actor_id()").fetchone()[0] == a.actor("caseworker").staff_id


# -- business time: never after the wall clock, never stale ----------------------------------------

def test_business_time_later_than_the_wall_clock_is_refused(w, su):
    """A history loader dated a closure ten years ahead; seven years later by that clock the
    enquiry was disposable at once (before sql/036 both commits went through)."""
    a = w.a
    cw = a.actor("caseworker")
    before = trail_and_rows(su)
    future = datetime.now(timezone.utc) + timedelta(days=3650)
    with w.connect("enquiries_loader") as conn:
        with pytest.raises(REFUSALS) as err:
            with act_as(conn, cw, business_time=future) as cur:
                casework.add_note(cur, a.enquiry_id, "from the future")
        assert err.value.sqlstate == "EL402", err.value
        with pytest.raises(REFUSALS) as err:  # per-row mode: the time the row carries
            with act_as(conn, cw, business_time="per_row") as cur:
                cur.execute("insert into tenant.notes (enquiry_id, direction, body, created_at) values (%s, 'inbound', 'x', %s)",
                            [a.enquiry_id, future])
        assert err.value.sqlstate == "EL402", err.value
    assert trail_and_rows(su) == before


def test_a_live_change_in_a_transaction_older_than_the_tolerance_is_refused(w, su):
    """Business time 'now' is the transaction start: a transaction held open records its
    changes that much earlier, unmarked. Shrunk to one second here (core.business_time_tolerance,
    15 minutes by default), a change two seconds in is refused (EL403), a prompt one is not."""
    tolerance = ("create or replace function core.business_time_tolerance() returns interval "
                 "language sql immutable parallel safe as $$ select interval '{}' $$")
    su.execute(tolerance.format("1 second"))
    try:
        a = w.a
        before = trail_and_rows(su)
        with w.connect() as conn:
            with pytest.raises(REFUSALS) as err:
                with act_as(conn, a.actor("caseworker")) as cur:
                    cur.execute("select pg_sleep(2)")
                    casework.add_note(cur, a.enquiry_id, "late")
            assert err.value.sqlstate == "EL403", err.value
            assert trail_and_rows(su) == before
            with act_as(conn, a.actor("caseworker")) as cur:
                casework.add_note(cur, a.enquiry_id, "prompt")
    finally:
        su.execute(tolerance.format("15 minutes"))


# -- retention judged against the wall clock; hold and disposal serialised -------------------------

def _blocked(su, pid: int) -> bool:
    for _ in range(100):
        if su.execute("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s", [pid]).fetchone()[0]:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("first", ["hold", "disposal"])
def test_a_legal_hold_and_a_disposal_racing_never_leave_a_held_record_anonymised(w, su, first):
    """Two connections: the first takes its step and stays open, the second starts its own
    and must wait for it; the first commits. Hold first: the disposal is refused (EL301) and
    the enquiry keeps its data. Disposal first: the hold is refused (EL302). Before sql/037
    the second step did not wait and both committed: a record anonymised under a live hold."""
    a = w.a
    case = history(w, a, 8 * YEAR)
    sup, ro = a.actor("supervisor"), a.actor("retention_officer")

    def hold(cur):
        cur.execute("insert into tenant.legal_holds (enquiry_id, reason) values (%s, 'litigation')", [case.enquiry_id])

    def disposal(cur):
        casework.dispose_enquiry(cur, case.enquiry_id)

    steps = {"hold": (sup, hold), "disposal": (ro, disposal)}
    second = "disposal" if first == "hold" else "hold"
    outcome: dict = {}
    with w.connect() as c1, w.connect() as c2:
        def run_second():
            try:
                with act_as(c2, steps[second][0]) as cur:
                    steps[second][1](cur)
                outcome["ok"] = True
            except Exception as e:  # noqa: BLE001 (the SQLSTATE is asserted below)
                outcome["error"] = e

        with act_as(c1, steps[first][0]) as cur:
            steps[first][1](cur)
            t = threading.Thread(target=run_second)
            t.start()
            assert _blocked(su, c2.info.backend_pid), "the second step did not wait for the first"
        t.join(10)
    assert "error" in outcome, "both the legal hold and the disposal committed"
    assert outcome["error"].sqlstate == ("EL301" if first == "hold" else "EL302"), outcome["error"]
    e = row(su, "enquiries", "enquiry_id", case.enquiry_id)
    holds = su.execute("select count(*) from tenant.legal_holds where enquiry_id = %s and released_at is null",
                       [case.enquiry_id]).fetchone()[0]
    assert (e["disposed_at"] is None, holds) == ((True, 1) if first == "hold" else (False, 0))


# -- a disposed record is frozen everywhere and anonymised in every free-text field ----------------

def test_nothing_can_be_attached_to_a_disposed_enquiry_or_contact(w, su, conn):
    a = w.a
    cw, sup, ro = a.actor("caseworker"), a.actor("supervisor"), a.actor("retention_officer")
    case = history(w, a, 8 * YEAR)
    with act_as(conn, cw) as cur:  # a live note on a live enquiry, and an escalation request to move later
        live_note = casework.add_note(cur, a.enquiry_id, "live note")
    dispose(conn, ro, case.enquiry_id)
    attempts = [
        (cw, "update tenant.notes set enquiry_id = %s where note_id = %s", [case.enquiry_id, live_note]),
        (cw, "insert into tenant.escalations (enquiry_id, reason) values (%s, 'new personal data')", [case.enquiry_id]),
        (sup, "insert into tenant.legal_holds (enquiry_id, reason) values (%s, 'new personal data')", [case.enquiry_id]),
        (ro, "insert into tenant.legal_holds (enquiry_id, reason) values (%s, 'new personal data')", [case.enquiry_id]),
        (cw, "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status) "
             "values ('RT-NEW0000001', %s, 'general', 'email', 'New', 'new personal data', 'new')", [case.contact_id]),
        (sup, "update tenant.enquiries set contact_id = %s, version = version + 1 where enquiry_id = %s",
         [case.contact_id, a.enquiry_id]),
        (cw, "insert into tenant.notes (enquiry_id, direction, body, disposed_at, disposed_by) "
             "values (%s, 'inbound', 'born disposed', now(), %s)", [a.enquiry_id, cw.staff_id]),
        (cw, "insert into tenant.contacts (full_name, disposed_at, disposed_by) values ('Born Disposed', now(), %s)",
         [cw.staff_id]),
    ]
    for actor, statement, params in attempts:
        before = trail_and_rows(su)
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, actor) as cur:
                cur.execute(statement, params)
        assert err.value.sqlstate == "EL302", (statement, err.value)
        assert trail_and_rows(su) == before, statement
    assert row(su, "notes", "note_id", live_note)["enquiry_id"] == a.enquiry_id


def test_disposal_anonymises_escalation_reasons_decision_notes_and_legal_hold_reasons(w, su, conn):
    a = w.a
    cw, sup, ro = a.actor("caseworker"), a.actor("supervisor"), a.actor("retention_officer")
    case = history(w, a, 8 * YEAR)
    # an escalation and a released hold, placed by a history load when the case was open
    when = case.closed_at - timedelta(hours=1)
    with w.connect("enquiries_loader") as loader:
        with act_as(loader, cw, business_time=when) as cur:
            esc = casework.request_escalation(cur, case.enquiry_id, "Jane Citizen of 1 High Street is upset")
        with act_as(loader, sup, business_time=when + timedelta(minutes=1)) as cur:
            casework.decide_escalation(cur, esc, approve=False, note="Told Jane Citizen on 020 7946 0000")
            hold = cur.execute("insert into tenant.legal_holds (enquiry_id, reason) values (%s, 'Jane Citizen v. Dept') "
                               "returning legal_hold_id", [case.enquiry_id]).fetchone()[0]
        with act_as(loader, sup, business_time=when + timedelta(minutes=2)) as cur:
            cur.execute("update tenant.legal_holds set released_at = now() where legal_hold_id = %s", [hold])
    dispose(conn, ro, case.enquiry_id)
    e = row(su, "escalations", "escalation_id", esc)
    h = row(su, "legal_holds", "legal_hold_id", hold)
    assert (e["reason"], e["decision_note"], h["reason"]) == ("[disposed]", "[disposed]", "[disposed]")
    assert e["decision"] == "rejected" and h["released_at"] is not None   # nothing else changed
    # the retention officer cannot use the new UPDATE privilege on escalations for anything else
    refuse(conn, ro, lambda cur: cur.execute("update tenant.escalations set reason = 'x' where escalation_id = %s",
                                             [a.escalation_id]), "EL303", su, case)


# -- side channels: ALTER ROLE ... SET, large objects -----------------------------------------------

def test_a_login_setting_its_own_defaults_is_found_and_migrate_removes_them(w, su):
    """The bare application login gives itself a default staff role, a read-only default and a
    statement timeout (every new connection inherits them); PostgreSQL lets any role ALTER ROLE
    itself SET. (Before this fix nothing reported or removed them.) The check names them, migrate removes them, the check passes again."""
    name = su.info.dbname
    try:
        with w.connect() as app:
            # IN DATABASE only: the roles are shared by every database on the server (and by
            # other test runs on it); `ALTER ROLE enquiries_app SET` without it works the same
            app.execute(sql.SQL("alter role enquiries_app in database {} set statement_timeout = '10min'").format(
                sql.Identifier(name)))
            app.execute(sql.SQL("alter role enquiries_app in database {} set role = 'enquiries_supervisor'").format(
                sql.Identifier(name)))
            app.execute(sql.SQL("alter role enquiries_app in database {} set default_transaction_read_only = on").format(
                sql.Identifier(name)))
        with w.connect() as fresh:
            assert fresh.execute("select current_user, current_setting('default_transaction_read_only')").fetchone() == (
                "enquiries_supervisor", "on")
        found = {r.check.id: r for r in compliance.run(su, only=["lab_roles_hold_no_defaults"])}
        violations = found["lab_roles_hold_no_defaults"].violations
        assert f"enquiries_app holds defaults in database {name}" in {v.problem for v in violations}
        heard = []
        migrations.migrate(su, settings_removed=lambda *r: heard.append(r))
        assert ("enquiries_app", name, ["statement_timeout=10min", "role=enquiries_supervisor",
                                        "default_transaction_read_only=on"]) in heard
        with w.connect() as fresh:
            assert fresh.execute("select current_user, current_setting('default_transaction_read_only')").fetchone() == (
                "enquiries_app", "off")
        assert compliance.run(su, only=["lab_roles_hold_no_defaults"])[0].passed
    finally:
        su.execute(sql.SQL("alter role enquiries_app in database {} reset all").format(sql.Identifier(name)))


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "auditor", "retention_officer"])
def test_a_staff_role_cannot_create_a_large_object(w, su, role):
    """Before sql/036 any staff role could store data in a large object and GRANT it to PUBLIC
    (no RLS, no audit, no retention: readable by another department)."""
    with w.connect() as conn:
        for create in ("select lo_from_bytea(0, 'personal data'::bytea)", "select lo_create(0)", "select lo_creat(-1)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                with act_as(conn, w.a.actor(role)) as cur:
                    cur.execute(create)
    assert su.execute("select count(*) from pg_largeobject_metadata").fetchone()[0] == 0


def test_a_large_object_is_found_by_the_check(w, su):
    oid = su.execute("select lo_from_bytea(0, 'left behind'::bytea)").fetchone()[0]
    try:
        result = compliance.run(su, only=["no_large_objects"])[0]
        assert not result.passed and {v.object for v in result.violations} == {f"large object {oid}"}
        su.execute("grant execute on function lo_create(oid) to public")
        result = compliance.run(su, only=["no_large_objects"])[0]
        assert {v.object for v in result.violations} == {f"large object {oid}", "function lo_create(oid)"}
    finally:
        su.execute("select lo_unlink(%s)", [oid])
        su.execute("revoke execute on function lo_create(oid) from public")
    assert compliance.run(su, only=["no_large_objects"])[0].passed


def test_set_config_open_to_public_fails_context_fixed_per_statement(w, su):
    su.execute("grant execute on function set_config(text, text, boolean) to public")
    try:
        result = compliance.run(su, only=["context_fixed_per_statement"])[0]
        assert {(v.object, v.problem) for v in result.violations} == {
            ("function set_config(text,text,boolean)", "PUBLIC may execute it")}
    finally:
        su.execute("revoke execute on function set_config(text, text, boolean) from public")
    assert compliance.run(su, only=["context_fixed_per_statement"])[0].passed


def test_disposed_text_left_behind_or_a_note_attached_later_fails_disposed_records_anonymised_and_frozen(w, su, conn):
    """A superuser with the triggers off puts an escalation's reason back and moves a live note
    onto a disposed enquiry: the check names both rows, and passes on what disposal left."""
    a = w.a
    case = history(w, a, 8 * YEAR)
    with act_as(conn, a.actor("caseworker")) as cur:
        esc = casework.request_escalation(cur, a.enquiry_id, "a live one")
        note = casework.add_note(cur, a.enquiry_id, "a live note")
    with w.connect("enquiries_loader") as loader:
        with act_as(loader, a.actor("caseworker"), business_time=case.closed_at - timedelta(hours=1)) as cur:
            old_esc = casework.request_escalation(cur, case.enquiry_id, "Jane Citizen is upset")
    dispose(conn, a.actor("retention_officer"), case.enquiry_id)
    assert compliance.run(su, only=["disposed_records_anonymised_and_frozen"])[0].passed
    with bypassing_triggers(w.dsn) as bad:
        bad.execute("update tenant.escalations set reason = 'Jane Citizen is upset' where escalation_id = %s", [old_esc])
        bad.execute("update tenant.notes set enquiry_id = %s where note_id = %s", [case.enquiry_id, note])
    result = compliance.run(su, only=["disposed_records_anonymised_and_frozen"])[0]
    assert {(v.object, v.problem) for v in result.violations} == {
        (f"tenant.escalations {old_esc}", "escalation text kept after the enquiry was disposed of"),
        (f"tenant.notes {note}", "note of a disposed enquiry that is not disposed of")}
    assert esc  # the live escalation is not a finding


def test_the_retired_generic_capture_refuses_every_write_and_counts_for_no_check(w, su):
    """Before sql/072 an owner could capture a table with the generic audit.capture(), which
    never got 036's per-row checks, and check 0003 counted it. Now it refuses every write
    (EL206), is no SECURITY DEFINER, and 0003 reports the table as uncaptured."""
    assert su.execute("select prosecdef from pg_proc where oid = 'audit.capture()'::regprocedure").fetchone()[0] is False
    before = trail_and_rows(su)
    try:
        su.execute("drop trigger z_audit_insert on tenant.notes; drop trigger z_audit_update on tenant.notes")
        su.execute("create trigger z_audit_insert after insert on tenant.notes referencing new table as new_rows "
                   "for each statement execute function audit.capture('note_id')")
        su.execute("create trigger z_audit_update after update on tenant.notes referencing old table as old_rows "
                   "new table as new_rows for each statement execute function audit.capture('note_id')")

        result = compliance.run(su, only=["audit_capture_triggers"])[0]
        assert {(v.object, v.problem) for v in result.violations} == {
            ("tenant.notes", "no enabled audit trigger captures insert"),
            ("tenant.notes", "no enabled audit trigger captures update")}
        with w.connect() as conn:
            with pytest.raises(psycopg.Error) as err:
                with act_as(conn, w.a.actor("caseworker")) as cur:
                    cur.execute(sql.SQL(NOTE).format(enquiry=sql.Literal(str(w.a.enquiry_id))))
        assert err.value.sqlstate == "EL206" and "retired" in str(err.value), err.value
        assert trail_and_rows(su) == before
    finally:
        su.execute("select audit.install_capture('tenant.notes')")
    assert compliance.run(su, only=["audit_capture_triggers"])[0].passed
