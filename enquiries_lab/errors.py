"""Errors that mean something to the user, as one line each.

Expected failures (bad input, an unreachable server, a refused write) are raised as
`LabError`; the CLI prints `str(error)` and exits non-zero without a traceback.
"""

from __future__ import annotations

import psycopg


class LabError(Exception):
    """An expected failure with a one-line, user-facing message."""


class ConfigError(LabError):
    """The lab was asked for something its configuration cannot give."""


class ConnectError(LabError):
    """The database could not be reached or logged into."""


class MigrationError(LabError):
    """A migration could not be applied, or the applied history was tampered with."""


class DatabaseError(LabError):
    """The database refused an operation; carries the SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None = None):
        super().__init__(message)
        self.sqlstate = sqlstate


class ConflictError(DatabaseError):
    """Someone else changed the record first (optimistic concurrency, SQLSTATE 40001)."""


def one_line(text: str) -> str:
    """Collapse whitespace so a message fits on one line."""
    return " ".join(str(text).split())


def describe_db_error(err: psycopg.Error) -> str:
    """`SQLSTATE 42501: permission denied for table x` from any psycopg error."""
    diag = getattr(err, "diag", None)
    primary = diag.message_primary if diag is not None and diag.message_primary else str(err)
    if err.sqlstate:
        return f"SQLSTATE {err.sqlstate}: {one_line(primary)}"
    return one_line(primary)


def from_db_error(err: psycopg.Error, context: str | None = None) -> DatabaseError:
    """Wrap a psycopg error as a DatabaseError (ConflictError for 40001)."""
    message = describe_db_error(err)
    if context:
        message = f"{context}: {message}"
    cls = ConflictError if err.sqlstate == "40001" else DatabaseError
    return cls(message, err.sqlstate)
