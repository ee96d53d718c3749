"""A notebook's throwaway database does not outlive its kernel, and what a killed kernel left
is listed and removed by `enquiries-lab notebooks list|clean`.

Real kernels (jupyter_client), real databases on the server under test.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import psycopg
import pytest
from click.testing import CliRunner
from jupyter_client.manager import start_new_kernel

from enquiries_lab.cli import cli
from enquiries_lab.notebook import ENV_PREFIX


def databases(admin_dsn: str, prefix: str) -> list[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return [r[0] for r in conn.execute("select datname from pg_database where datname like %s", [prefix + "%"])]


def wait_until(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def kernel(admin_dsn, monkeypatch):
    """A kernel whose notebooks open throwaway databases on the server under test."""
    prefix = f"enqlab_nbk{uuid.uuid4().hex[:4]}"
    env = {**os.environ, "ENQUIRIES_LAB_DSN": admin_dsn, ENV_PREFIX: prefix}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    reply = kc.execute_interactive("from enquiries_lab.notebook import open_lab\n"
                                   "lab = open_lab('kill', enquiries=20, departments=2)", timeout=300)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert len(databases(admin_dsn, prefix)) == 1
    yield km, kc, prefix
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:   # whatever a failed test left
        for name in databases(admin_dsn, prefix):
            conn.execute(psycopg.sql.SQL("drop database if exists {} with (force)").format(psycopg.sql.Identifier(name)))


def test_shutdown_after_an_exception_drops_the_database(kernel, admin_dsn):
    km, kc, prefix = kernel
    reply = kc.execute_interactive("raise RuntimeError('the run stops half-way')", timeout=30)
    assert reply["content"]["status"] == "error"
    km.shutdown_kernel(now=False)   # what JupyterLab's shutdown and nbclient's end of run do
    assert wait_until(lambda: not databases(admin_dsn, prefix))


def test_sigterm_drops_the_database(kernel, admin_dsn):
    km, kc, prefix = kernel
    km.signal_kernel(signal.SIGTERM)
    assert wait_until(lambda: not km.is_alive())
    assert wait_until(lambda: not databases(admin_dsn, prefix))


def test_a_killed_kernel_leaves_one_that_list_names_and_clean_removes(kernel, admin_dsn):
    km, kc, prefix = kernel
    (left,) = databases(admin_dsn, prefix)
    km.signal_kernel(signal.SIGKILL)   # nothing in the kernel runs: only the command can clean up
    assert wait_until(lambda: not km.is_alive())
    runner = CliRunner()
    listed = runner.invoke(cli, ["notebooks", "list", "--dsn", admin_dsn])
    assert listed.exit_code == 0 and left in listed.output, listed.output
    assert wait_until(lambda: "left behind" in runner.invoke(cli, ["notebooks", "list", "--dsn", admin_dsn]).output)
    cleaned = runner.invoke(cli, ["notebooks", "clean", "--dsn", admin_dsn])
    assert cleaned.exit_code == 0 and f"dropped {left}" in cleaned.output, cleaned.output
    assert left not in databases(admin_dsn, prefix)


def test_clean_keeps_a_database_a_running_notebook_uses(kernel, admin_dsn):
    km, kc, prefix = kernel
    (used,) = databases(admin_dsn, prefix)
    out = CliRunner().invoke(cli, ["notebooks", "clean", "--dsn", admin_dsn]).output
    assert f"kept {used}" in out, out
    assert used in databases(admin_dsn, prefix)


@pytest.mark.parametrize("name", ["enqlab_nb50k", "enqlab_nb_mydata"])
def test_clean_leaves_a_lab_database_whose_name_only_starts_like_a_notebooks(admin_dsn, name):
    """A user's lab database named like enqlab_nb50k is not a throwaway: `clean` used to match
    the prefix alone (and dropped one made by `reset` during this suite's run)."""
    from psycopg import sql

    from enquiries_lab.database import LAB_MARKER

    name = f"{name}_{uuid.uuid4().hex[:4]}x"    # unique, and never <notebook>_<6 hex digits>
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(LAB_MARKER)))
    try:
        listed = CliRunner().invoke(cli, ["notebooks", "list", "--dsn", admin_dsn]).output
        cleaned = CliRunner().invoke(cli, ["notebooks", "clean", "--dsn", admin_dsn]).output
        assert name not in listed and name not in cleaned, (listed, cleaned)
        assert databases(admin_dsn, name) == [name]
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
