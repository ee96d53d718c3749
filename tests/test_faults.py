"""Faults: backends terminated mid-transaction, and the server shut down immediately, while data
is being written. Afterwards no change is partial, none lacks its audit entry and no entry lacks
its change (the replay check of tests/test_audit.py over every table, plus entries without a
live row, department and workflow checks), and the generator resumes to the digest of a clean
run. A migration that fails half way is tested in tests/test_migrations.py
(test_failing_migration_reports_file_line_and_sqlstate_and_keeps_previous_version).

ENQUIRIES_LAB_LONG=1 kills more often, on larger runs.
"""

from __future__ import annotations

import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from invariants import COMMITTED, all_problems, create_db, drop_db, new_name, scalar

from enquiries_lab.bench import load
from enquiries_lab.embedded import EmbeddedServer
from enquiries_lab.generator import Params, dataset_digest, generate

LONG = os.environ.get("ENQUIRIES_LAB_LONG") == "1"
# small batches, so that a kill usually lands inside one and the run has many of them
PARAMS = Params(enquiries=2000 if LONG else 300, departments=3, seed=8, batch_size=50)
KILLS = 8 if LONG else 2
APPLICATION_NAME = "enqlab-fault-generator"
GENERATE = f"""
import json, sys
import psycopg
from enquiries_lab.errors import LabError
from enquiries_lab.generator import Params, generate
params = Params(**json.loads(sys.argv[2]))
jobs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
try:
    with psycopg.connect(sys.argv[1], autocommit=True, application_name={APPLICATION_NAME!r}) as conn:
        summary = generate(conn, params, jobs=jobs, dsn=sys.argv[1])
    print(f"generated {{summary.enquiries}} enquiries in {{summary.batches}} batches, {{summary.skipped_batches}} resumed")
except (LabError, psycopg.Error) as err:
    print(f"error: {{' '.join(str(err).split())}}", file=sys.stderr)
    sys.exit(1)
"""


def params_json(params: Params) -> str:
    return json.dumps({"enquiries": params.enquiries, "departments": params.departments, "seed": params.seed,
                       "batch_size": params.batch_size})


def start_generator(dsn: str, params: Params, jobs: int = 1) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", GENERATE, dsn, params_json(params), str(jobs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True)


def committed_batches(conn: psycopg.Connection) -> int:
    try:
        return conn.execute("select count(*) from lab_meta.generation_batches").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


def wait_for_a_batch_in_flight(dsn: str, proc: subprocess.Popen, min_batches: int) -> int | None:
    """Once `min_batches` have committed, the pid of the generator's backend while it is inside a
    batch transaction that has written something (it has a transaction id)."""
    deadline = time.monotonic() + 120
    with psycopg.connect(dsn, autocommit=True) as su:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return None
            if committed_batches(su) >= min_batches:
                row = su.execute(
                    "select pid from pg_stat_activity where datname = current_database() and application_name = %s "
                    "and state = 'active' and backend_xid is not null", [APPLICATION_NAME]).fetchone()
                if row:
                    return row[0]
            time.sleep(0.003)
    raise AssertionError("no batch in flight within two minutes")


def generation_problems(dsn: str) -> dict[str, list]:
    """The trail checks, and the generator's bookkeeping against the rows: every department holds
    exactly the enquiries of its committed batches and rounds, each with its one insert entry."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        problems = all_problems(conn)
        problems["departments_not_matching_committed_batches"] = conn.execute(
            f"""select d.code, {COMMITTED} as committed,
                       (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id)::int as present
                from tenant.departments d
                where {COMMITTED} <> (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id)""").fetchall()
        problems["enquiries_without_one_insert_entry"] = conn.execute(
            """with inserts as (select a.tenant_id, a.record_id, count(*) as n from audit.entries a
                                where a.table_name = 'tenant.enquiries' and a.action = 'insert' group by 1, 2)
               select e.enquiry_id from tenant.enquiries e
               left join inserts i on i.tenant_id = e.tenant_id and i.record_id = e.enquiry_id
               where i.n is distinct from 1""").fetchall()
    return {k: v for k, v in problems.items() if v}


@pytest.fixture(scope="module")
def clean_digest(admin_dsn, migrated_template):
    """The dataset digest of an uninterrupted run of PARAMS on the server under test."""
    name = new_name("faultclean")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            generate(conn, PARAMS)
            yield dataset_digest(conn)
    finally:
        drop_db(admin_dsn, name)


@pytest.mark.req("REQ-ATK-2")
def test_terminating_the_generators_backend_mid_batch_loses_nothing_and_it_resumes_to_the_same_data(
        admin_dsn, migrated_template, clean_digest):
    name = new_name("faultgen")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    log = []
    try:
        for kill in range(KILLS):
            proc = start_generator(dsn, PARAMS)
            try:
                pid = wait_for_a_batch_in_flight(dsn, proc, min_batches=1 + 2 * kill)
                if pid is None:
                    break  # finished before this kill: the run was too short for so many
                with psycopg.connect(admin_dsn, autocommit=True) as su:
                    assert su.execute("select pg_terminate_backend(%s, 10000)", [pid]).fetchone()[0]
            finally:
                out, err = proc.communicate(timeout=60)
            with psycopg.connect(dsn) as conn:
                batches = committed_batches(conn)
            log.append((batches, proc.returncode, err.strip()))
            assert proc.returncode == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (out, err)
            assert generation_problems(dsn) == {}, f"after kill {kill + 1}"
        assert len(log) >= 1, "the generation never got killed"
        proc = start_generator(dsn, PARAMS)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert dataset_digest(conn) == clean_digest
            assert scalar(conn, "select count(*) from tenant.enquiries") == PARAMS.enquiries
        assert generation_problems(dsn) == {}
        print(f"\ngenerator backend terminated {len(log)} times mid-batch (committed batches at each kill, exit, "
              f"message): {log}; resumed: {out.strip()}")
    finally:
        drop_db(admin_dsn, name)


def job_processes(pid: int) -> list[int]:
    """The generator's job processes: children of `pid` started by multiprocessing's spawn
    (not its resource tracker)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid and b"spawn_main" in cmdline:
                children.append(int(entry))
    return children


def kill_a_job_process_once_a_batch_committed(dsn: str, proc: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """SIGKILL one of the generator's job processes once a batch has committed; the generator's
    (exit status, stdout, stderr) once it exits, or a failure if it is still running `timeout` s later."""
    try:
        deadline = time.monotonic() + 120
        with psycopg.connect(dsn, autocommit=True) as su:
            while committed_batches(su) < 1 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        victims = job_processes(proc.pid)
        assert proc.poll() is None and victims, "the generation finished before a job process could be killed"
        os.kill(victims[0], signal.SIGKILL)
    finally:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:   # hung: take its job processes down with it
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            pytest.fail(f"the generator did not exit after a job process was killed: {err[-500:]}")
    return proc.returncode, out, err


@pytest.mark.req("REQ-ATK-2")
def test_a_killed_job_process_stops_the_run_in_one_line_and_it_resumes_to_the_same_data(
        admin_dsn, migrated_template, clean_digest):
    """With --jobs 2, SIGKILL one of the job processes while batches are in flight: the run must
    stop (not wait for ever on a batch nobody will finish) with one line, leave only complete
    batches, and a second run must finish the same data."""
    name = new_name("faultjob")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        returncode, out, err = kill_a_job_process_once_a_batch_committed(dsn, start_generator(dsn, PARAMS, jobs=2),
                                                                         timeout=120)
        assert returncode == 1 and len(err.strip().splitlines()) == 1, (out, err)
        assert "generator process ended unexpectedly" in err and "Traceback" not in err, err
        assert generation_problems(dsn) == {}
        proc = start_generator(dsn, PARAMS, jobs=2)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert dataset_digest(conn) == clean_digest
        assert generation_problems(dsn) == {}
    finally:
        drop_db(admin_dsn, name)


def test_a_run_stopped_by_a_killed_job_process_exits_even_with_thousands_of_batches_queued(
        admin_dsn, migrated_template):
    """The queue of a large run holds more jobs than a pipe's buffer; once a job process dies,
    the rest are never taken, and the generator must still exit (it waited at exit for the
    queue to drain, for ever, before `cancel_join_thread`)."""
    name = new_name("faultqueue")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        returncode, out, err = kill_a_job_process_once_a_batch_committed(
            dsn, start_generator(dsn, Params(enquiries=200_000, departments=3, seed=8, batch_size=50), jobs=2), timeout=60)
        assert returncode == 1 and "generator process ended unexpectedly" in err, (out, err)
        assert generation_problems(dsn) == {}
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture
def loaded(admin_dsn, migrated_template):
    name = new_name("faultload")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            generate(conn, Params(enquiries=300, departments=3, seed=4, batch_size=500))
        yield dsn
    finally:
        drop_db(admin_dsn, name)


@pytest.mark.req("REQ-ATK-2")
def test_terminating_backends_during_the_load_run_leaves_every_transaction_all_or_nothing(loaded):
    plan = load.prepare(loaded, seed=4)
    result = load.run(loaded, plan, clients=6 if LONG else 4, duration=60.0 if LONG else 8.0, max_ops=50_000, seed=4,
                      kill_every=0.25)
    print("\n" + load.report(result))
    failed = {check: rows for check, rows in result.problems.items() if rows}
    assert failed == {}, failed
    assert result.kills > 5 and result.kills_in_transaction > 0 and result.connection_losses > 0
    assert result.committed_txs > 100


@pytest.mark.embedded
def test_an_immediate_shutdown_mid_generation_recovers_and_resumes_to_the_same_data(clean_digest):
    """A private embedded PostgreSQL 18 (whatever server the suite runs against), stopped with
    `pg_ctl -m immediate` (no checkpoint: crash recovery on restart) while a batch is in flight.
    The digest is server-independent, so the clean run's is the one on the server under test."""
    home = Path(tempfile.mkdtemp(prefix="enqlab-crash-"))
    home.chmod(0o755)  # the embedded server's system user must enter it when we are root
    server = EmbeddedServer(home)
    server.start()
    log = []
    try:
        admin = server.dsn("postgres")
        crashed = create_db(admin, "crashed")
        with psycopg.connect(crashed, autocommit=True) as conn:
            from enquiries_lab import migrations

            migrations.migrate(conn)
        digest = clean_digest
        for crash in range(3 if LONG else 1):
            proc = start_generator(crashed, PARAMS)
            try:
                pid = wait_for_a_batch_in_flight(crashed, proc, min_batches=1 + 3 * crash)
                assert pid is not None, "the generation finished before the crash"
                stopped = server._run("pg_ctl", "-D", str(server.data_dir), "-m", "immediate", "-w", "stop")
                assert stopped.returncode == 0, stopped.stderr
            finally:
                out, err = proc.communicate(timeout=60)
            assert proc.returncode == 1 and "Traceback" not in err, (out, err)
            server.start()  # crash recovery
            with psycopg.connect(crashed) as conn:
                log.append((committed_batches(conn), err.strip()))
            assert generation_problems(crashed) == {}, f"after crash {crash + 1}"
        proc = start_generator(crashed, PARAMS)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        with psycopg.connect(crashed, autocommit=True) as conn:
            assert dataset_digest(conn) == digest
        assert generation_problems(crashed) == {}
        recovered = [line for line in server.log_file.read_text(errors="replace").splitlines()
                     if "redo done" in line or "database system was interrupted" in line]
        assert recovered, "the log shows no crash recovery"
        print(f"\nimmediate shutdown mid-batch {len(log)} time(s) (committed batches, generator's message): {log}; "
              f"recovery: {recovered[-1].strip()}; resumed: {out.strip()}")
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)


def test_the_checks_catch_an_unaudited_change_and_an_orphaned_entry(admin_dsn, world_template):
    """The fault checks are not vacuous: a change made with the triggers off (superuser, replica
    mode) and an entry whose row is gone are both reported."""
    name = new_name("faultcheck")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert all_problems(conn) == {"replay_mismatches": [], "entries_without_live_row": [],
                                          "workflow_violations": [], "cross_tenant_entries": []}
            conn.execute("set session_replication_role = replica")
            conn.execute("update tenant.enquiries set subject = 'changed behind the trail' where reference = 'AAA-000001'")
            conn.execute("delete from tenant.legal_holds where reason = 'Litigation pending.' and tenant_id = "
                         "(select tenant_id from tenant.departments where code = 'BBB')")
            conn.execute("reset session_replication_role")
            problems = all_problems(conn)
        assert [t for t, _ in problems["replay_mismatches"]] == ["enquiries"]
        assert [t for t, _ in problems["entries_without_live_row"]] == ["legal_holds"]
    finally:
        drop_db(admin_dsn, name)



def test_a_connection_lost_mid_batch_is_reported_as_such_not_as_a_generator_bug(admin_dsn, migrated_template,
                                                                               monkeypatch):
    from enquiries_lab.errors import LabError
    from enquiries_lab.generator import run as engine

    name = new_name("faultmsg")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    real = engine._statements
    params = Params(enquiries=50, departments=1, seed=1, batch_size=50)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, psycopg.connect(dsn, autocommit=True) as admin:
            def statements_then_lose_the_connection(kind, items):
                if kind == "transition":  # round 1: round 0 (the new enquiries) has committed
                    admin.execute("select pg_terminate_backend(%s, 10000)", [conn.info.backend_pid])  # the server ends it
                return real(kind, items)

            monkeypatch.setattr(engine, "_statements", statements_then_lose_the_connection)
            with pytest.raises(LabError) as err:
                generate(conn, params)
        message = str(err.value)
        assert "57P01" in message or "connection" in message, message
        assert "generator bug" not in message, message
        with psycopg.connect(dsn) as check:
            # the committed round is there with its audit; nothing of the round in flight
            assert scalar(check, "select count(*) from tenant.enquiries") == 50
            assert scalar(check, "select count(*) from tenant.enquiries where version > 1") == 0
            assert scalar(check, "select count(*) from audit.entries where table_name = 'tenant.enquiries'") == 50
            assert scalar(check, "select rounds_done from lab_meta.batches_in_progress") == 1
            assert scalar(check, "select count(*) from lab_meta.generation_batches") == 0
        # running it again finishes the batch from its next round: the same data as a clean run
        monkeypatch.undo()
        with psycopg.connect(dsn, autocommit=True) as conn:
            generate(conn, params)
        clean = create_db(admin_dsn, name + "c", template=migrated_template)
        try:
            with psycopg.connect(clean, autocommit=True) as conn:
                generate(conn, params)
            with psycopg.connect(dsn, autocommit=True) as resumed, psycopg.connect(clean, autocommit=True) as fresh:
                assert scalar(resumed, "select count(*) from lab_meta.batches_in_progress") == 0
                assert dataset_digest(resumed) == dataset_digest(fresh)
        finally:
            drop_db(admin_dsn, name + "c")
    finally:
        drop_db(admin_dsn, name)
