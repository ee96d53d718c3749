"""The installed `enquiries-lab` console script, run as a subprocess against a real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from enquiries_lab.config import parse_dsn, redact, with_database
from enquiries_lab.database import LAB_MARKER
from enquiries_lab import planner_stats
from enquiries_lab.embedded import EmbeddedServer

SECRET = "secret"
CLEARED = ("ENQUIRIES_LAB_DSN", "DATABASE_URL", "ENQUIRIES_LAB_SQL_DIR", "ENQUIRIES_LAB_DEBUG",
           "ENQUIRIES_LAB_HOME", "PGPASSWORD", "PGSERVICE", "PGDATABASE", "PGUSER", "PGHOST", "PGPORT")


def console_script() -> str:
    beside = Path(sys.executable).parent / "enquiries-lab"
    if beside.exists():
        return str(beside)
    found = shutil.which("enquiries-lab")
    assert found, "the enquiries-lab console script is not installed (pip install -e .)"
    return found


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    full_env.update(env or {})
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=full_env, timeout=120)


def assert_one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sql"
    d.mkdir()
    (d / "001_create_a.sql").write_text("create table a (id integer primary key);\n")
    (d / "002_create_b.sql").write_text("create table b (id integer primary key);\n")
    (d / "003_seed_a.sql").write_text("insert into a values (1), (2);\n")
    return d


# -- bad DSNs: one line on stderr, exit 1, password never shown ------------------------

def bad_dsns(admin_dsn: str) -> dict[str, tuple[str, str]]:
    """kind -> (DSN with password 'secret', expected phrase in the message)."""
    suffix = uuid.uuid4().hex[:10]
    return {
        "unreachable-port": ("postgresql://enqlab:secret@127.0.0.1:1/enqlab", "server unreachable"),
        "missing-database": (make_conninfo(with_database(admin_dsn, f"enqlab_test_missing_{suffix}"), password=SECRET),
                             "does not exist"),
        "unknown-role": (make_conninfo(with_database(admin_dsn, f"enqlab_test_db_{suffix}"),
                                       user=f"enqlab_test_norole_{suffix}", password=SECRET), "login refused"),
        "malformed-key-value": ("host=127.0.0.1 user=enqlab password=secret port", "malformed DSN"),
        "malformed-uri": ("postgresql://enqlab:secret@127.0.0.1:5432/enqlab?bogus=1", "malformed DSN"),
    }


KINDS = ["unreachable-port", "missing-database", "unknown-role", "malformed-key-value", "malformed-uri"]


@pytest.mark.parametrize("command", [["migrate"], ["migrate", "--status"]], ids=["migrate", "status"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.req("REQ-FND-3")
def test_bad_dsn_gives_one_line_error_naming_dsn_without_password(
    admin_dsn: str, command: list[str], kind: str
) -> None:
    dsn, phrase = bad_dsns(admin_dsn)[kind]

    proc = run(*command, "--dsn", dsn)

    line = assert_one_line_error(proc)
    assert SECRET not in proc.stderr + proc.stdout
    assert redact(dsn) in line
    assert phrase in line


@pytest.mark.parametrize("kind", ["unreachable-port", "unknown-role", "malformed-key-value", "malformed-uri"])
@pytest.mark.req("REQ-FND-3")
def test_reset_with_bad_dsn_gives_one_line_error_without_password(admin_dsn: str, kind: str) -> None:
    dsn, phrase = bad_dsns(admin_dsn)[kind]

    proc = run("reset", "--dsn", dsn)

    line = assert_one_line_error(proc)
    assert SECRET not in proc.stderr + proc.stdout
    assert phrase in line
    assert "127.0.0.1" in line or parse_dsn(admin_dsn)["host"] in line


# -- migrate ----------------------------------------------------------------------------

@pytest.mark.req("REQ-FND-4")
def test_migrate_then_status_lists_every_migration_as_applied(empty_db: str, mig_dir: Path) -> None:
    env = {"ENQUIRIES_LAB_SQL_DIR": str(mig_dir)}

    applied = run("migrate", "--dsn", empty_db, env=env)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[:3] == ["applied 001_create_a.sql", "applied 002_create_b.sql",
                                               "applied 003_seed_a.sql"]

    status = run("migrate", "--status", "--dsn", empty_db, env=env)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert [line.split()[:3] for line in lines[:3]] == [["001", "create_a", "applied"], ["002", "create_b", "applied"],
                                                        ["003", "seed_a", "applied"]]
    assert lines[3] == "3 applied, 0 pending"


@pytest.mark.req("REQ-FND-4")
def test_migrate_twice_reports_up_to_date(empty_db: str, mig_dir: Path) -> None:
    env = {"ENQUIRIES_LAB_SQL_DIR": str(mig_dir)}
    assert run("migrate", "--dsn", empty_db, env=env).returncode == 0

    again = run("migrate", "--dsn", empty_db, env=env)

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{redact(empty_db)} is up to date"


@pytest.mark.req("REQ-FND-4")
def test_status_before_migrate_lists_every_migration_as_pending(empty_db: str, mig_dir: Path) -> None:
    status = run("migrate", "--status", "--dsn", empty_db, env={"ENQUIRIES_LAB_SQL_DIR": str(mig_dir)})

    assert status.returncode == 0, status.stderr
    assert [line.split()[2] for line in status.stdout.splitlines()[:3]] == ["pending"] * 3
    assert status.stdout.splitlines()[3] == "0 applied, 3 pending"


@pytest.mark.req("REQ-FND-6")
def test_failing_migration_gives_one_line_error_with_file_line_and_sqlstate(empty_db: str, mig_dir: Path) -> None:
    (mig_dir / "004_broken.sql").write_text("create table c (id integer);\n\ninsert into missing_table values (1);\n")

    proc = run("migrate", "--dsn", empty_db, env={"ENQUIRIES_LAB_SQL_DIR": str(mig_dir)})

    line = assert_one_line_error(proc)
    assert "004_broken.sql:3: SQLSTATE 42P01" in line
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select max(version) from lab_meta.migrations").fetchone()[0] == 3
        assert conn.execute("select to_regclass('c') is null").fetchone()[0]


# -- reset -----------------------------------------------------------------------------

def database_exists(admin_dsn: str, name: str) -> bool:
    with psycopg.connect(admin_dsn) as conn:
        return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None


def database_comment(admin_dsn: str, name: str) -> str | None:
    with psycopg.connect(admin_dsn) as conn:
        row = conn.execute("select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
                           [name]).fetchone()
        return row[0] if row else None


@pytest.fixture
def foreign_db_with_data(empty_db: str) -> str:
    """A database the lab did not create, holding one row."""
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("create table precious (x text); insert into precious values ('keep me')")
    return empty_db


@pytest.mark.req("REQ-FND-8")
def test_reset_refuses_database_not_created_by_lab_and_keeps_its_data(admin_dsn: str, foreign_db_with_data: str) -> None:
    name = parse_dsn(foreign_db_with_data)["dbname"]

    proc = run("reset", "--dsn", foreign_db_with_data)

    line = assert_one_line_error(proc)
    assert "was not created by enquiries-lab" in line and "--force" in line
    assert database_exists(admin_dsn, name)
    with psycopg.connect(foreign_db_with_data) as conn:
        assert conn.execute("select x from precious").fetchall() == [("keep me",)]


@pytest.mark.req("REQ-FND-8")
def test_reset_with_yes_alone_still_refuses_database_not_created_by_lab(foreign_db_with_data: str) -> None:
    proc = run("reset", "--yes", "--dsn", foreign_db_with_data)

    line = assert_one_line_error(proc)
    assert "was not created by enquiries-lab" in line and "--force" in line
    with psycopg.connect(foreign_db_with_data) as conn:
        assert conn.execute("select x from precious").fetchall() == [("keep me",)]


@pytest.mark.req("REQ-FND-8")
def test_reset_with_force_recreates_database_not_created_by_lab(admin_dsn: str, foreign_db_with_data: str) -> None:
    name = parse_dsn(foreign_db_with_data)["dbname"]

    proc = run("reset", "--yes", "--force", "--dsn", foreign_db_with_data)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"reset {redact(foreign_db_with_data)}: empty database created"
    with psycopg.connect(foreign_db_with_data) as conn:
        assert conn.execute("select to_regclass('precious') is null").fetchone()[0]
    assert database_comment(admin_dsn, name) == LAB_MARKER


def schemas_and_roles(dsn: str) -> tuple[list[str], list[str]]:
    with psycopg.connect(dsn) as conn:
        schemas = [r[0] for r in conn.execute(
            "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1")]
        roles = [r[0] for r in conn.execute("select rolname from pg_roles order by 1")]
    return schemas, roles


@pytest.mark.parametrize("command", [["generate", "--enquiries", "10", "--quiet"], ["demo", "--quiet"]],
                         ids=["generate", "demo"])
def test_generate_refuses_a_database_the_lab_did_not_create_and_writes_nothing(foreign_db_with_data: str,
                                                                                command) -> None:
    before = schemas_and_roles(foreign_db_with_data)

    proc = run(command[0], "--dsn", foreign_db_with_data, *command[1:])

    line = assert_one_line_error(proc)
    assert line.lower().startswith("error: ") and "was not created by enquiries-lab" in line, line
    assert f"{command[0]} writes only into a lab database" in line, line
    assert proc.stdout == ""
    assert schemas_and_roles(foreign_db_with_data) == before   # no lab schema, no bookkeeping, no role
    with psycopg.connect(foreign_db_with_data) as conn:
        assert conn.execute("select x from precious").fetchall() == [("keep me",)]


def test_generate_creates_a_database_that_does_not_exist_yet(admin_dsn: str, lab_created_name: str) -> None:
    # A new user names a database of their own choosing: it is created as the lab's, not
    # refused as one "the lab did not create" (demo goes through the same check).
    assert not database_exists(admin_dsn, lab_created_name)
    dsn = with_database(admin_dsn, lab_created_name)

    proc = run("generate", "--dsn", dsn, "--enquiries", "20", "--departments", "2", "--quiet", "--no-digest")

    assert proc.returncode == 0, proc.stderr
    assert database_comment(admin_dsn, lab_created_name) == LAB_MARKER
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) > 0 from tenant.enquiries").fetchone()[0]


def test_generate_writes_into_a_database_reset_made(admin_dsn: str, lab_created_name: str) -> None:
    dsn = with_database(admin_dsn, lab_created_name)
    assert run("reset", "--dsn", dsn).returncode == 0

    proc = run("generate", "--dsn", dsn, "--enquiries", "20", "--departments", "2", "--quiet", "--no-digest")

    assert proc.returncode == 0, proc.stderr
    assert "planner statistics: analysed in" in proc.stdout   # a dataset is queried with plans made for it
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select count(*) from tenant.enquiries").fetchone()[0] == 20
        assert planner_stats.never_analysed(conn) == []


@pytest.fixture
def lab_created_name(admin_dsn: str) -> Iterator[str]:
    name = f"enqlab_test_reset_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.mark.req("REQ-FND-8")
def test_reset_of_missing_database_creates_it_as_lab_database(admin_dsn: str, lab_created_name: str) -> None:
    proc = run("reset", "--dsn", with_database(admin_dsn, lab_created_name))

    assert proc.returncode == 0, proc.stderr
    assert database_comment(admin_dsn, lab_created_name) == LAB_MARKER


def lab_database_with_scratch(admin_dsn: str, name: str) -> str:
    dsn = with_database(admin_dsn, name)
    assert run("reset", "--dsn", dsn).returncode == 0   # a missing database: nothing to drop, no question
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table scratch (x integer)")
    return dsn


def scratch_exists(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select to_regclass('scratch') is not null").fetchone()[0]


@pytest.mark.req("REQ-FND-8")
def test_reset_of_lab_created_database_with_yes_empties_it(admin_dsn: str, lab_created_name: str) -> None:
    dsn = lab_database_with_scratch(admin_dsn, lab_created_name)

    proc = run("reset", "--yes", "--dsn", dsn)

    assert proc.returncode == 0, proc.stderr
    assert not scratch_exists(dsn)
    assert database_comment(admin_dsn, lab_created_name) == LAB_MARKER


@pytest.mark.req("REQ-FND-8")
def test_reset_without_yes_and_without_a_terminal_drops_nothing(admin_dsn: str, lab_created_name: str) -> None:
    dsn = lab_database_with_scratch(admin_dsn, lab_created_name)

    proc = run("reset", "--dsn", dsn)   # stdin is a pipe: nobody to ask

    line = assert_one_line_error(proc)
    assert f"reset would drop database '{lab_created_name}'" in line and "--yes" in line
    assert scratch_exists(dsn)


def reset_on_a_terminal(dsn: str, answer: str) -> tuple[int, str]:
    """`reset` with stdin, stdout and stderr on a pseudo-terminal; `answer` typed at the prompt."""
    import pty
    import select

    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    proc = subprocess.Popen([console_script(), "reset", "--dsn", dsn], stdin=terminal, stdout=terminal,
                            stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    seen, answered = b"", False
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        assert ready, f"no output from reset within 60 s: {seen!r}"
        try:
            chunk = os.read(controller, 4096)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(controller, answer.encode() + b"\n")
            answered = True
    os.close(controller)
    return proc.wait(timeout=60), seen.decode(errors="replace")


@pytest.mark.req("REQ-FND-8")
def test_reset_on_a_terminal_asks_and_drops_only_on_yes(admin_dsn: str, lab_created_name: str) -> None:
    dsn = lab_database_with_scratch(admin_dsn, lab_created_name)

    rc, output = reset_on_a_terminal(dsn, "n")
    assert rc == 1 and f"drop database '{lab_created_name}'" in output and "nothing dropped" in output, output
    assert scratch_exists(dsn)

    rc, output = reset_on_a_terminal(dsn, "y")
    assert rc == 0 and "empty database created" in output, output
    assert not scratch_exists(dsn)


@pytest.mark.req("REQ-FND-8")
def test_reset_refuses_system_database(admin_dsn: str) -> None:
    proc = run("reset", "--dsn", with_database(admin_dsn, "postgres"))

    line = assert_one_line_error(proc)
    assert "refusing to reset the system database 'postgres'" in line
    assert database_exists(admin_dsn, "postgres")


# -- DSN resolution, end to end (db url prints the choice without connecting) ---------

FLAG = "postgresql://flag@h1/db1"
LAB = "postgresql://lab@h2/db2"
URL = "postgresql://url@h3/db3"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--dsn", FLAG], {"ENQUIRIES_LAB_DSN": LAB, "DATABASE_URL": URL}, FLAG),
        ([], {"ENQUIRIES_LAB_DSN": LAB, "DATABASE_URL": URL}, LAB),
        ([], {"ENQUIRIES_LAB_DSN": "", "DATABASE_URL": URL}, URL),
    ],
    ids=["flag", "lab-variable", "empty-lab-variable-means-database-url"],
)
@pytest.mark.req("REQ-FND-2")
def test_db_url_follows_resolution_order(args: list[str], env: dict[str, str], expected: str) -> None:
    proc = run("db", "url", *args, env=env)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected


# -- the embedded default ---------------------------------------------------------------

@pytest.fixture
def lab_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="enqlab-cli-"))
    home.chmod(0o755)  # the server's system user must enter it when we are root
    try:
        yield home
    finally:
        EmbeddedServer(home).destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.embedded
@pytest.mark.req("REQ-FND-1")
def test_db_start_status_stop_cycle(lab_home: Path) -> None:
    env = {"ENQUIRIES_LAB_HOME": str(lab_home)}

    started = run("db", "start", env=env)
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("running (pid ")

    running = run("db", "status", env=env)
    assert running.returncode == 0 and running.stdout.startswith("running (pid "), running

    stopped = run("db", "stop", env=env)
    assert (stopped.returncode, stopped.stdout.strip()) == (0, "stopped")

    status = run("db", "status", env=env)
    assert status.returncode == 3 and status.stdout.startswith("stopped;"), status


@pytest.mark.embedded
@pytest.mark.req("REQ-FND-1")
def test_migrate_without_dsn_uses_embedded_server(lab_home: Path, mig_dir: Path) -> None:
    env = {"ENQUIRIES_LAB_HOME": str(lab_home), "ENQUIRIES_LAB_SQL_DIR": str(mig_dir)}

    proc = run("migrate", env=env)

    assert proc.returncode == 0, proc.stderr
    assert "3 migration(s) applied" in proc.stdout
    url = run("db", "url", env=env).stdout.strip()
    assert url == f"postgresql://postgres@/enquiries_lab?host={lab_home.resolve() / 'pg18'}&port=5432"
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from lab_meta.migrations").fetchone()[0] == 3
        assert conn.execute("show server_version_num").fetchone()[0].startswith("18")
