"""The baseline (sql/001-014) builds exactly the database the pre-baseline chain (001-035) built.

The old chain is taken from git history (commit 14cc873, its last commit), migrated into one
empty database and the baseline into another; their catalogs (tests/catalog.py: tables,
columns, domains, constraints, indexes, policies, RLS flags, grants, ownership, triggers,
event triggers, functions, views, comments, roles, reference rows, sequences) must be equal,
and so must the digest of a small seeded dataset generated on each. Without git history (a
shallow clone, no git) these tests skip, saying why; CI clones with history.

A database migrated with the old chain is refused by the runner, in one line that says to
run `enquiries-lab reset`, and nothing in it is changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from catalog import differences, snapshot
from dbtools import _new_name, create_db, drop_db
from enquiries_lab import migrations
from enquiries_lab.generator import Params, dataset_digest, generate

OLD_CHAIN_COMMIT = "14cc873"
REPO = Path(__file__).resolve().parent.parent
SMALL = Params(enquiries=200, seed=17)


def old_chain(into: Path) -> Path:
    """Every sql/*.sql of the old chain's last commit, written into `into`."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the old chain is read from git history")
    listing = subprocess.run(["git", "ls-tree", "--name-only", OLD_CHAIN_COMMIT, "sql/"], cwd=REPO,
                             capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip(f"commit {OLD_CHAIN_COMMIT} (the old chain) is not in this clone's history "
                    f"(shallow clone?): {listing.stderr.strip()}")
    into.mkdir()
    for name in listing.stdout.split():
        if name.endswith(".sql"):
            data = subprocess.run(["git", "show", f"{OLD_CHAIN_COMMIT}:{name}"], cwd=REPO, capture_output=True, check=True).stdout
            (into / Path(name).name).write_bytes(data)
    return into


@pytest.fixture(scope="module")
def old_chain_dir(tmp_path_factory) -> Path:
    return old_chain(tmp_path_factory.mktemp("old") / "sql")


@pytest.fixture(scope="module")
def old_chain_then_later_dir(tmp_path_factory, old_chain_dir: Path) -> Path:
    """The old chain followed by today's post-baseline migrations (036 on): they must apply to
    either alike, so the comparison covers them too."""
    into = tmp_path_factory.mktemp("old_then_later") / "sql"
    shutil.copytree(old_chain_dir, into)
    for m in migrations.discover():
        if m.version > migrations.BASELINE_LAST:
            shutil.copy(m.path, into / m.filename)
    return into


@pytest.fixture(scope="module")
def two_databases(admin_dsn: str, old_chain_then_later_dir: Path):
    """(old chain DSN, baseline DSN), each freshly migrated, both with today's post-baseline files."""
    names = [_new_name("oldchain"), _new_name("baseline")]
    dsns = [create_db(admin_dsn, n) for n in names]
    try:
        for dsn, directory in zip(dsns, [old_chain_then_later_dir, migrations.sql_dir()]):
            with psycopg.connect(dsn, autocommit=True) as conn:
                migrations.migrate(conn, directory)
        yield dsns
    finally:
        for n in names:
            drop_db(admin_dsn, n)


def test_the_old_chain_really_is_the_old_chain(old_chain_dir: Path) -> None:
    files = [m.filename for m in migrations.discover(old_chain_dir)]
    assert len(files) == 35 and files[-1] == "035_enquiry_pages_keep_half_free.sql"
    assert {f[:-4] for f in files} - {"001_roles"} == migrations.PRE_BASELINE_FILES


@pytest.mark.req("REQ-FND-4")
def test_the_baseline_builds_the_same_catalog_as_the_old_chain(two_databases) -> None:
    old_dsn, baseline_dsn = two_databases
    with psycopg.connect(old_dsn) as a, psycopg.connect(baseline_dsn) as b:
        old, new = snapshot(a), snapshot(b)
    assert all(old[k] for k in ("relations", "columns", "constraints", "indexes", "policies", "triggers",
                                "functions", "views", "roles", "reference_rows", "event_triggers"))
    found = differences(old, new)
    assert found == [], "\n".join(found)


@pytest.mark.req("REQ-FND-4")
def test_the_baseline_generates_the_same_dataset_as_the_old_chain(admin_dsn: str, two_databases) -> None:
    digests = []
    for dsn in two_databases:
        name = _new_name("digest")
        copy = create_db(admin_dsn, name, template=psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
        try:
            with psycopg.connect(copy, autocommit=True) as conn:
                generate(conn, SMALL)
                digests.append(dataset_digest(conn))
        finally:
            drop_db(admin_dsn, name)
    assert digests[0] == digests[1]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "enquiries-lab"
    env = {k: v for k, v in os.environ.items() if k not in ("ENQUIRIES_LAB_SQL_DIR", "ENQUIRIES_LAB_DEBUG")}
    return subprocess.run([str(script) if script.exists() else "enquiries-lab", *args], capture_output=True,
                          text=True, env=env, timeout=120)


@pytest.mark.req("REQ-FND-4")
@pytest.mark.parametrize("command", [["migrate"], ["migrate", "--status"]])
def test_a_database_migrated_with_the_old_chain_is_told_to_reset(admin_dsn: str, old_chain_dir: Path, command) -> None:
    name = _new_name("oldchain")
    dsn = create_db(admin_dsn, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrations.migrate(conn, old_chain_dir)
            before = snapshot(conn), conn.execute("select version, name, checksum from lab_meta.migrations order by 1").fetchall()
        proc = cli(*command, "--dsn", dsn)
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert "pre-baseline chain" in lines[0] and "enquiries-lab reset" in lines[0]
        with psycopg.connect(dsn) as conn:
            after = snapshot(conn), conn.execute("select version, name, checksum from lab_meta.migrations order by 1").fetchall()
        assert after == before  # nothing touched
    finally:
        drop_db(admin_dsn, name)
