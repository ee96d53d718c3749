"""The throwaway ("shadow") database the linter applies migrations to.

Where: an admin DSN given by the caller (`--shadow-dsn`, or `ENQUIRIES_LAB_TEST_DSN` in the
test suite), else a private embedded PostgreSQL 18 in a temporary directory, removed
afterwards. In both cases a uniquely named database (`enqlab_lint_<random>`) is created
from template0 and dropped at the end.

How: by default everything is applied in ONE transaction that is rolled back, so nothing
a migration does to cluster-wide objects (roles, memberships) survives on a shared server;
between files the runner's transaction boundary is imitated (`RESET ALL`, `RESET ROLE`,
`SET CONSTRAINTS ALL IMMEDIATE` so deferred checks fire where a commit would fire them).
A shadow built to be reused (the test suite's base of the real migrations) commits file
by file instead, like `enquiries-lab migrate`, and trials then run in transactions that
are rolled back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import psycopg
from psycopg import sql

from enquiries_lab.config import redact, with_database
from enquiries_lab.errors import LabError, describe_db_error
from enquiries_lab.lint.provenance import Provenance
from enquiries_lab.lint.sqltext import SqlSyntaxError, Statement, split_statements

ENV_TEST_DSN = "ENQUIRIES_LAB_TEST_DSN"


class LintError(LabError):
    """The linter could not do its job (bad input, a migration that does not apply)."""


@contextmanager
def shadow_server(admin_dsn: str | None = None) -> Iterator[str]:
    """An admin DSN (database `postgres`) of the server to create shadow databases on."""
    if admin_dsn:
        yield with_database(admin_dsn, "postgres")
        return
    from enquiries_lab.embedded import EmbeddedServer

    home = Path(tempfile.mkdtemp(prefix="enqlab-lint-"))
    home.chmod(0o755)  # as root the server runs as another user, who must enter it
    server = EmbeddedServer(home)
    try:
        server.start()
        yield server.dsn("postgres")
    finally:
        try:
            server.destroy()
        finally:
            shutil.rmtree(home, ignore_errors=True)


@contextmanager
def shadow_database(admin_dsn: str, prefix: str = "enqlab_lint") -> Iterator[str]:
    """A new, empty database (from template0), dropped afterwards; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("create database {} template template0").format(sql.Identifier(name)))
    except psycopg.OperationalError as err:
        raise LintError(f"cannot reach the shadow server {redact(admin_dsn)}: {' '.join(str(err).split())}") from None
    except psycopg.Error as err:
        raise LintError(f"cannot create a shadow database on {redact(admin_dsn)}: {describe_db_error(err)} "
                        f"(the shadow DSN must be a superuser's)") from None
    try:
        yield with_database(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class SqlFile:
    path: Path
    text: str
    statements: tuple[Statement, ...]

    @classmethod
    def read(cls, path: Path) -> "SqlFile":
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise LintError(f"{path}: cannot read it ({err})") from None
        try:
            statements = split_statements(path, text)
        except SqlSyntaxError as err:
            raise LintError(f"{path}:{err.line}: {err}") from None
        return cls(path, text, tuple(statements))


def _file_boundary(cur: psycopg.Cursor) -> None:
    """What the end of a migration's own transaction would do, inside a longer one."""
    cur.execute("set constraints all immediate")
    cur.execute("reset all")
    cur.execute("reset role")


def apply(conn: psycopg.Connection, files: Sequence[SqlFile], provenance: Provenance, *, commit_each: bool = False) -> None:
    """Apply `files` statement by statement, recording in `provenance` what each changed.

    Without `commit_each` the caller owns the transaction (and rolls it back)."""
    for f in files:
        with conn.transaction() if commit_each else nullcontext():
            if commit_each:
                provenance.new_transaction()
            with conn.cursor() as cur:
                for statement in f.statements:
                    try:
                        cur.execute(statement.text)
                    except psycopg.Error as err:
                        raise LintError(_where(statement, err) + f": {describe_db_error(err)} "
                                        f"(the migration does not apply, so it cannot be linted)") from None
                    provenance.record(conn, statement)
                try:
                    _file_boundary(cur)
                except psycopg.Error as err:
                    raise LintError(f"{f.path}: {describe_db_error(err)} (a deferred check failed at the end of the file)") from None


def _where(statement: Statement, err: psycopg.Error) -> str:
    position = err.diag.statement_position if err.diag else None
    line = statement.line
    try:
        if position:
            line = statement.line + statement.text.count("\n", 0, int(position) - 1)
    except ValueError:
        pass
    return f"{statement.path}:{line}"


def default_admin_dsn(explicit: str | None) -> str | None:
    """--shadow-dsn, else ENQUIRIES_LAB_TEST_DSN, else None (the embedded server)."""
    return explicit or os.environ.get(ENV_TEST_DSN) or None
