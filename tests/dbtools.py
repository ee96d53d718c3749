"""Throwaway databases for the tests (imported by conftest.py and test modules).

A module of its own, not conftest.py: the notebooks have a conftest.py too, and with both
directories on sys.path `from conftest import ...` would pick whichever was imported first.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from enquiries_lab.config import with_database
from enquiries_lab.database import LAB_MARKER


def _new_name(kind: str) -> str:
    return f"enqlab_test_{kind}_{uuid.uuid4().hex[:10]}"


def create_db(admin_dsn: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        stmt = sql.SQL("create database {}").format(sql.Identifier(name))
        if template:
            stmt = sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
        conn.execute(stmt)
        if template:  # a copy of the lab's template is a lab database, as `reset` would make it
            conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(LAB_MARKER)))
    dsn = with_database(admin_dsn, name)
    if template:  # a copy does not inherit the database's privileges: close it as migrate() does
        from enquiries_lab.migrations import close_database

        with psycopg.connect(dsn, autocommit=True) as copy:
            close_database(copy)
    return dsn


def drop_db(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
