"""Connections and databases: one place that turns DSNs into connections and errors
into one-line messages."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from enquiries_lab.config import DEFAULT_DATABASE, DsnChoice, database_name, redact, resolve_dsn, with_database
from enquiries_lab.errors import ConnectError, LabError, describe_db_error

LAB_MARKER = "created by enquiries-lab"
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Target:
    """A database the lab works on: its DSN and whether the lab manages the server."""

    dsn: str
    source: str
    embedded: bool

    @property
    def display(self) -> str:
        return redact(self.dsn)


def target(explicit_dsn: str | None = None, *, start: bool = True) -> Target:
    """Resolve `--dsn`/environment/embedded into a concrete DSN (starting the embedded
    server and creating its lab database when that is the choice)."""
    choice: DsnChoice = resolve_dsn(explicit_dsn)
    if not choice.embedded:
        assert choice.dsn is not None
        return Target(choice.dsn, choice.source, False)
    from enquiries_lab.embedded import EmbeddedServer

    server = EmbeddedServer()
    if start:
        server.start()
        ensure_database(server.dsn(DEFAULT_DATABASE))
    return Target(server.dsn(DEFAULT_DATABASE), "embedded", True)


def connect(dsn: str, *, autocommit: bool = False, **kwargs) -> psycopg.Connection:
    """Open a connection; an unreachable server, bad credentials or a missing database
    become a ConnectError naming the DSN (password hidden) and what to do."""
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT, **kwargs)
    except psycopg.OperationalError as err:
        raise ConnectError(_connect_hint(dsn, err)) from None
    except psycopg.ProgrammingError as err:  # malformed conninfo
        raise ConnectError(f"malformed DSN {redact(dsn)!r}: {' '.join(str(err).split())}") from None


def _connect_hint(dsn: str, err: psycopg.OperationalError) -> str:
    text = " ".join(str(err).split())
    low = text.lower()
    where = redact(dsn)
    if "does not exist" in low and "database" in low:
        return (f"cannot connect to {where}: database {database_name(dsn)!r} does not exist; "
                f"create it (createdb) or run `enquiries-lab reset --dsn ...`")
    if "password authentication failed" in low or "no password supplied" in low or "role" in low and "does not exist" in low:
        return f"cannot connect to {where}: login refused ({_last_clause(text)}); check the user and password in the DSN"
    if "connection refused" in low or "no such file" in low or "could not translate host" in low or "timeout" in low:
        return (f"cannot connect to {where}: server unreachable ({_last_clause(text)}); start it, fix the host/port, "
                f"or drop --dsn/ENQUIRIES_LAB_DSN/DATABASE_URL to use the embedded server")
    return f"cannot connect to {where}: {_last_clause(text)}"


def _last_clause(text: str) -> str:
    # libpq prefixes messages with 'connection to server at "..." failed:'; keep the reason.
    return text.rsplit("failed:", 1)[-1].strip() or text


def ensure_database(dsn: str) -> bool:
    """Create the DSN's database (marked as the lab's) if it is missing; True if created."""
    name = database_name(dsn)
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        if _exists(conn, name):
            return False
        _create(conn, name)
        return True


def _exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone() is not None


def _create(conn: psycopg.Connection, name: str) -> None:
    try:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        return  # created concurrently
    conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(LAB_MARKER)))


def is_lab_database(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute(
        "select shobj_description(oid, 'pg_database') from pg_database where datname = %s", [name]
    ).fetchone()
    return bool(row) and row[0] == LAB_MARKER


def require_lab_database(dsn: str, command: str) -> None:
    """Refuse to let `command` write into a database the lab did not create (as reset does):
    a DSN pointing at someone's own database must not get the lab's schemas, roles and data.
    A database that does not exist yet is created, as the lab's (nothing of anyone's is there)."""
    name = database_name(dsn)
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        if not _exists(conn, name):
            _create(conn, name)
        elif not is_lab_database(conn, name):
            raise LabError(f"database {name!r} at {redact(dsn)} was not created by enquiries-lab; {command} writes only "
                           f"into a lab database (`enquiries-lab reset --dsn ...` makes one)")


def reset_target(dsn: str, *, force: bool = False) -> str | None:
    """What a reset of the DSN's database would drop, as a phrase ("database 'x' at ... (size)"),
    or None when it does not exist yet; refuses a system database, and one the lab did not
    create unless forced."""
    name = database_name(dsn)
    if name in {"postgres", "template0", "template1"}:
        raise LabError(f"refusing to reset the system database {name!r}; point --dsn at a lab database")
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        row = conn.execute("select pg_size_pretty(pg_database_size(oid)) from pg_database where datname = %s",
                           [name]).fetchone()
        if row is None:
            return None
        if not force and not is_lab_database(conn, name):
            raise LabError(
                f"database {name!r} at {redact(dsn)} was not created by enquiries-lab; "
                f"pass --force to drop it anyway"
            )
        return f"database {name!r} at {redact(dsn)} ({row[0]})"


def reset_database(dsn: str, *, force: bool = False) -> None:
    """Drop and recreate the DSN's database; refuse one the lab did not create unless forced."""
    exists = reset_target(dsn, force=force) is not None
    name = database_name(dsn)
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        try:
            if exists:
                conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
            _create(conn, name)
        except psycopg.Error as err:
            raise LabError(f"reset of {name!r} failed: {describe_db_error(err)}") from None


def drop_database(dsn: str) -> None:
    name = database_name(dsn)
    with connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def server_version(conn: psycopg.Connection) -> str:
    return conn.execute("show server_version").fetchone()[0]


def connect_string(t: Target) -> str:
    """The DSN as a user would paste it into psql (the embedded one as a URI)."""
    if not t.embedded:
        return t.dsn
    from enquiries_lab.config import parse_dsn

    p = parse_dsn(t.dsn)
    return f"postgresql://{p['user']}@/{p['dbname']}?host={p['host']}&port={p['port']}"
