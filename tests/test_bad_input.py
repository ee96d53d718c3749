"""Bad input: every public function of enquiries_lab.casework and the CLI commands, fed invalid
values (unknown status, illegal transition, negative and huge numbers, wrong types, None,
oversize text, hostile strings). Each must fail with a one-line error naming the problem (and
the SQLSTATE when the database refused it), exit non-zero without a traceback for the CLI, and
write nothing (table and audit counts, and the databases on the server, before and after).

Bad generate parameters covered by tests/test_generator.py (zero/negative enquiries,
departments, dates in the wrong order, malformed dates, negative skew, zero batch size) and bad
DSNs covered by tests/test_cli.py are not repeated here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from invariants import create_db, drop_db, new_name, scalar, table_counts
from world import OPERATOR, load_world

from enquiries_lab import casework
from enquiries_lab.errors import ConflictError, DatabaseError, LabError
from enquiries_lab.session import act_as

HOSTILE = "'); drop table tenant.enquiries; --"


@pytest.fixture(scope="module")
def w(admin_dsn, world_template):
    name = new_name("badinput")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        yield load_world(dsn)
    finally:
        drop_db(admin_dsn, name)


def written(w) -> tuple:
    with psycopg.connect(w.dsn) as conn:
        return (table_counts(conn), scalar(conn, "select count(*) from audit.entries"),
                scalar(conn, "select md5(string_agg(to_jsonb(t)::text, '' order by t::text)) from tenant.enquiries t"),
                scalar(conn, "select md5(string_agg(to_jsonb(t)::text, '' order by t::text)) from tenant.escalations t"),
                scalar(conn, "select md5(string_agg(to_jsonb(t)::text, '' order by t::text)) from tenant.legal_holds t"))


def refused(w, role: str | None, call, *, login: str = "enquiries_app") -> LabError:
    """Run `call(cur, w)` as `role` of department A (role None: `call(conn, w)` on the bare login);
    return the LabError it raised, after checking it is one line and nothing was written."""
    before = written(w)
    with w.connect(login) as conn:
        with pytest.raises(LabError) as err:
            if role is None:
                call(conn, w)
            else:
                with act_as(conn, w.a.actor(role)) as cur:
                    call(cur, w)
    message = str(err.value)
    assert "\n" not in message and message.strip() == message and message, repr(message)
    assert written(w) == before, message
    return err.value


V = "version"  # the enquiry's current version, filled in per call
CASES = {
    # transition
    "transition-unknown-status": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "teleported", version=w.a.enquiry_version), "EL100", "teleported"),
    "transition-illegal": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "closed", version=w.a.enquiry_version), "EL100", "in_progress -> closed"),
    "transition-status-none": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, None, version=w.a.enquiry_version), "EL100", "<NULL>"),
    "transition-status-number": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, 42, version=w.a.enquiry_version), "EL100", "42"),
    "transition-hostile-status": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, HOSTILE, version=w.a.enquiry_version), "EL100", "drop table"),
    "transition-wrong-role": ("auditor", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=w.a.enquiry_version), "42501", "permission denied"),
    "transition-negative-version": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=-5), "40001", "version"),
    "transition-stale-version": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=w.a.enquiry_version - 1), "40001", "version"),
    "transition-int4-max-version": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=2**31 - 1), "22003", "out of range"),
    "transition-huge-version": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=2**70), "22003", "out of range"),
    "transition-malformed-enquiry": ("caseworker", lambda c, w: casework.transition(c, "not-a-uuid", "resolved", version=1), None, "enquiry_id must be a UUID"),
    "transition-none-enquiry": ("caseworker", lambda c, w: casework.transition(c, None, "resolved", version=1), None, "enquiry_id must be a UUID"),
    "transition-other-departments-enquiry": ("caseworker", lambda c, w: casework.transition(c, w.b.enquiry_id, "resolved", version=w.b.enquiry_version), None, "not found in this department"),
    "transition-malformed-assignee": ("supervisor", lambda c, w: casework.transition(c, w.a.enquiry_id, "awaiting_citizen", version=w.a.enquiry_version, assign_to="nobody"), "22P02", "nobody"),
    # reassign
    "reassign-to-none": ("supervisor", lambda c, w: casework.reassign(c, w.a.enquiry_id, None, version=w.a.enquiry_version), "EL103", "unassigned"),
    "reassign-to-nobody": ("supervisor", lambda c, w: casework.reassign(c, w.a.enquiry_id, uuid.uuid4(), version=w.a.enquiry_version), "EL104", "active caseworker or supervisor"),
    "reassign-to-other-department": ("supervisor", lambda c, w: casework.reassign(c, w.a.enquiry_id, w.b.actor("caseworker").staff_id, version=w.a.enquiry_version), "EL104", "of the department"),
    "reassign-by-caseworker": ("caseworker", lambda c, w: casework.reassign(c, w.a.enquiry_id, w.a.caseworker2.staff_id, version=w.a.enquiry_version), "EL103", "caseworker"),
    # contacts
    "contact-name-none": ("caseworker", lambda c, w: casework.create_contact(c, full_name=None), "23502", "full_name"),
    "contact-name-empty": ("caseworker", lambda c, w: casework.create_contact(c, full_name=""), "23514", "full_name"),
    "contact-name-oversize": ("caseworker", lambda c, w: casework.create_contact(c, full_name="x" * 10_000), "23514", "full_name"),
    "contact-name-nul-byte": ("caseworker", lambda c, w: casework.create_contact(c, full_name="a\x00b"), None, "NUL"),
    "contact-email-oversize": ("caseworker", lambda c, w: casework.create_contact(c, full_name="A Citizen", email="e" * 321), "23514", "email"),
    "contact-postcode-oversize": ("caseworker", lambda c, w: casework.create_contact(c, full_name="A Citizen", postcode=HOSTILE), "23514", "postcode"),
    # enquiries
    "enquiry-subject-oversize": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=w.a.contact_id, enquiry_type="general", channel="email", subject="s" * 301, body="b"), "23514", "subject"),
    "enquiry-subject-empty": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=w.a.contact_id, enquiry_type="general", channel="email", subject="", body="b"), "23514", "subject"),
    "enquiry-body-oversize": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=w.a.contact_id, enquiry_type="general", channel="email", subject="s", body="b" * 20_001), "23514", "body"),
    "enquiry-hostile-reference": ("caseworker", lambda c, w: casework.create_enquiry(c, reference=HOSTILE, contact_id=w.a.contact_id, enquiry_type="general", channel="email", subject="s", body="b"), "23514", "reference"),
    "enquiry-duplicate-reference": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-000001", contact_id=w.a.contact_id, enquiry_type="general", channel="email", subject="s", body="b"), "23505", "reference"),
    "enquiry-unknown-channel": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=w.a.contact_id, enquiry_type="general", channel="fax", subject="s", body="b"), "23514", "core.channel"),
    "enquiry-unhandled-type": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=w.a.contact_id, enquiry_type="alien", channel="email", subject="s", body="b"), "EL106", "alien"),
    "enquiry-malformed-contact": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id="x", enquiry_type="general", channel="email", subject="s", body="b"), "22P02", "uuid"),
    "enquiry-none-contact": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=None, enquiry_type="general", channel="email", subject="s", body="b"), "23502", "contact_id"),
    "enquiry-other-departments-contact": ("caseworker", lambda c, w: casework.create_enquiry(c, reference="AAA-9", contact_id=w.b.contact_id, enquiry_type="general", channel="email", subject="s", body="b"), "23503", "contact_id"),
    # notes
    "note-unknown-direction": ("caseworker", lambda c, w: casework.add_note(c, w.a.enquiry_id, "x", direction="sideways"), "23514", "direction"),
    "note-body-none": ("caseworker", lambda c, w: casework.add_note(c, w.a.enquiry_id, None), "23502", "body"),
    "note-body-oversize": ("caseworker", lambda c, w: casework.add_note(c, w.a.enquiry_id, "x" * 100_001), "23514", "body"),
    "note-unknown-channel": ("caseworker", lambda c, w: casework.add_note(c, w.a.enquiry_id, "x", direction="outbound", channel="fax"), "23514", "core.channel"),
    "note-malformed-enquiry": ("caseworker", lambda c, w: casework.add_note(c, HOSTILE, "x"), "22P02", "uuid"),
    "note-other-departments-enquiry": ("caseworker", lambda c, w: casework.add_note(c, w.b.enquiry_id, "x"), "23503", "enquiry"),
    # escalations
    "escalation-reason-none": ("caseworker", lambda c, w: casework.request_escalation(c, w.a.enquiry_id, None), "23502", "reason"),
    "escalation-reason-oversize": ("caseworker", lambda c, w: casework.request_escalation(c, w.a.enquiry_id, "r" * 100_000), "23514", "reason"),
    "escalation-malformed-enquiry": ("caseworker", lambda c, w: casework.request_escalation(c, "x", "r"), "22P02", "uuid"),
    "decide-unknown-escalation": ("supervisor", lambda c, w: casework.decide_escalation(c, uuid.uuid4(), approve=True), None, "not found in this department"),
    "decide-malformed-escalation": ("supervisor", lambda c, w: casework.decide_escalation(c, "x", approve=True), "22P02", "uuid"),
    "decide-twice": ("supervisor", lambda c, w: casework.decide_escalation(c, w.a.escalation_id, approve=False), "EL105", "already"),
    "decide-other-departments-escalation": ("supervisor", lambda c, w: casework.decide_escalation(c, w.b.escalation_id, approve=True), None, "not found in this department"),
    # legal holds, disposal, soft delete
    "hold-reason-none": ("supervisor", lambda c, w: casework.place_legal_hold(c, w.a.enquiry_id, None), "23502", "reason"),
    "hold-reason-empty": ("supervisor", lambda c, w: casework.place_legal_hold(c, w.a.enquiry_id, ""), "23514", "reason"),
    "hold-malformed-enquiry": ("supervisor", lambda c, w: casework.place_legal_hold(c, "x", "r"), "22P02", "uuid"),
    "release-malformed-hold": ("supervisor", lambda c, w: casework.release_legal_hold(c, "x"), "22P02", "uuid"),
    "dispose-malformed-enquiry": ("retention_officer", lambda c, w: casework.dispose_enquiry(c, "x"), "22P02", "uuid"),
    "dispose-unknown-enquiry": ("retention_officer", lambda c, w: casework.dispose_enquiry(c, uuid.uuid4()), "EL304", "not found"),
    "dispose-open-enquiry": ("retention_officer", lambda c, w: casework.dispose_enquiry(c, w.a.enquiry_id), "EL300", "closed"),
    "soft-delete-unknown-enquiry": ("supervisor", lambda c, w: casework.soft_delete_enquiry(c, uuid.uuid4(), version=1), None, "not found in this department"),
    "soft-delete-by-caseworker": ("caseworker", lambda c, w: casework.soft_delete_enquiry(c, w.a.enquiry_id, version=w.a.enquiry_version), "EL203", "soft-delete"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_casework_refuses_bad_input_with_one_line_naming_it_and_writes_nothing(w, case):
    role, call, sqlstate, named = CASES[case]
    err = refused(w, role, call)
    assert getattr(err, "sqlstate", None) == sqlstate, (err, getattr(err, "sqlstate", None))
    if sqlstate:
        assert isinstance(err, DatabaseError) and f"SQLSTATE {sqlstate}" in str(err)
        assert isinstance(err, ConflictError) == (sqlstate == "40001")
    assert named.lower() in str(err).lower(), str(err)


PROVISIONING = {
    "code-malformed": (dict(code="bad code"), "23514", "code"),
    "code-hostile": (dict(code=HOSTILE), "23514", "code"),
    "code-taken": (dict(code="AAA"), "23505", "code"),
    "name-none": (dict(name=None), "23502", "name"),
    "name-oversize": (dict(name="n" * 1000), "23514", "name"),
    "sla-negative": (dict(enquiry_types={"general": -1}), "23514", "sla_days"),
    "sla-zero": (dict(enquiry_types={"general": 0}), "23514", "sla_days"),
    "sla-huge": (dict(enquiry_types={"general": 10**12}), "22003", "out of range"),
    "type-unknown": (dict(enquiry_types={"alien": 5}), "23503", "enquiry_type"),
    "team-twice": (dict(teams=["Casework", "Casework"]), "23505", "name"),
    "tenant-taken": (dict(tenant_id="{a}"), "23505", "departments_pkey"),
    "tenant-malformed": (dict(tenant_id="x"), None, "tenant_id must be a UUID"),
    "operator-malformed": (dict(operator_id=HOSTILE), None, "operator_id must be a UUID"),
}


@pytest.mark.parametrize("case", list(PROVISIONING))
def test_provisioning_refuses_bad_input_with_one_line_naming_it_and_writes_nothing(w, case):
    changes, sqlstate, named = PROVISIONING[case]
    args = dict(operator_id=OPERATOR, code="ZED", name="Department Zed", enquiry_types={"general": 5}, teams=["Casework"])
    args.update({k: (w.a.tenant_id if v == "{a}" else v) for k, v in changes.items()})
    err = refused(w, None, lambda conn, w: casework.provision_department(conn, **args), login="enquiries_loader")
    assert getattr(err, "sqlstate", None) == sqlstate and named.lower() in str(err).lower(), str(err)


STAFF = {
    "role-unknown": (dict(role="wizard"), None, "unknown role 'wizard'"),
    "role-provisioner": (dict(role="provisioner"), None, "platform role"),
    "role-none": (dict(role=None), None, "unknown role None"),
    "email-malformed": (dict(email="nope"), "23514", "email"),
    "email-taken": (dict(email="caseworker@aaa.example.gov.uk"), "23505", "email"),
    "name-none": (dict(full_name=None), "23502", "full_name"),
    "name-hostile-oversize": (dict(full_name=HOSTILE * 100), "23514", "full_name"),
    "tenant-malformed": (dict(tenant_id="x"), None, "tenant_id must be a UUID"),
    "tenant-unknown": (dict(tenant_id=uuid.UUID(int=7)), "23503", "tenant_id"),
    "team-of-other-department": (dict(team_id="{b-team}"), "23503", "team_id"),
}


@pytest.mark.parametrize("case", list(STAFF))
def test_adding_staff_refuses_bad_input_with_one_line_naming_it_and_writes_nothing(w, case):
    changes, sqlstate, named = STAFF[case]
    args = dict(operator_id=OPERATOR, tenant_id=w.a.tenant_id, full_name="New Person", email="new@aaa.example.gov.uk",
                role="caseworker", team_id=None)
    args.update({k: (w.b.team_id if v == "{b-team}" else v) for k, v in changes.items()})
    err = refused(w, None, lambda conn, w: casework.add_staff(conn, **args), login="enquiries_loader")
    assert getattr(err, "sqlstate", None) == sqlstate and named.lower() in str(err).lower(), str(err)


def test_the_application_login_cannot_provision(w):
    err = refused(w, None, lambda conn, w: casework.provision_department(
        conn, operator_id=OPERATOR, code="ZED", name="Department Zed", enquiry_types={"general": 5}))
    assert err.sqlstate == "42501" and "enquiries_provisioner" in str(err)


# -- wrong Python types, refused before they reach the database (they once committed) -------------

WRONG_TYPES = {
    "transition-version-none": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=None), "version"),
    "transition-version-text": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version="3"), "version"),
    "transition-version-float": ("caseworker", lambda c, w: casework.transition(c, w.a.enquiry_id, "resolved", version=w.a.enquiry_version + 0.4), "version"),
    "soft-delete-version-none": ("supervisor", lambda c, w: casework.soft_delete_enquiry(c, w.a.enquiry_id, version=None), "version"),
    "provision-enquiry-types-none": (None, lambda c, w: casework.provision_department(c, operator_id=OPERATOR, code="ZED", name="Department Zed", enquiry_types=None), "enquiry_types"),
    "provision-teams-none": (None, lambda c, w: casework.provision_department(c, operator_id=OPERATOR, code="ZED", name="Department Zed", enquiry_types={"general": 5}, teams=None), "teams"),
    "provision-teams-a-string": (None, lambda c, w: casework.provision_department(c, operator_id=OPERATOR, code="ZED", name="Department Zed", enquiry_types={"general": 5}, teams="Casework"), "teams"),
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_wrong_python_types_are_refused_naming_the_parameter(world, case):
    # a world of its own: a regression would commit some of these
    role, call, named = WRONG_TYPES[case]
    err = refused(world, role, call, login="enquiries_loader" if role is None else "enquiries_app")
    assert named in str(err)


def pending_escalation(w):
    with w.connect() as conn:
        with act_as(conn, w.a.caseworker2) as cur:
            return casework.request_escalation(cur, w.a.enquiry_id, "A pending request.")


@pytest.mark.parametrize("value", ["no", "false"])
def test_deciding_an_escalation_with_a_non_boolean_is_refused(world, value):
    escalation = pending_escalation(world)  # a world of its own: a regression would approve it
    err = refused(world, "supervisor", lambda c, w: casework.decide_escalation(c, escalation, approve=value))
    assert "approve" in str(err)


@pytest.mark.parametrize("which", ["unknown", "other-department"])
def test_releasing_a_legal_hold_that_is_not_there_is_an_error(w, which):
    hold = uuid.uuid4() if which == "unknown" else w.b.legal_hold_id
    err = refused(w, "supervisor", lambda c, w: casework.release_legal_hold(c, hold))
    assert "not found" in str(err)


def test_an_unknown_priority_is_named_in_the_error(w):
    err = refused(w, "caseworker", lambda c, w: casework.create_enquiry(
        c, reference="AAA-9", contact_id=w.a.contact_id, enquiry_type="general", channel="email", subject="s",
        body="b", priority="whenever"))
    assert "priority" in str(err), str(err)


# -- the CLI --------------------------------------------------------------------------------------

CLEARED = ("ENQUIRIES_LAB_DSN", "DATABASE_URL", "ENQUIRIES_LAB_SQL_DIR", "ENQUIRIES_LAB_DEBUG", "ENQUIRIES_LAB_HOME",
           "PGPASSWORD", "PGSERVICE", "PGDATABASE", "PGUSER", "PGHOST", "PGPORT")


def console_script() -> str:
    beside = Path(sys.executable).parent / "enquiries-lab"
    return str(beside) if beside.exists() else "enquiries-lab"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in CLEARED} | (env or {})
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=full_env, timeout=120,
                          stdin=subprocess.DEVNULL)


def databases(admin_dsn: str) -> set[str]:
    with psycopg.connect(admin_dsn) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


def created_by(case: str) -> str:
    """The prefix of the databases a command creates (other tests' databases come and go meanwhile)."""
    for command, prefix in (("bench-generate", "enqlab_bench_gen"), ("bench-rls", "enqlab_bench_rls"),
                            ("bench-load", "enqlab_bench_load")):
        if case.startswith(command):
            return prefix
    return "enqlab_bench"


def lab_state(dsn: str) -> tuple:
    with psycopg.connect(dsn) as conn:
        tables = scalar(conn, "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                              "where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')")
        if not scalar(conn, "select to_regclass('tenant.enquiries') is not null"):
            return (tables,)
        return (tables, table_counts(conn), scalar(conn, "select count(*) from audit.entries"),
                scalar(conn, "select to_regclass('lab_meta.generation_runs') is not null"))


@pytest.fixture(scope="module")
def cli_db(admin_dsn, migrated_template):
    """A migrated, empty lab database for the commands that take --dsn."""
    name = new_name("badcli")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        yield dsn
    finally:
        drop_db(admin_dsn, name)


def assert_one_line_error(proc, named: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode in (1, 2) and "Traceback" not in output, (proc.returncode, output)
    errors = [line for line in proc.stderr.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1 and named.lower() in errors[0].lower(), proc.stderr
    if proc.returncode == 1:
        assert proc.stderr.strip() == errors[0], proc.stderr
    else:  # a usage error: click's usage lines, then the one error line
        assert [line for line in proc.stderr.splitlines()
                if line.strip() and not line.startswith(("Usage:", "Try "))] == errors, proc.stderr


CLI_CASES = {
    # generate (beyond tests/test_generator.py)
    "generate-enquiries-huge": (["generate", "--dsn", "{dsn}", "--enquiries", "99999999999"], "--enquiries"),
    "generate-enquiries-not-a-number": (["generate", "--dsn", "{dsn}", "--enquiries", "ten"], "--enquiries"),
    "generate-skew-nan": (["generate", "--dsn", "{dsn}", "--enquiries", "10", "--skew", "nan"], "--skew"),
    "generate-skew-inf": (["generate", "--dsn", "{dsn}", "--enquiries", "10", "--skew", "inf"], "--skew"),
    "generate-batch-size-huge": (["generate", "--dsn", "{dsn}", "--enquiries", "10", "--batch-size", "1000000000"], "--batch-size"),
    "generate-seed-not-a-number": (["generate", "--dsn", "{dsn}", "--seed", "x"], "--seed"),
    "generate-end-impossible-date": (["generate", "--dsn", "{dsn}", "--end", "2030-02-30"], "2030-02-30"),
    "generate-start-hostile": (["generate", "--dsn", "{dsn}", "--start", HOSTILE], "not a date"),
    "generate-departments-negative": (["generate", "--dsn", "{dsn}", "--enquiries", "10", "--departments", "-3"], "--departments"),
    # migrate, reset, db, demo
    "migrate-unknown-option": (["migrate", "--dsn", "{dsn}", "--force"], "--force"),
    "migrate-extra-argument": (["migrate", "--dsn", "{dsn}", "--status", "now"], "now"),
    "reset-system-database-by-empty-name": (["reset", "--dsn", "{admin_nodb}"], "system database"),
    "db-unknown-command": (["db", "frobnicate"], "frobnicate"),
    "db-start-home-too-long": (["db", "start"], "too long"),
    "demo-unknown-option": (["demo", "--enquiries", "5"], "--enquiries"),
    # bench
    "bench-generate-enquiries-zero": (["bench", "generate", "--dsn", "{admin}", "--enquiries", "0"], "--enquiries"),
    "bench-rls-rows-tiny": (["bench", "rls", "--dsn", "{admin}", "--rows", "5"], "--rows"),
    "bench-rls-repeats-one": (["bench", "rls", "--dsn", "{admin}", "--repeats", "1"], "--repeats"),
    "bench-load-clients-zero": (["bench", "load", "--dsn", "{admin}", "--clients", "0"], "--clients"),
    "bench-load-duration-negative": (["bench", "load", "--dsn", "{admin}", "--duration", "-1"], "--duration"),
    "bench-load-kill-every-zero": (["bench", "load", "--dsn", "{admin}", "--kill-every", "0"], "--kill-every"),
    "bench-load-enquiries-tiny": (["bench", "load", "--dsn", "{admin}", "--enquiries", "10"], "--enquiries"),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_refuses_bad_options_with_one_line_and_writes_nothing(admin_dsn, cli_db, tmp_path, case):
    args, named = CLI_CASES[case]
    from psycopg.conninfo import make_conninfo

    from enquiries_lab.config import parse_dsn

    env = {}
    if case == "db-start-home-too-long":
        env["ENQUIRIES_LAB_HOME"] = str(tmp_path / ("x" * 120))
    fill = {"{dsn}": cli_db, "{admin}": admin_dsn,  # no database name: libpq takes the user's, a system database here
            "{admin_nodb}": make_conninfo(**{k: v for k, v in parse_dsn(admin_dsn).items() if k != "dbname"})}
    before = databases(admin_dsn), lab_state(cli_db)
    proc = cli(*[fill.get(a, a) for a in args], env=env)
    assert_one_line_error(proc, named)
    new = databases(admin_dsn) - before[0]
    assert [d for d in new if d.startswith(created_by(case))] == []
    assert lab_state(cli_db) == before[1]
    assert not (tmp_path / ("x" * 120)).exists()


@pytest.mark.parametrize("jobs", ["0"])
def test_generate_with_bad_jobs_gives_one_line_and_leaves_an_empty_database_empty(empty_db, jobs):
    before = lab_state(empty_db)
    proc = cli("generate", "--dsn", empty_db, "--enquiries", "10", "--jobs", jobs)
    assert_one_line_error(proc, "--jobs")
    assert lab_state(empty_db) == before


def test_bench_generate_refuses_a_negative_naive_sample():
    # an unreachable server: a refused option is reported first, before connecting
    proc = cli("bench", "generate", "--dsn", "postgresql://nobody@127.0.0.1:1/x", "--enquiries", "10",
               "--naive-enquiries", "-1")
    assert_one_line_error(proc, "--naive-enquiries")


def test_the_cli_and_the_library_allow_the_same_number_of_jobs():
    from enquiries_lab import cli as cli_module
    from enquiries_lab.generator.run import MAX_JOBS

    assert (cli_module.JOBS.min, cli_module.JOBS.max) == (1, MAX_JOBS)


@pytest.mark.parametrize("mode", [0o755, 0o600])
def test_db_start_with_a_home_that_is_a_file_says_so(mode):
    import tempfile

    with tempfile.NamedTemporaryFile(dir="/tmp", prefix="enqlab-homefile-") as home:
        Path(home.name).chmod(mode)
        for command in ("start", "status", "stop", "url"):
            proc = cli("db", command, env={"ENQUIRIES_LAB_HOME": home.name})
            assert_one_line_error(proc, "not a directory")
        assert Path(home.name).is_file()
