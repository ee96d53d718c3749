"""Shared fixtures: every test works in throwaway databases of its own.

Which server: `ENQUIRIES_LAB_TEST_DSN` (an admin DSN, e.g. the machine's PostgreSQL 15:
`postgresql://postgres@127.0.0.1:5432/postgres`); unset, the tests start a private
embedded PostgreSQL 18 in a temporary directory and remove it afterwards. Nothing
depends on state left by an earlier run: databases are named `enqlab_test_<random>`
and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.embedded import EmbeddedServer

from dbtools import _new_name, create_db, drop_db  # noqa: E402  (shared with the test modules)

ENV_TEST_DSN = "ENQUIRIES_LAB_TEST_DSN"


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    """A superuser DSN to the server under test (database `postgres`)."""
    if os.environ.get(ENV_TEST_DSN):
        yield with_database(os.environ[ENV_TEST_DSN], "postgres")
        return
    home = Path(tempfile.mkdtemp(prefix="enqlab-test-"))
    home.chmod(0o755)  # the embedded server's system user must enter it when we are root
    server = EmbeddedServer(home, durable=False)   # a throwaway: no fsync
    server.start()
    try:
        yield server.dsn("postgres")
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def server_version_num(admin_dsn: str) -> int:
    with psycopg.connect(admin_dsn) as conn:
        return int(conn.execute("show server_version_num").fetchone()[0])


@pytest.fixture
def empty_db(admin_dsn: str) -> Iterator[str]:
    """DSN of a new, empty database, dropped after the test."""
    name = _new_name("empty")
    dsn = create_db(admin_dsn, name)
    try:
        yield dsn
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture(scope="session")
def migrated_template(admin_dsn: str) -> Iterator[str]:
    """Name of a database with every migration applied, used as a template."""
    name = _new_name("template")
    dsn = create_db(admin_dsn, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrations.migrate(conn)
        yield name
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture
def lab_db(admin_dsn: str, migrated_template: str) -> Iterator[str]:
    """DSN of a fully migrated throwaway database (a copy of the template)."""
    name = _new_name("lab")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        yield dsn
    finally:
        drop_db(admin_dsn, name)


def _filled_template(admin_dsn: str, migrated_template: str, prefix: str, fill) -> Iterator[str]:
    """A copy of the migrated template that `fill(dsn)` fills once, for the session."""
    name = _new_name(prefix)
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        fill(dsn)
        yield name
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture(scope="session")
def world_template(admin_dsn: str, migrated_template: str) -> Iterator[str]:
    """A migrated database holding the two-department world (tests/world.py)."""
    from world import build_world

    yield from _filled_template(admin_dsn, migrated_template, "world", build_world)


@pytest.fixture(scope="session")
def small_generated_template(admin_dsn: str, migrated_template: str) -> Iterator[str]:
    """A migrated database holding tampering.SMALL_DATASET, generated once for the session;
    each module that needs it works on a copy of its own (tampering.scratch_database)."""
    from tampering import generate_small

    yield from _filled_template(admin_dsn, migrated_template, "small", generate_small)


@pytest.fixture
def world(admin_dsn: str, world_template: str):
    """A fresh copy of the two-department world; ids are the same in every copy."""
    from world import load_world

    name = _new_name("w")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        yield load_world(dsn)
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture
def refused():
    """`with refused("EL100"): ...` asserts the block fails with that SQLSTATE, whether the error
    comes straight from psycopg or through the library's DatabaseError."""
    from contextlib import contextmanager

    from enquiries_lab.errors import DatabaseError

    @contextmanager
    def check(sqlstate: str):
        try:
            yield
        except (psycopg.Error, DatabaseError) as err:
            assert err.sqlstate == sqlstate, f"expected SQLSTATE {sqlstate}, got {err.sqlstate}: {err}"
        else:
            raise AssertionError(f"expected SQLSTATE {sqlstate}, but nothing was refused")

    return check


@pytest.fixture(scope="module")
def w(admin_dsn: str, world_template: str):
    """One copy of the two-department world shared by a module's tests (each works on rows of
    its own); `world` is the per-test copy."""
    from world import load_world

    name = _new_name("mod")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        yield load_world(dsn)
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture(scope="module")
def su(w):
    """A superuser connection to `w` (no RLS): the observer that checks what was written."""
    with psycopg.connect(w.dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def conn(w):
    """An enquiries_app connection to `w`."""
    with w.connect() as c:
        yield c
