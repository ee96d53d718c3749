"""Helpers for the tests that attack the audit trail and the compliance rules from outside
the application's rules: as a superuser, with triggers switched off or the schema altered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

from enquiries_lab.config import with_database
from enquiries_lab.session import Actor

CLEARED = ("ENQUIRIES_LAB_DSN", "DATABASE_URL", "ENQUIRIES_LAB_SQL_DIR", "ENQUIRIES_LAB_DEBUG", "ENQUIRIES_LAB_HOME",
           "PGPASSWORD", "PGSERVICE", "PGDATABASE", "PGUSER", "PGHOST", "PGPORT")
# A small generated dataset: every lifecycle the generator knows (escalations, reopenings,
# soft deletes, legal holds, disposals) in a couple of seconds.
SMALL_DATASET = dict(enquiries=400, departments=3, seed=7)
SIMULATION_END = datetime(2026, 6, 30, tzinfo=timezone.utc)


@contextmanager
def bypassing_triggers(dsn: str) -> Iterator[psycopg.Connection]:
    """A superuser transaction with every ordinary trigger off (session_replication_role =
    replica): no stamps, no workflow, no audit capture, no immutability guard, no FK checks."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set session_replication_role = replica")
        yield conn
        conn.commit()


def superuser(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True)


def console_script() -> str:
    beside = Path(sys.executable).parent / "enquiries-lab"
    if beside.exists():
        return str(beside)
    found = shutil.which("enquiries-lab")
    assert found, "the enquiries-lab console script is not installed (pip install -e .)"
    return found


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=env, timeout=300)


def close_to_public(admin_dsn: str, name: str) -> None:
    """Re-assert 002's database grants on a copy: CREATE DATABASE ... TEMPLATE does not copy them
    (PUBLIC gets CONNECT and TEMP back; see tests/test_attacks.py and the database_closed_to_public check)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        db = sql.Identifier(name)
        conn.execute(sql.SQL("revoke all on database {} from public").format(db))
        conn.execute(sql.SQL("grant connect on database {} to enquiries_app, enquiries_loader").format(db))
        conn.execute(sql.SQL("grant connect, create on database {} to enquiries_owner").format(db))


@contextmanager
def scratch_database(admin_dsn: str, template: str, kind: str) -> Iterator[str]:
    """A copy of `template` for a module's read-mostly tests, dropped afterwards. (Not imported
    from conftest: another conftest.py in the repository may own that module name.)"""
    name = f"enqlab_test_{kind}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    close_to_public(admin_dsn, name)
    try:
        yield with_database(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def generate_small(dsn: str) -> None:
    from enquiries_lab.generator import Params, generate

    with psycopg.connect(dsn, autocommit=True) as conn:
        generate(conn, Params(**SMALL_DATASET))


def auditor_of(dsn: str, code: str | None = None) -> Actor:
    """An active auditor of the department with this code (default: the one with most enquiries)."""
    with superuser(dsn) as conn:
        row = conn.execute(
            """select s.tenant_id, s.staff_id from tenant.staff s join tenant.departments d using (tenant_id)
               where s.staff_role = 'auditor' and s.active and (d.code = %s or %s::text is null)
               order by (select count(*) from tenant.enquiries q where q.tenant_id = d.tenant_id) desc, s.staff_id
               limit 1""", [code, code]).fetchone()
    assert row, f"no auditor in {code or 'any department'}"
    return Actor(row[0], row[1], "auditor")


def entry_ids(dsn: str, where: str = "true", params: list | None = None) -> list[int]:
    with superuser(dsn) as conn:
        return [r[0] for r in conn.execute(f"select entry_id from audit.entries where {where} order by entry_id", params or [])]


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _drop(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


class WorldCopies:
    """Copies of the world template made one ahead and dropped behind, in the background: on a
    busy server CREATE and DROP DATABASE take a second or more each, which the tests need not
    wait for."""

    def __init__(self, admin_dsn: str, template: str):
        self.admin_dsn, self.template = admin_dsn, template
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="world-copies")
        self.ahead = None

    def _create(self) -> str:
        name = f"enqlab_test_w_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(self.template)))
        close_to_public(self.admin_dsn, name)
        return name

    def take(self) -> str:
        pending = self.ahead or self.pool.submit(self._create)
        self.ahead = self.pool.submit(self._create)
        return pending.result()

    def drop(self, name: str) -> None:
        self.pool.submit(_drop, self.admin_dsn, name)

    def close(self) -> None:
        if self.ahead is not None:
            self.drop(self.ahead.result())
        self.pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def world_copies(admin_dsn: str, world_template: str) -> Iterator[WorldCopies]:
    copies = WorldCopies(admin_dsn, world_template)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def world(admin_dsn: str, world_copies: WorldCopies):
    """conftest's `world` (a fresh copy of the two-department world), made and dropped in the background."""
    from world import load_world

    name = world_copies.take()
    try:
        yield load_world(with_database(admin_dsn, name))
    finally:
        world_copies.drop(name)
