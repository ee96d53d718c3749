"""Concurrent load over the network (loopback TCP against the machine's server; the embedded
server's Unix socket): several client processes, mixed departments and roles, a realistic
mix of reads and workflow transitions beside a generated history, for a fixed time.

The engine and its checks are enquiries_lab.bench.load (also `enquiries-lab bench load`);
this test runs it for ~15 s (ENQUIRIES_LAB_LONG=1: 8 clients for a minute on a larger
history), prints throughput and latency percentiles, and asserts correctness only: zero
cross-tenant rows observed, every client transaction all-or-nothing with exactly its audit
entries (audit entries == committed changes), no lost update, no unhandled deadlock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psycopg
import pytest
from invariants import create_db, drop_db, new_name

from enquiries_lab import casework
from enquiries_lab.bench import load
from enquiries_lab.errors import ConflictError, DatabaseError
from enquiries_lab.generator import Params, generate
from enquiries_lab.session import act_as

LONG = os.environ.get("ENQUIRIES_LAB_LONG") == "1"
HISTORY = Params(enquiries=3000 if LONG else 300, departments=3, seed=3, batch_size=500)
CLIENTS = 8 if LONG else 4
DURATION = 60.0 if LONG else 15.0


@dataclass
class LoadDb:
    name: str
    dsn: str


@pytest.fixture(scope="session")
def load_template(admin_dsn, migrated_template):
    """A generated history (HISTORY) to copy for each load or fault run."""
    name = new_name("loadtpl")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            generate(conn, HISTORY)
        yield name
    finally:
        drop_db(admin_dsn, name)


@pytest.fixture
def load_db(admin_dsn, load_template):
    name = new_name("load")
    dsn = create_db(admin_dsn, name, template=load_template)
    try:
        yield LoadDb(name, dsn)
    finally:
        drop_db(admin_dsn, name)


def assert_checks_passed(result: load.LoadResult) -> None:
    failed = {check: rows for check, rows in result.problems.items() if rows}
    assert failed == {}, failed


@pytest.mark.req("REQ-ATK-1")
def test_concurrent_clients_keep_isolation_audit_and_versions(load_db):
    plan = load.prepare(load_db.dsn, seed=HISTORY.seed)
    result = load.run(load_db.dsn, plan, clients=CLIENTS, duration=DURATION, max_ops=50_000, seed=HISTORY.seed)
    print("\n" + load.report(result))
    assert_checks_passed(result)
    # the run did what it is for: real concurrency, on every kind of operation
    assert set(result.ops) == set(load.MIX) and result.committed_txs > 100
    assert result.conflicts > 0, "no two clients ever raced on the same version: the lost-update check was vacuous"
    assert result.audit_entries_written >= result.committed_txs


def test_a_transaction_older_than_a_concurrent_change_may_still_move_the_enquiry_it_reads(admin_dsn, world_template):
    from world import load_world

    name = new_name("older")
    dsn = create_db(admin_dsn, name, template=world_template)
    try:
        w = load_world(dsn)
        a = w.a
        with w.connect() as x, w.connect() as y:
            try:
                with act_as(x, a.actor("caseworker")) as cx:
                    cx.execute("select now()")  # X's transaction starts, and with it its now()
                    time.sleep(0.01)
                    with act_as(y, a.caseworker2) as cy:  # Y moves the enquiry meanwhile and commits
                        casework.transition(cy, a.enquiry_id, "awaiting_citizen", version=a.enquiry_version)
                    version = cx.execute("select version from tenant.enquiries where enquiry_id = %s",
                                         [a.enquiry_id]).fetchone()[0]
                    assert version == a.enquiry_version + 1
                    casework.transition(cx, a.enquiry_id, "in_progress", version=version)
            except ConflictError:
                pass  # acceptable too: a clear, retryable conflict
            except DatabaseError as err:
                pytest.fail(f"refused with {err.sqlstate}: {err}")
    finally:
        drop_db(admin_dsn, name)
