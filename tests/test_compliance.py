"""Compliance checks: every check passes on generated data and on the two-department world,
and each one fails, naming the offending rows, when its rule is broken on purpose by a
superuser outside the application's rules, while the checks that do not depend on that
rule keep passing."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from tampering import world, world_copies  # noqa: F401 (fixtures: world copies made and dropped in the background)
from tampering import bypassing_triggers, run_cli, scratch_database, superuser
from world import as_login

from enquiries_lab import casework, compliance, seals
from enquiries_lab.errors import LabError
from enquiries_lab.session import act_as

EXPECTED_CHECKS = {
    "audit_trail_complete", "rls_enabled_and_forced", "audit_capture_triggers", "audit_immutable",
    "no_physical_deletes", "no_cross_tenant_references", "legal_status_transitions", "escalations_approved",
    "reassignments_recorded", "retention_respected", "tenant_indexes_lead_with_tenant_id",
    "views_hide_soft_deleted_rows", "audit_trail_tamper_free", "audit_trail_sealed", "default_partition_empty",
    "database_closed_to_public", "lab_roles_hold_no_defaults", "no_large_objects", "context_fixed_per_statement",
    "disposed_records_anonymised_and_frozen",
    "audit_trail_consistent", "grants_match_access_model",
    "views_over_tenant_data_security_invoker", "security_definer_functions_allowed", "no_privileged_lab_roles",
    "tenant_tables_keyed",
}


def failing(dsn: str) -> dict[str, list[compliance.Violation]]:
    """check id -> its violations, for every check that does not pass (a check that cannot
    run is a test failure in itself)."""
    with superuser(dsn) as conn:
        results = compliance.run(conn)
    errors = {r.check.id: r.error for r in results if r.error}
    assert not errors, errors
    return {r.check.id: r.violations for r in results if not r.passed}


def objects(violations: list[compliance.Violation]) -> set[str]:
    return {v.object for v in violations}


def problems(violations: list[compliance.Violation]) -> set[tuple[str, str]]:
    return {(v.object, v.problem) for v in violations}


@pytest.fixture(scope="module")
def generated(admin_dsn: str, small_generated_template: str) -> Iterator[str]:
    with scratch_database(admin_dsn, small_generated_template, "gen") as dsn:
        yield dsn


# -- the check files themselves ----------------------------------------------------------------

@pytest.mark.req("REQ-CMP-1")
def test_every_check_file_has_a_header_and_the_listed_checks_exist():
    checks = compliance.discover()
    assert {c.id for c in checks} >= EXPECTED_CHECKS
    for c in checks:
        assert c.title and len(c.requirement) > 40 and c.severity in compliance.SEVERITIES, c.path.name
        assert c.path.name[5:-4] == c.id


@pytest.mark.parametrize("text,message", [
    ("-- id: x_check\n-- title: t\n-- requirement: r\nselect 1", "header lacks severity"),
    ("-- id: other\n-- title: t\n-- requirement: r\n-- severity: high\nselect 1", "does not match the file name"),
    ("-- id: x_check\n-- title: t\n-- requirement: r\n-- severity: dire\nselect 1", "severity must be one of"),
    ("-- id: x_check\n-- title: t\n-- requirement: r\n-- severity: high\n", "no query after the header"),
])
@pytest.mark.req("REQ-CMP-1")
def test_a_malformed_check_file_is_refused_naming_the_file(tmp_path: Path, text: str, message: str):
    (tmp_path / "0001_x_check.sql").write_text(text)
    with pytest.raises(LabError) as err:
        compliance.discover(tmp_path)
    assert "0001_x_check.sql" in str(err.value) and message in str(err.value)


def test_a_check_with_the_wrong_result_shape_is_reported_as_an_error_not_a_pass(generated: str, tmp_path: Path):
    (tmp_path / "0001_bad_shape.sql").write_text(
        "-- id: bad_shape\n-- title: t\n-- requirement: r\n-- severity: low\nselect 1 as one")
    with superuser(generated) as conn:
        [result] = compliance.run(conn, compliance.discover(tmp_path))
    assert result.status == "error" and "expected (object, tenant_id, detail)" in result.error


def test_checks_refuse_a_connection_that_cannot_see_every_department(generated: str):
    with psycopg.connect(as_login(generated, "enquiries_app"), autocommit=True) as conn:
        with pytest.raises(LabError, match="needs a superuser"):
            compliance.run(conn)


# -- clean data passes ---------------------------------------------------------------------------

def test_generate_seals_what_it_wrote_and_every_check_passes_on_it(generated: str):
    with superuser(generated) as conn:
        report = seals.verify(conn)
        assert report.problems == [] and report.unsealed == []   # generate sealed the whole trail
        assert seals.seal(conn, max_entries=1000) == []
    assert failing(generated) == {}
    proc = run_cli("check", "--dsn", generated)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(compliance.discover())} passed, 0 failed" in proc.stdout


def test_every_check_passes_on_the_two_department_world(world):
    assert failing(world.dsn) == {}
    proc = run_cli("check", "--dsn", world.dsn, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["passed"] and {c["status"] for c in report["checks"]} == {"pass"}


# -- each rule broken on purpose ---------------------------------------------------------------

def test_a_change_that_escaped_the_trail_fails_audit_trail_complete(world):
    with superuser(world.dsn) as conn:
        note = conn.execute("select note_id from tenant.notes where tenant_id = %s", [world.a.tenant_id]).fetchone()[0]
    with bypassing_triggers(world.dsn) as conn:   # no capture, no stamps
        conn.execute("update tenant.notes set body = 'rewritten quietly' where note_id = %s", [note])
        conn.execute("update tenant.enquiries set priority = 'urgent', version = version + 1 where enquiry_id = %s",
                     [world.b.enquiry_id])
    found = failing(world.dsn)
    assert set(found) == {"audit_trail_complete"}
    assert problems(found["audit_trail_complete"]) == {
        (f"tenant.notes {note}", "replaying the trail does not give the live row"),
        (f"tenant.enquiries {world.b.enquiry_id}", "replaying the trail does not give the live row"),
        (f"tenant.enquiries {world.b.enquiry_id}", "changes are missing from the trail: an enquiry has one entry per version"),
    }
    replay = next(v for v in found["audit_trail_complete"] if v.object == f"tenant.notes {note}")
    assert replay.detail["columns"] == ["body"] and replay.detail["live"] == {"body": "rewritten quietly"}


def test_unforced_rls_a_leaky_policy_and_a_granted_partition_fail_rls_enabled_and_forced(world):
    with superuser(world.dsn) as conn:
        partition = conn.execute("select tableoid::regclass::text from audit.entries limit 1").fetchone()[0]
        conn.execute("alter table tenant.notes no force row level security")
        conn.execute("create policy leaky on tenant.contacts for select to enquiries_auditor using (true)")
        conn.execute(f"grant select on {partition} to enquiries_auditor")
    found = failing(world.dsn)
    assert set(found) == {"rls_enabled_and_forced", "scale_out_policies"}  # the leaky policy also breaks Citus readiness
    assert problems(found["rls_enabled_and_forced"]) == {
        ("tenant.notes", "row level security is not forced: the table owner bypasses it"),
        ("tenant.contacts", "a permissive policy does not check the tenant"),
        (partition, "a role other than the owner holds a privilege on a partition, which bypasses the parent's policies"),
    }


def test_a_disabled_or_replica_only_audit_trigger_fails_audit_capture_triggers(world):
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.notes disable trigger z_audit_update")
        conn.execute("alter table tenant.legal_holds enable replica trigger z_audit_insert")
    found = failing(world.dsn)
    assert set(found) == {"audit_capture_triggers"}
    assert problems(found["audit_capture_triggers"]) == {
        ("tenant.notes", "no enabled audit trigger captures update"),
        ("tenant.legal_holds", "no enabled audit trigger captures insert"),
    }


@pytest.mark.req("REQ-AUD-1")
def test_a_column_added_without_regenerating_the_capture_fails_closed_until_it_is_installed(world):
    """The generated capture (025) knows its table's columns: a new column must not go
    unaudited, so writes fail (EL206) and the check reports it until install_capture runs."""
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.contacts add column pronouns text")
        before = conn.execute("select count(*) from audit.entries").fetchone()[0]
    assert problems(failing(world.dsn)["audit_capture_triggers"]) == {
        ("tenant.contacts", f"the audit trigger for {e} runs a generated capture out of date with the table's columns "
                            "(audit.install_capture regenerates it)") for e in ("insert", "update")}
    with world.connect() as conn:
        with pytest.raises(psycopg.Error) as refused:
            with act_as(conn, world.a.actor("caseworker")) as cur:
                cur.execute("update tenant.contacts set pronouns = 'they/them' where contact_id = %s", [world.a.contact_id])
    assert refused.value.sqlstate == "EL206" and "install_capture" in str(refused.value)
    with superuser(world.dsn) as conn:
        assert conn.execute("select count(*) from tenant.contacts where pronouns is not null").fetchone()[0] == 0
        assert conn.execute("select count(*) from audit.entries").fetchone()[0] == before
        conn.execute("select audit.install_capture('tenant.contacts')")
    assert "audit_capture_triggers" not in failing(world.dsn)
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:
            cur.execute("update tenant.contacts set pronouns = 'they/them' where contact_id = %s", [world.a.contact_id])
    with superuser(world.dsn) as conn:
        entry = conn.execute("select changed_columns, row_data ->> 'pronouns', old_values -> 'pronouns' from audit.entries "
                             "where record_id = %s order by entry_id desc limit 1", [world.a.contact_id]).fetchone()
    assert entry[0][:2] == ["pronouns", "updated_at"] and entry[1:] == ("they/them", None)


def test_granted_rights_a_disabled_guard_and_a_disabled_ddl_guard_fail_audit_immutable(world):
    with superuser(world.dsn) as conn:
        partition = conn.execute("select tableoid::regclass::text from audit.entries limit 1").fetchone()[0]
        conn.execute("grant update on audit.entries to enquiries_auditor")
        conn.execute("grant delete on audit.seals to enquiries_owner")
        conn.execute(f"alter table {partition} disable trigger entries_no_truncate")
        conn.execute("alter event trigger enquiries_guard_drop disable")
    found = failing(world.dsn)
    assert set(found) == {"audit_immutable", "grants_match_access_model"}   # UPDATE is not in the access model either
    assert problems(found["grants_match_access_model"]) == {
        ("audit.entries", "a role holds a privilege the access model does not grant")}
    assert problems(found["audit_immutable"]) == {
        ("audit.entries", "enquiries_auditor holds UPDATE"),
        ("audit.seals", "enquiries_owner holds DELETE"),
        (partition, "no enabled trigger refuses TRUNCATE"),
        ("event trigger enquiries_guard_drop", "the DDL guard event trigger is not enabled"),
    }


def test_a_physically_deleted_row_fails_no_physical_deletes(world):
    with superuser(world.dsn) as conn:
        note = conn.execute("select note_id from tenant.notes where tenant_id = %s", [world.b.tenant_id]).fetchone()[0]
    with bypassing_triggers(world.dsn) as conn:
        conn.execute("delete from tenant.notes where note_id = %s", [note])
    deadline = time.monotonic() + 10   # the deleting backend reports its statistics as it ends
    with superuser(world.dsn) as conn:
        while conn.execute("select n_tup_del from pg_stat_all_tables where relid = 'tenant.notes'::regclass").fetchone()[0] == 0:
            assert time.monotonic() < deadline, "the statistics never showed the delete"
            time.sleep(0.1)
            conn.execute("select pg_stat_clear_snapshot()")
    found = failing(world.dsn)
    assert set(found) == {"no_physical_deletes"}
    assert problems(found["no_physical_deletes"]) == {
        (f"tenant.notes {note}", "the record has audit entries but no live row"),
        ("tenant.notes", "rows were deleted from this table"),
    }
    assert next(v for v in found["no_physical_deletes"] if v.object == "tenant.notes").tenant_id is None


def test_a_note_moved_onto_another_departments_enquiry_fails_no_cross_tenant_references(world):
    with superuser(world.dsn) as conn:   # the composite foreign key is what normally makes this impossible
        fk = conn.execute("""select conname from pg_constraint where conrelid = 'tenant.notes'::regclass and contype = 'f'
                             and confrelid = 'tenant.enquiries'::regclass""").fetchone()[0]
        conn.execute(f"alter table tenant.notes drop constraint {fk}")
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:   # through the application: audited, stamped
            note = casework.add_note(cur, world.a.enquiry_id, "about to wander")
            cur.execute("update tenant.notes set enquiry_id = %s where note_id = %s", [world.b.enquiry_id, note])
    found = failing(world.dsn)
    # without its key to the enquiries, notes no longer reach the departments either
    assert set(found) == {"no_cross_tenant_references", "tenant_tables_keyed"}
    assert problems(found["tenant_tables_keyed"]) == {("tenant.notes", "no foreign key on tenant_id reaches tenant.departments")}
    [violation] = found["no_cross_tenant_references"]
    assert violation.object == f"tenant.notes {note}" and violation.tenant_id == world.a.tenant_id
    assert violation.detail["column"] == "enquiry_id" and violation.detail["value"] == str(world.b.enquiry_id)
    assert violation.detail["referenced_tenant_id"] == str(world.b.tenant_id)


def test_an_illegal_transition_made_with_the_workflow_switched_off_fails_legal_status_transitions(world):
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.enquiries disable trigger b_enforce_workflow")
    with world.connect() as conn:
        with act_as(conn, world.a.actor("caseworker")) as cur:
            casework.transition(cur, world.a.enquiry_id, "closed", version=world.a.enquiry_version)
    with superuser(world.dsn) as conn:
        entry = conn.execute("select max(entry_id) from audit.entries where record_id = %s", [world.a.enquiry_id]).fetchone()[0]
    found = failing(world.dsn)
    assert set(found) == {"legal_status_transitions"}
    [violation] = found["legal_status_transitions"]
    assert (violation.object, violation.problem) == (f"audit.entries {entry}", "no role may make this transition")
    assert (violation.detail["from"], violation.detail["to"]) == ("in_progress", "closed")


def test_escalating_without_approval_and_approving_ones_own_request_fail_escalations_approved(world):
    cw, sup = world.b.actor("caseworker"), world.b.actor("supervisor")
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.enquiries disable trigger b_enforce_workflow")
    with world.connect() as conn:
        with act_as(conn, cw) as cur:    # uses the one approval B's enquiry has: legal
            v = casework.transition(cur, world.b.enquiry_id, "escalated", version=world.b.enquiry_version)
        with act_as(conn, sup) as cur:
            v = casework.transition(cur, world.b.enquiry_id, "in_progress", version=v)
            own = casework.request_escalation(cur, world.b.enquiry_id, "I would like to decide this myself.")
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.escalations disable trigger b_enforce_decision")
    with world.connect() as conn:
        with act_as(conn, sup) as cur:
            cur.execute("update tenant.escalations set decision = 'approved', decided_by = %s, decided_at = now() "
                        "where escalation_id = %s", [sup.staff_id, own])
        with act_as(conn, cw) as cur:    # the only new approval is the invalid self-approval
            casework.transition(cur, world.b.enquiry_id, "escalated", version=v)
    with superuser(world.dsn) as conn:
        decision = conn.execute("select max(entry_id) from audit.entries where record_id = %s", [own]).fetchone()[0]
        second = conn.execute("select max(entry_id) from audit.entries where record_id = %s", [world.b.enquiry_id]).fetchone()[0]
    found = failing(world.dsn)
    assert set(found) == {"escalations_approved"}
    assert problems(found["escalations_approved"]) == {
        (f"audit.entries {decision}", "the requester decided their own escalation"),
        (f"audit.entries {second}", "escalated without an approved escalation"),
    }


def test_a_reassignment_with_its_history_trigger_off_fails_reassignments_recorded(world):
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.enquiries disable trigger c_record_assignments")
    with world.connect() as conn:
        with act_as(conn, world.a.actor("supervisor")) as cur:
            casework.reassign(cur, world.a.enquiry_id, world.a.caseworker2.staff_id, version=world.a.enquiry_version)
    with superuser(world.dsn) as conn:
        entry = conn.execute("select max(entry_id) from audit.entries where record_id = %s", [world.a.enquiry_id]).fetchone()[0]
    found = failing(world.dsn)
    assert set(found) == {"reassignments_recorded"}
    [violation] = found["reassignments_recorded"]
    assert (violation.object, violation.problem) == (f"audit.entries {entry}", "an assignee change has no assignment row")
    assert (violation.detail["from"], violation.detail["to"]) == (str(world.a.actor("caseworker").staff_id),
                                                                  str(world.a.caseworker2.staff_id))


def test_disposing_too_early_under_a_hold_without_anonymising_fails_retention_respected(world):
    cw, officer = world.a.actor("caseworker"), world.a.actor("retention_officer")
    with world.connect() as conn:
        with act_as(conn, cw) as cur:
            v = casework.transition(cur, world.a.enquiry_id, "resolved", version=world.a.enquiry_version)
            v = casework.transition(cur, world.a.enquiry_id, "closed", version=v)
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.enquiries disable trigger c_enforce_retention")
    with world.connect() as conn:
        with act_as(conn, officer) as cur:
            cur.execute("update tenant.enquiries set disposed_at = now(), disposed_by = %s, version = %s where enquiry_id = %s",
                        [officer.staff_id, v + 1, world.a.enquiry_id])
    found = failing(world.dsn)
    assert set(found) == {"retention_respected"}
    assert problems(found["retention_respected"]) == {
        (f"tenant.enquiries {world.a.enquiry_id}", "disposed of before its retention period ended"),
        (f"tenant.enquiries {world.a.enquiry_id}", "disposed of while a legal hold was active"),
        (f"tenant.enquiries {world.a.enquiry_id}", "personal data is still present after disposal"),
    }


def test_indexes_that_do_not_lead_with_tenant_id_fail_tenant_indexes_lead_with_tenant_id(world):
    with superuser(world.dsn) as conn:
        conn.execute("create index notes_by_body on tenant.notes (body)")
        conn.execute("create index entries_by_record on audit.entries (record_id)")
    found = failing(world.dsn)
    assert set(found) == {"tenant_indexes_lead_with_tenant_id"}
    assert objects(found["tenant_indexes_lead_with_tenant_id"]) == {"tenant.notes_by_body", "audit.entries_by_record"}


def test_views_that_show_deleted_rows_or_run_as_their_owner_fail_views_hide_soft_deleted_rows(world):
    with world.connect() as conn:
        with act_as(conn, world.b.actor("supervisor")) as cur:
            note = casework.add_note(cur, world.b.enquiry_id, "entered by mistake")
            cur.execute("update tenant.notes set deleted_at = now() where note_id = %s", [note])
    with superuser(world.dsn) as conn:
        conn.execute("create or replace view app.notes with (security_invoker = true) as select * from tenant.notes")
        conn.execute("alter view app.contacts set (security_invoker = false)")
    found = failing(world.dsn)
    assert set(found) == {"views_hide_soft_deleted_rows", "views_over_tenant_data_security_invoker"}
    assert problems(found["views_over_tenant_data_security_invoker"]) == {
        ("app.contacts", "the view is not security_invoker: it reads tenant data with its owner's rights")}
    assert problems(found["views_hide_soft_deleted_rows"]) == {
        ("app.notes", "the view does not filter on deleted_at IS NULL"),
        (f"app.notes {note}", "the view shows a soft-deleted row"),
        ("app.contacts", "the view is not security_invoker: it runs with its owner's rights"),
    }


def test_a_sealed_entry_or_seal_changed_behind_the_triggers_fails_audit_trail_tamper_free(world):
    with superuser(world.dsn) as conn:
        made = seals.seal(conn, max_entries=10)
        victim = conn.execute("select max(entry_id) from audit.entries where record_id = %s", [world.b.legal_hold_id]).fetchone()[0]
    with bypassing_triggers(world.dsn) as conn:   # a field the replay does not look at: only the seal can tell
        conn.execute("update audit.entries set recorded_at = recorded_at - interval '1 hour' where entry_id = %s", [victim])
        conn.execute("update audit.seals set sealed_by = 'nobody' where seal_id = %s", [made[0].seal_id])
    found = failing(world.dsn)
    assert set(found) == {"audit_trail_tamper_free"}
    assert problems(found["audit_trail_tamper_free"]) == {
        (f"audit.entries {victim}", "entry_changed"), (f"audit.seals {made[0].seal_id}", "seal_changed")}
    assert next(v for v in found["audit_trail_tamper_free"] if v.detail["entry_id"] == victim).tenant_id == world.b.tenant_id


def test_entries_left_unsealed_for_more_than_a_day_fail_audit_trail_sealed(world):
    with superuser(world.dsn) as conn:
        ids = [r[0] for r in conn.execute("select entry_id from audit.entries where tenant_id = %s order by entry_id limit 3",
                                          [world.a.tenant_id])]
    with bypassing_triggers(world.dsn) as conn:   # as if recorded two days ago and never sealed since
        conn.execute("update audit.entries set recorded_at = recorded_at - interval '2 days' where entry_id = any(%s)", [ids])
    found = failing(world.dsn)
    assert set(found) == {"audit_trail_sealed"}
    [violation] = found["audit_trail_sealed"]
    assert violation.object == f"audit.entries {ids[0]} to {ids[-1]}" and violation.detail["entries"] == 3
    assert violation.tenant_id == world.a.tenant_id


def test_an_entry_beyond_the_partitions_fails_default_partition_empty(world):
    when = datetime(2010, 1, 1, tzinfo=timezone.utc)   # a history load dated where no partition exists (never later than now: sql/036)
    with world.connect("enquiries_loader") as conn:
        with act_as(conn, world.a.actor("caseworker"), business_time=when) as cur:
            contact = casework.create_contact(cur, full_name="Future Citizen")
    with superuser(world.dsn) as conn:
        entry = conn.execute("select entry_id from audit.entries where record_id = %s", [contact]).fetchone()[0]
    found = failing(world.dsn)
    assert set(found) == {"default_partition_empty"}
    assert objects(found["default_partition_empty"]) == {f"audit.entries {entry}"}


def test_a_database_open_to_public_fails_database_closed_to_public(world):
    with superuser(world.dsn) as conn:
        name = conn.info.dbname
        conn.execute(f"grant temporary on database {name} to public")
        conn.execute(f"grant create on database {name} to enquiries_caseworker")
    found = failing(world.dsn)
    assert set(found) == {"database_closed_to_public"}
    assert problems(found["database_closed_to_public"]) == {
        (f"database {name}", "PUBLIC holds TEMPORARY on the database"),
        (f"database {name}", "enquiries_caseworker holds CREATE on the database"),
    }


# -- the command ---------------------------------------------------------------------------------

def test_check_exits_1_with_a_table_json_and_html_naming_the_failed_check_and_rows(world):
    with superuser(world.dsn) as conn:
        conn.execute("alter table tenant.notes no force row level security")
    table = run_cli("check", "--dsn", world.dsn)
    assert table.returncode == 1, table.stderr
    assert "FAIL: rls_enabled_and_forced (critical)" in table.stdout
    assert "tenant.notes" in table.stdout and f"{len(compliance.discover()) - 1} passed, 1 failed" in table.stdout

    only = run_cli("check", "--dsn", world.dsn, "--only", "audit_trail_complete")
    assert only.returncode == 0 and "1 passed, 0 failed (1 checks)" in only.stdout

    report = json.loads((j := run_cli("check", "--dsn", world.dsn, "--format", "json")).stdout)
    assert j.returncode == 1 and not report["passed"]
    [failed] = [c for c in report["checks"] if c["status"] != "pass"]
    assert failed["id"] == "rls_enabled_and_forced" and failed["violations"][0]["object"] == "tenant.notes"

    page = run_cli("check", "--dsn", world.dsn, "--format", "html")
    assert page.returncode == 1 and page.stdout.startswith("<!doctype html>")
    assert "Violations found" in page.stdout and "rls_enabled_and_forced" in page.stdout


def test_check_with_an_unknown_check_id_is_a_one_line_error_before_connecting():
    proc = run_cli("check", "--dsn", "postgresql://nobody@127.0.0.1:1/none", "--only", "no_such_check")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "unknown check(s): no_such_check" in proc.stderr
