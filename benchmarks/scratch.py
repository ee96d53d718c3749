"""The throwaway database the profiling scripts run in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.database import drop_database, ensure_database


@contextmanager
def migrated_database(admin_dsn: str, label: str, what_if: Iterable[str] = ()) -> Iterator[tuple[str, psycopg.Connection]]:
    """(DSN, autocommit connection) of a new, migrated database `enqlab_<label>_<random>` on the
    server of `admin_dsn`, after running the `what_if` statements in it; dropped afterwards."""
    dsn = with_database(admin_dsn, f"enqlab_{label}_{uuid.uuid4().hex[:8]}")
    ensure_database(dsn)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            migrations.migrate(conn)
            for statement in what_if:
                conn.execute(statement)
            yield dsn, conn
    finally:
        drop_database(dsn)
