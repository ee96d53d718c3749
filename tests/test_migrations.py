"""The migration runner against a real server: small fixture migrations in a temporary
directory (passed as `directory`), plus one clean install of the real `sql/`."""

from __future__ import annotations

import threading
import time
import uuid
import shutil
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.errors import MigrationError


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def migrate(dsn: str, directory: Path | None) -> list[migrations.Migration]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return migrations.migrate(conn, directory)


def recorded(dsn: str) -> list[tuple[int, str, str]]:
    """(version, name, checksum) rows of lab_meta.migrations; [] without bookkeeping."""
    with psycopg.connect(dsn) as conn:
        if conn.execute("select to_regclass('lab_meta.migrations') is null").fetchone()[0]:
            return []
        return conn.execute("select version, name, checksum from lab_meta.migrations order by version").fetchall()


def relation_exists(dsn: str, name: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select to_regclass(%s) is not null", [name]).fetchone()[0]


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sql"
    d.mkdir()
    return d


@pytest.fixture
def other_empty_db(admin_dsn: str) -> Iterator[str]:
    """A second empty database on the same server, dropped after the test."""
    name = f"enqlab_test_other_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


THREE = {
    "001_create_a.sql": "create table a (id integer primary key);\n",
    "002_create_b.sql": "create table b (id integer primary key, a_id integer references a);\n",
    "003_seed_a.sql": "insert into a values (1), (2);\n",
}


def write_three(directory: Path) -> None:
    for name, text in THREE.items():
        write(directory, name, text)


# -- clean install and re-runs -------------------------------------------------------

@pytest.mark.req("REQ-FND-4")
def test_clean_install_applies_every_file_in_version_order(empty_db: str, mig_dir: Path) -> None:
    write_three(mig_dir)

    applied = migrate(empty_db, mig_dir)

    assert [m.filename for m in applied] == list(THREE)
    assert [(v, n) for v, n, _ in recorded(empty_db)] == [(1, "create_a"), (2, "create_b"), (3, "seed_a")]
    assert [c for _, _, c in recorded(empty_db)] == [m.checksum for m in applied]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select count(*) from a").fetchone()[0] == 2
        assert conn.execute("select to_regclass('b') is not null").fetchone()[0]


@pytest.mark.req("REQ-FND-4")
def test_second_run_is_a_noop_returning_empty_list(empty_db: str, mig_dir: Path) -> None:
    write_three(mig_dir)
    migrate(empty_db, mig_dir)
    before = recorded(empty_db)

    assert migrate(empty_db, mig_dir) == []
    assert recorded(empty_db) == before
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select count(*) from a").fetchone()[0] == 2  # 003 did not run again


@pytest.mark.req("REQ-FND-4")
def test_new_file_after_applied_ones_is_applied_alone(empty_db: str, mig_dir: Path) -> None:
    write_three(mig_dir)
    migrate(empty_db, mig_dir)
    write(mig_dir, "004_create_c.sql", "create table c (id integer);\n")

    assert [m.filename for m in migrate(empty_db, mig_dir)] == ["004_create_c.sql"]
    assert [v for v, _, _ in recorded(empty_db)] == [1, 2, 3, 4]


@pytest.mark.req("REQ-FND-5")
def test_edited_applied_file_is_refused_naming_the_file(empty_db: str, mig_dir: Path) -> None:
    write_three(mig_dir)
    migrate(empty_db, mig_dir)
    before = recorded(empty_db)
    write(mig_dir, "002_create_b.sql", THREE["002_create_b.sql"] + "-- an innocent-looking edit\n")
    write(mig_dir, "004_create_c.sql", "create table c (id integer);\n")

    with pytest.raises(MigrationError, match=r"002_create_b\.sql was edited after it was applied"):
        migrate(empty_db, mig_dir)
    assert recorded(empty_db) == before
    assert not relation_exists(empty_db, "c")  # nothing newer is applied past the tampering


@pytest.mark.req("REQ-FND-6")
def test_failing_migration_reports_file_line_and_sqlstate_and_keeps_previous_version(
    empty_db: str, mig_dir: Path
) -> None:
    write(mig_dir, "001_create_a.sql", THREE["001_create_a.sql"])
    write(mig_dir, "002_broken.sql",
          "create table half_done (id integer);\n"
          "\n"
          "insert into missing_table values (1);\n"
          "create table never_reached (id integer);\n")
    write(mig_dir, "003_after.sql", "create table after_broken (id integer);\n")

    with pytest.raises(MigrationError) as caught:
        migrate(empty_db, mig_dir)

    message = str(caught.value)
    assert "002_broken.sql:3:" in message
    assert "SQLSTATE 42P01" in message
    assert "missing_table" in message
    assert [v for v, _, _ in recorded(empty_db)] == [1]
    for name in ("half_done", "never_reached", "after_broken"):
        assert not relation_exists(empty_db, name), name
    assert relation_exists(empty_db, "a")


@pytest.mark.req("REQ-FND-6")
def test_failed_migration_applies_once_fixed(empty_db: str, mig_dir: Path) -> None:
    write(mig_dir, "001_create_a.sql", "create table a (id integer);\ninsert into missing_table values (1);\n")
    with pytest.raises(MigrationError):
        migrate(empty_db, mig_dir)
    write(mig_dir, "001_create_a.sql", "create table a (id integer);\n")

    assert [m.filename for m in migrate(empty_db, mig_dir)] == ["001_create_a.sql"]
    assert [v for v, _, _ in recorded(empty_db)] == [1]


@pytest.mark.req("REQ-FND-4")
def test_out_of_order_new_file_is_refused(empty_db: str, mig_dir: Path) -> None:
    write(mig_dir, "001_create_a.sql", THREE["001_create_a.sql"])
    write(mig_dir, "003_create_c.sql", "create table c (id integer);\n")
    migrate(empty_db, mig_dir)
    write(mig_dir, "002_late.sql", "create table late (id integer);\n")

    with pytest.raises(MigrationError, match=r"002_late\.sql: version 2 is older than the latest applied \(3\)"):
        migrate(empty_db, mig_dir)
    assert [v for v, _, _ in recorded(empty_db)] == [1, 3]
    assert not relation_exists(empty_db, "late")


@pytest.mark.req("REQ-FND-4")
def test_duplicate_version_is_refused(empty_db: str, mig_dir: Path) -> None:
    write(mig_dir, "001_create_a.sql", THREE["001_create_a.sql"])
    write(mig_dir, "001_create_other.sql", "create table other (id integer);\n")

    with pytest.raises(MigrationError, match=r"001_create_other\.sql: version 1 is also used by 001_create_a\.sql"):
        migrate(empty_db, mig_dir)
    assert recorded(empty_db) == []
    assert not relation_exists(empty_db, "a")


@pytest.mark.parametrize("number", [15, 35])
@pytest.mark.req("REQ-FND-4")
def test_a_new_file_numbered_like_the_pre_baseline_chain_is_refused(empty_db: str, tmp_path: Path, number: int) -> None:
    """015-035 were the old chain's: a database migrated with it holds other files under those
    numbers, so the baseline's directory may not use them again."""
    directory = tmp_path / "sql"
    shutil.copytree(migrations.sql_dir(), directory, ignore=shutil.ignore_patterns("compliance", "citus"))
    write(directory, f"{number:03d}_reused.sql", "create table reused (id integer);\n")

    with pytest.raises(MigrationError, match=rf"^{number:03d}_reused\.sql: numbers 015-035 belonged to the pre-baseline chain.*"
                                             r"from 036 on"):
        migrate(empty_db, directory)
    assert recorded(empty_db) == []
    assert not relation_exists(empty_db, "reused")


@pytest.mark.parametrize("bad_name", ["1_short_version.sql", "001-dashes.sql", "001_CamelCase.sql", "create_a.sql"])
@pytest.mark.req("REQ-FND-4")
def test_badly_named_file_is_refused(empty_db: str, mig_dir: Path, bad_name: str) -> None:
    write(mig_dir, "001_create_a.sql", THREE["001_create_a.sql"])
    write(mig_dir, bad_name, "select 1;\n")

    with pytest.raises(MigrationError, match=rf"^{bad_name.replace('.', r'[.]')}: migration files are named NNN_snake_case\.sql$"):
        migrate(empty_db, mig_dir)
    assert recorded(empty_db) == []


@pytest.mark.req("REQ-FND-4")
def test_missing_directory_is_refused(empty_db: str, tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        migrate(empty_db, tmp_path / "no-such-dir")


@pytest.mark.req("REQ-FND-4")
def test_migrate_refuses_a_connection_not_in_autocommit(empty_db: str, mig_dir: Path) -> None:
    write_three(mig_dir)
    with psycopg.connect(empty_db) as conn, pytest.raises(MigrationError, match="autocommit"):
        migrations.migrate(conn, mig_dir)
    assert recorded(empty_db) == []


@pytest.mark.req("REQ-FND-5")
def test_status_reports_applied_pending_changed_and_missing(empty_db: str, mig_dir: Path) -> None:
    write_three(mig_dir)
    migrate(empty_db, mig_dir)
    write(mig_dir, "002_create_b.sql", THREE["002_create_b.sql"] + "-- edited\n")
    (mig_dir / "003_seed_a.sql").unlink()
    write(mig_dir, "004_new.sql", "select 1;\n")

    with psycopg.connect(empty_db) as conn:
        states = migrations.status(conn, mig_dir)

    assert [(s.version, s.name, s.state) for s in states] == [
        (1, "create_a", "applied"),
        (2, "create_b", "changed"),
        (3, "seed_a", "missing"),
        (4, "new", "pending"),
    ]
    assert [s.applied_at is not None for s in states] == [True, True, True, False]


@pytest.mark.req("REQ-FND-6")
def test_line_of_maps_server_positions_to_lines() -> None:
    text = "select 1;\n\nselect x;\n"
    assert migrations.line_of(text, 1) == 1
    assert migrations.line_of(text, "12") == 3
    assert migrations.line_of(text, None) is None
    assert migrations.line_of(text, "not a number") is None


# -- concurrency -----------------------------------------------------------------------

SLOW = (
    "create table slow (id integer primary key);\n"
    "select pg_sleep(1);\n"
    "insert into slow values (1);\n"
)


def run_in_threads(jobs: list[tuple[str, Path]]) -> list[dict]:
    """Migrate each (dsn, directory) in its own thread, started together; per-job results."""
    results: list[dict] = [{} for _ in jobs]
    barrier = threading.Barrier(len(jobs))

    def work(i: int, dsn: str, directory: Path) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            barrier.wait()
            results[i]["start"] = time.monotonic()
            try:
                results[i]["applied"] = [m.filename for m in migrations.migrate(conn, directory)]
            except Exception as err:  # reported by the test, not swallowed
                results[i]["error"] = err
            results[i]["end"] = time.monotonic()

    threads = [threading.Thread(target=work, args=(i, dsn, d)) for i, (dsn, d) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.req("REQ-FND-7")
def test_concurrent_migrate_of_same_database_applies_once_without_error(empty_db: str, mig_dir: Path) -> None:
    write(mig_dir, "001_slow.sql", SLOW)

    results = run_in_threads([(empty_db, mig_dir), (empty_db, mig_dir)])

    assert [r.get("error") for r in results] == [None, None]
    assert sorted(r["applied"] for r in results) == [[], ["001_slow.sql"]]
    assert [v for v, _, _ in recorded(empty_db)] == [1]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select count(*) from slow").fetchone()[0] == 1


@pytest.mark.req("REQ-FND-7")
def test_two_databases_migrate_side_by_side(empty_db: str, other_empty_db: str, mig_dir: Path) -> None:
    write(mig_dir, "001_slow.sql", SLOW)

    results = run_in_threads([(empty_db, mig_dir), (other_empty_db, mig_dir)])

    assert [r.get("error") for r in results] == [None, None]
    assert [r["applied"] for r in results] == [["001_slow.sql"], ["001_slow.sql"]]
    durations = [r["end"] - r["start"] for r in results]
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    # Serialised, the wall time would be at least the sum (> 2 s); overlapping, about 1 s.
    assert max(r["start"] for r in results) < min(r["end"] for r in results)
    assert wall < sum(durations) * 0.8, (wall, durations)


# -- cluster-wide objects -----------------------------------------------------------

@pytest.mark.req("REQ-FND-7")
def test_idempotent_role_migration_applies_to_two_databases(
    admin_dsn: str, empty_db: str, other_empty_db: str, mig_dir: Path
) -> None:
    role = f"enqlab_test_role_{uuid.uuid4().hex[:10]}"
    write(mig_dir, "001_role.sql",
          "do $$\n"
          "begin\n"
          f"    if not exists (select from pg_roles where rolname = '{role}') then\n"
          f"        create role {role} nologin;\n"
          "    end if;\n"
          "end\n"
          "$$;\n"
          "create table per_database (id integer);\n")
    try:
        assert [m.filename for m in migrate(empty_db, mig_dir)] == ["001_role.sql"]
        assert [m.filename for m in migrate(other_empty_db, mig_dir)] == ["001_role.sql"]

        for dsn in (empty_db, other_empty_db):
            assert [v for v, _, _ in recorded(dsn)] == [1]
            assert relation_exists(dsn, "per_database")
        with psycopg.connect(admin_dsn) as conn:
            assert conn.execute("select count(*) from pg_roles where rolname = %s", [role]).fetchone()[0] == 1
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


# -- the real sql/ directory -----------------------------------------------------------

@pytest.mark.req("REQ-FND-4")
def test_real_sql_directory_installs_cleanly_and_reruns_as_noop(empty_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(migrations.ENV_SQL_DIR, raising=False)
    files = migrations.discover()

    with psycopg.connect(empty_db, autocommit=True) as conn:
        applied = migrations.migrate(conn)
        states = migrations.status(conn)
        assert migrations.migrate(conn) == []

    assert [m.version for m in applied] == [m.version for m in files]
    assert [(s.version, s.state) for s in states] == [(m.version, "applied") for m in files]


def _profile_dir(tmp_path: Path, follower: str) -> Path:
    d = tmp_path / "sql"
    (d / "citus").mkdir(parents=True)
    (d / "001_roles_like.sql").write_text("create table public.core_step (x int);\ninsert into public.core_step values (1);\n")
    (d / "002_later.sql").write_text("create table public.later (x int);\n")
    (d / "citus" / "060_follower.sql").write_text(f"-- runs after: 001\n{follower}\n")
    return d


def test_a_profile_file_that_runs_after_a_migration_commits_with_it(empty_db: str, tmp_path: Path, monkeypatch) -> None:
    """No other session may see the state between a core migration and the profile file that
    runs after it (sql/001's NOLOGIN before citus/060 gave LOGIN back broke every other database
    on the cluster meanwhile): a failing follower takes its core migration with it."""
    monkeypatch.setattr(migrations, "PROFILES", {"citus": "select true"})   # the profile, as if available
    d = _profile_dir(tmp_path, "update public.core_step set x = 1 / 0;")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        with pytest.raises(MigrationError, match=r"citus/060_follower.sql.*22012.*nothing from this file or "
                                                 r"001_roles_like.sql was applied"):
            migrations.migrate(conn, d)
        assert conn.execute("select to_regclass('public.core_step')").fetchone()[0] is None
        assert conn.execute("select count(*) from lab_meta.migrations").fetchone()[0] == 0
    (d / "citus" / "060_follower.sql").write_text("-- runs after: 001\nupdate public.core_step set x = 2;\n")
    with psycopg.connect(empty_db, autocommit=True) as conn:
        applied = [m.filename for m in migrations.migrate(conn, d)]
        seen = conn.execute("select x from public.core_step").fetchall()
    assert applied == ["001_roles_like.sql", "060_follower.sql", "002_later.sql"] and seen == [(2,)]
