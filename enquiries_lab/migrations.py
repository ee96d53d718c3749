"""The migration runner: numbered plain-SQL files in `sql/`, applied in order.

Why our own (about 150 lines) rather than Alembic, yoyo or Flyway: the migrations are
plain SQL read by humans and by the linter, the runner must report the failing file
*and line*, refuse edited files by checksum, serialise concurrent runs per database
and never need a JVM; the libraries either want Python migration scripts or do not
report positions. Each file runs in its own transaction, so a failing file leaves the
database at the previous version.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from enquiries_lab.errors import LabError, MigrationError, describe_db_error
from enquiries_lab.lint.sqltext import split_statements

ENV_SQL_DIR = "ENQUIRIES_LAB_SQL_DIR"
FILE_NAME = re.compile(r"^(?P<version>\d{3,})_(?P<name>[a-z0-9_]+)\.sql$")
# Advisory locks are scoped to the current database, so two databases on one server
# migrate side by side while two runs on the same database queue up.
LOCK_KEY = 0x656E715F6C6162  # "enq_lab"

BOOKKEEPING = """
create schema if not exists lab_meta;
revoke all on schema lab_meta from public;
create table if not exists lab_meta.migrations (
    version     integer primary key,
    name        text not null,
    checksum    text not null,
    applied_at  timestamptz not null default now(),
    applied_by  text not null default session_user,
    duration_ms numeric not null
);
comment on table lab_meta.migrations is 'Applied enquiries-lab migrations, with the sha256 of each file as applied.';
"""


# Optional profiles: sql/<name>/NNN_*.sql, applied after the core migrations when the
# database has what they need, skipped otherwise.
PROFILES = {"citus": "select exists (select from pg_extension where extname = 'citus')"}

PROFILE_BOOKKEEPING = """
create table if not exists lab_meta.profile_migrations (
    profile     text not null,
    version     integer not null,
    name        text not null,
    checksum    text not null,
    applied_at  timestamptz not null default now(),
    primary key (profile, version)
);
"""


# sql/001-014 is the baseline: every object in its final form, one file per concern. It
# replaced a chain of 35 files (001-035, in git history up to commit 14cc873) that built the
# same database in steps. Post-baseline migrations are ordinary numbered files from 036, so
# no number above 035 ever meant two different files.
BASELINE_LAST = 35
# The baseline's last file: a directory holding it may not reuse the old chain's numbers after it.
BASELINE_MARK, BASELINE_LAST_FILE = "014_compliance_support", 14
# The pre-baseline chain's files (001_roles is the same file in both).
PRE_BASELINE_FILES = frozenset((
    "002_schemas", "003_context", "004_core_reference", "005_core_workflow", "006_audit_trail",
    "007_ddl_guard", "008_tenant_organisation", "009_tenant_casework", "010_access_control",
    "011_row_stamps_and_soft_delete", "012_audit_capture", "013_enquiry_workflow", "014_retention",
    "015_app_views", "016_audit_reconstruction", "017_audit_seals", "018_audit_capture_rows",
    "019_workflow_row_forms", "020_audit_snapshots_and_replay", "021_compliance_support",
    "022_audit_query_settings", "023_audit_seal_batches", "024_disposal_cascade_set_based",
    "025_audit_capture_typed", "026_context_functions_inlined", "027_unknown_priority_named",
    "028_implied_tenant_foreign_keys_dropped", "029_enquiry_status_kept_by_the_workflow",
    "030_time_ordered_keys", "031_workflow_compiled", "032_enquiry_updates_stay_on_their_page",
    "033_enquiry_text_checked_when_written", "034_channels_and_priorities_as_types",
    "035_enquiry_pages_keep_half_free",
))
PRE_BASELINE = (
    "this database was migrated with the pre-baseline chain of migrations (001-035), which the "
    "baseline replaced; its data is regenerable: run `enquiries-lab reset`, then migrate (nothing was changed)"
)


def sql_dir() -> Path:
    if os.environ.get(ENV_SQL_DIR):
        return Path(os.environ[ENV_SQL_DIR])
    return Path(__file__).resolve().parent.parent / "sql"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str
    checksum: str

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class MigrationState:
    version: int
    name: str
    state: str  # applied | pending | changed | missing
    applied_at: datetime | None


def discover(directory: Path | None = None) -> list[Migration]:
    """The migration files in version order; duplicate versions are an error."""
    directory = directory or sql_dir()
    if not directory.is_dir():
        raise MigrationError(f"migration directory {directory} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_snake_case.sql")
        data = path.read_bytes()
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is also used by {found[version].filename}")
        found[version] = Migration(version, match["name"], path, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
    if any(f"{m.version:03d}_{m.name}" == BASELINE_MARK for m in found.values()):
        for m in found.values():
            if BASELINE_LAST_FILE < m.version <= BASELINE_LAST:
                raise MigrationError(f"{m.filename}: numbers {BASELINE_LAST_FILE + 1:03d}-{BASELINE_LAST:03d} belonged to the "
                                     f"pre-baseline chain, so a database may hold another file under that number; "
                                     f"number new migrations after the last one (from {BASELINE_LAST + 1:03d} on)")
    return [found[v] for v in sorted(found)]


def _applied(conn: psycopg.Connection) -> dict[int, tuple[str, str, datetime]]:
    exists = conn.execute("select to_regclass('lab_meta.migrations') is not null").fetchone()[0]
    if not exists:
        return {}
    rows = conn.execute("select version, name, checksum, applied_at from lab_meta.migrations").fetchall()
    return {v: (n, c, at) for v, n, c, at in rows}


def refuse_pre_baseline(migrations: list[Migration], applied: dict[int, tuple[str, str, datetime]]) -> None:
    """A database migrated with the old chain holds its files' versions and names, which the baseline does not."""
    files = {(m.version, m.name) for m in migrations}
    if any(f"{v:03d}_{name}" in PRE_BASELINE_FILES and (v, name) not in files for v, (name, _, _) in applied.items()):
        raise MigrationError(PRE_BASELINE)


def status(conn: psycopg.Connection, directory: Path | None = None) -> list[MigrationState]:
    migrations = discover(directory)
    files = {m.version: m for m in migrations}
    applied = _applied(conn)
    refuse_pre_baseline(migrations, applied)
    states = []
    for version in sorted(files.keys() | applied.keys()):
        m = files.get(version)
        if version not in applied:
            states.append(MigrationState(version, m.name, "pending", None))
        elif m is None:
            states.append(MigrationState(version, applied[version][0], "missing", applied[version][2]))
        else:
            state = "applied" if applied[version][1] == m.checksum else "changed"
            states.append(MigrationState(version, m.name, state, applied[version][2]))
    return states


def line_of(text: str, position: int | str | None) -> int | None:
    """1-based line of a 1-based character position reported by the server."""
    try:
        pos = int(position) if position is not None else None
    except ValueError:
        return None
    if not pos:
        return None
    return text.count("\n", 0, pos - 1) + 1


def migrate(conn: psycopg.Connection, directory: Path | None = None, *, progress=None,
            settings_removed=None) -> list[Migration]:
    """Apply every pending migration; returns those applied (empty when up to date).

    `conn` must be in autocommit mode: each file gets its own transaction. Lab roles' per-role
    defaults are removed every time (`clear_role_settings`); `settings_removed(role, database,
    settings)` hears of each.
    """
    if not conn.autocommit:
        raise MigrationError("migrate() needs an autocommit connection (each file runs in its own transaction)")
    migrations = discover(directory)
    conn.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        refuse_pre_baseline(migrations, _applied(conn))  # before anything is written
        with conn.transaction():
            conn.execute(BOOKKEEPING)
        applied = _applied(conn)
        _refuse_tampering(migrations, applied)
        latest = max(applied, default=0)
        profiles = active_profiles(conn)
        # The profile files each profile may apply here: all of an active one's; of one the
        # server runs but this database lacks, only its server-wide files (SERVER_WIDE).
        allowed = {p: None for p in profiles} | {p: SERVER_WIDE[p][1] for p in server_wide_profiles(conn)
                                                  if p not in profiles}
        done = []
        for m in migrations:
            if m.version in applied:
                continue
            if m.version < latest:
                raise MigrationError(
                    f"{m.filename}: version {m.version} is older than the latest applied ({latest}); "
                    f"give new migrations a higher number"
                )
            # A profile file that runs after this migration commits with it: no other session
            # (another database's migration, a distributed write) sees the state between them,
            # e.g. sql/001's NOLOGIN before citus/060 gives the internal roles LOGIN again.
            followers = [(profile, f) for profile, versions in allowed.items()
                         for f in _pending_profile_files(conn, profile, directory, after=m.version)
                         if versions is None or f.version in versions]
            _apply(conn, m, followers)
            for f in [m, *(f for _, f in followers)]:
                done.append(f)
                if progress:
                    progress(f)
        for profile in profiles:
            done += _apply_profile(conn, profile, directory, progress)
        close_database(conn)
        for role, database, settings in clear_role_settings(conn):
            if settings_removed:
                settings_removed(role, database, settings)
        return done
    finally:
        conn.execute("select pg_advisory_unlock(%s)", [LOCK_KEY])


def close_database(conn: psycopg.Connection) -> None:
    """Re-assert the database-level privileges of 002 on every run: CREATE DATABASE ... TEMPLATE
    does not copy them, and a copy open to PUBLIC would let any login connect and create
    temporary objects (a trigger of its own, say)."""
    if conn.execute("select to_regrole('enquiries_app') is null").fetchone()[0]:
        return  # migrations that create the roles have not run (a fixture directory)
    # The lab roles that log in: enquiries_app and enquiries_loader; on Citus also the internal
    # roles, which Citus's connections between the nodes log in as (sql/citus/060). Those by
    # name there, not by rolcanlogin: another database's migration on the same cluster may
    # hold them NOLOGIN at this moment (sql/001), which must not leave this one closed to them.
    server_wide = server_wide_profiles(conn)
    citus = "citus" in active_profiles(conn) or "citus" in server_wide
    logins = [r for (r,) in conn.execute(
        "select rolname from pg_roles where rolname = any(%s) and (rolcanlogin or %s) order by 1",
        [list(LAB_ROLES), citus])]
    with conn.transaction():
        # re-asserted: a lab database migrated before, or elsewhere, may have taken it away
        for profile in server_wide:
            for f in _server_wide_files(profile, None):
                with conn.cursor() as cur:
                    _execute_file(cur, f)
        name = sql.Identifier(conn.info.dbname)
        conn.execute(sql.SQL("revoke all on database {} from public").format(name))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(
            name, sql.SQL(", ").join(sql.Identifier(r) for r in logins)))


# The lab's cluster-wide roles (sql/001). ALTER ROLE ... SET cannot be refused to a role for
# itself (no event trigger sees shared objects), so migrate removes whatever defaults they hold.
LAB_ROLES = ("enquiries_owner", "enquiries_audit_writer", "enquiries_caseworker", "enquiries_supervisor",
             "enquiries_auditor", "enquiries_retention_officer", "enquiries_provisioner", "enquiries_history_loader",
             "enquiries_app", "enquiries_loader")

ROLE_SETTINGS = """
select r.rolname, d.datname, s.setconfig
from pg_db_role_setting s join pg_roles r on r.oid = s.setrole left join pg_database d on d.oid = s.setdatabase
where r.rolname = any(%s) and (s.setdatabase = 0 or d.datname is not null)
order by 1, 2 nulls first
"""


def clear_role_settings(conn: psycopg.Connection) -> list[tuple[str, str | None, list[str]]]:
    """Remove every per-role default (`ALTER ROLE r [IN DATABASE d] SET ...`) a lab role holds, in
    every database of the server: a login can set its own (a default `role`, read-only,
    statement_timeout, search_path, a context), and each would apply to every new connection.
    Returns what was removed (role, database or None for all databases, settings)."""
    if conn.execute("select to_regrole('enquiries_app') is null").fetchone()[0]:
        return []
    found = conn.execute(ROLE_SETTINGS, [list(LAB_ROLES)]).fetchall()
    with conn.transaction():
        for role, database, _settings in found:
            if database is None:
                conn.execute(sql.SQL("alter role {} reset all").format(sql.Identifier(role)))
            else:
                conn.execute(sql.SQL("alter role {} in database {} reset all").format(
                    sql.Identifier(role), sql.Identifier(database)))
    return [(role, database, list(settings)) for role, database, settings in found]


def active_profiles(conn: psycopg.Connection) -> list[str]:
    """The profiles whose prerequisites this database has (e.g. the citus extension)."""
    return [name for name, detect in PROFILES.items() if conn.execute(detect).fetchone()[0]]


# Roles are shared by every database of a server. A profile file that sets the roles up for the
# profile (citus/060: the internal roles log in between the nodes) must hold for the whole
# server, so on a server that preloads the profile's library it also runs for a lab database
# without the extension, with the core migration it follows, and again on every migrate: else
# that database's sql/001 takes LOGIN from the roles every Citus lab database on it needs.
SERVER_WIDE = {"citus": ("select 'citus' = any(string_to_array(replace(current_setting('shared_preload_libraries'), "
                         "' ', ''), ','))", (60,))}


def server_wide_profiles(conn: psycopg.Connection) -> list[str]:
    """Profiles whose server-wide files apply here: the server runs the profile, this database may not."""
    return [name for name, (detect, _) in SERVER_WIDE.items() if conn.execute(detect).fetchone()[0]]


def _server_wide_files(profile: str, directory: Path | None) -> list[Migration]:
    return [m for m in discover((directory or sql_dir()) / profile) if m.version in SERVER_WIDE[profile][1]]


# A profile file that a core migration already needs says so in a line of its own,
# `-- runs after: NNN`: it is applied right after that core migration (on a new database)
# instead of after all of them.
RUNS_AFTER = re.compile(r"^-- runs after: (\d{3,})\s*$", re.MULTILINE)


def runs_after(m: Migration) -> int | None:
    match = RUNS_AFTER.search(m.sql)
    return int(match[1]) if match else None


def profile_states(conn: psycopg.Connection) -> dict[str, str]:
    """Each profile's state, honestly: `active` only when what it sets up is in effect (for
    citus: every tenant table distributed by tenant_id and colocated, core tables reference
    tables; core.citus_profile_gaps, sql/071), not merely when its prerequisite is installed."""
    states = {}
    available = active_profiles(conn)
    for profile in PROFILES:
        if profile not in available:
            states[profile] = "skipped (not available on this server)"
            continue
        has_gaps = conn.execute("select to_regprocedure('core.citus_profile_gaps()') is not null").fetchone()[0]
        gaps = conn.execute("select object, problem from core.citus_profile_gaps() where problem is not null "
                            "order by 1").fetchall() if has_gaps else [("(schema)", "not migrated")]
        states[profile] = "active" if not gaps else (
            f"NOT in effect ({len(gaps)} problem(s), e.g. {gaps[0][0]}: {gaps[0][1]}); run migrate")
    return states


def _pending_profile_files(conn: psycopg.Connection, profile: str, directory: Path | None,
                           after: int | None = None) -> list[Migration]:
    """The profile's files not applied yet, in order; with `after`, only those that run after
    that core version. Refuses a file edited since it was applied."""
    files = discover((directory or sql_dir()) / profile)
    if after is not None:
        files = [m for m in files if runs_after(m) == after]
        if not files:
            return []
    else:  # on a database migrated before the profile was available: the same order as on a new one
        files.sort(key=lambda m: (runs_after(m) is None, runs_after(m) or 0, m.version))
    with conn.transaction():
        conn.execute(PROFILE_BOOKKEEPING)
    applied = {v: c for v, c in conn.execute(
        "select version, checksum from lab_meta.profile_migrations where profile = %s", [profile])}
    for m in files:
        if m.version in applied and applied[m.version] != m.checksum:
            raise MigrationError(f"{profile}/{m.filename} was edited after it was applied (checksum differs)")
    return [m for m in files if m.version not in applied]


def _apply_profile(conn: psycopg.Connection, profile: str, directory: Path | None, progress) -> list[Migration]:
    """The profile's pending files, each in its own transaction."""
    done = []
    for m in _pending_profile_files(conn, profile, directory):
        with conn.transaction(), conn.cursor() as cur:
            _run_profile_file(cur, profile, m)
        done.append(m)
        if progress:
            progress(m)
    return done


def _run_profile_file(cur: psycopg.Cursor, profile: str, m: Migration, also: Migration | None = None) -> None:
    """One profile file in the caller's transaction; `also`: the core migration it commits with."""
    try:
        _execute_file(cur, m)
        cur.execute("reset role")
        cur.execute("insert into lab_meta.profile_migrations (profile, version, name, checksum) values (%s, %s, %s, %s)",
                    [profile, m.version, m.name, m.checksum])
    except psycopg.Error as err:
        line = _failure_line(m, err)
        nothing = f"this file or {also.filename}" if also else "this file"
        raise MigrationError(f"{profile}/{m.filename}{':' + str(line) if line else ''}: {describe_db_error(err)} "
                             f"(nothing from {nothing} was applied)") from None


def _execute_file(cur, m: Migration) -> None:
    """Each statement of the file on its own, in the caller's transaction. Citus forwards some
    commands to the workers as the query string they arrived in, so a whole file sent as one
    multi-statement string would be run on every worker in full (docs/scale-out.md). A failing
    statement's error carries the line in the file (`_failure_line`)."""
    for statement in split_statements(m.path, m.sql):
        try:
            cur.execute(statement.text)
        except psycopg.Error as err:
            err.add_note(f"enquiries-lab-line:{statement.line}:{statement.start}")
            raise


def _failure_line(m: Migration, err: psycopg.Error) -> int | None:
    """The line in the file of the server's error position (None if it reported none)."""
    offset = 0
    for note in getattr(err, "__notes__", ()):
        if note.startswith("enquiries-lab-line:"):
            offset = int(note.split(":")[2])
    # the position is within the statement, which starts `offset` characters into the file
    line = line_of(m.sql[offset:], err.diag.statement_position if err.diag else None)
    return None if line is None else line + m.sql.count("\n", 0, offset)


def _refuse_tampering(migrations: list[Migration], applied: dict[int, tuple[str, str, datetime]]) -> None:
    for m in migrations:
        if m.version in applied and applied[m.version][1] != m.checksum:
            raise MigrationError(
                f"{m.filename} was edited after it was applied (checksum differs); "
                f"restore it and put the change in a new migration"
            )


def _apply(conn: psycopg.Connection, m: Migration, followers: list[tuple[str, Migration]] = ()) -> None:
    """`m`, then each (profile, file) of `followers`, in one transaction."""
    started = time.perf_counter()
    with conn.transaction():
        with conn.cursor() as cur:
            try:
                _execute_file(cur, m)
                cur.execute("reset role")  # files may SET LOCAL ROLE enquiries_owner
                cur.execute(
                    "insert into lab_meta.migrations (version, name, checksum, duration_ms) values (%s, %s, %s, %s)",
                    [m.version, m.name, m.checksum, round((time.perf_counter() - started) * 1000, 1)],
                )
            except psycopg.Error as err:
                line = _failure_line(m, err)
                where = f"{m.filename}:{line}" if line else m.filename
                raise MigrationError(f"{where}: {describe_db_error(err)} (nothing from this file was applied)") from None
            for profile, f in followers:
                _run_profile_file(cur, profile, f, also=m)


def require_schema(conn: psycopg.Connection, where: str) -> None:
    """Refuse, in one line, to read a database the lab never migrated (a check or a seal there
    would only list missing relations)."""
    if conn.execute("select to_regclass('lab_meta.migrations') is null").fetchone()[0]:
        raise LabError(f"{where} holds no enquiries-lab schema (no migration applied); "
                       f"run `enquiries-lab migrate` (or `demo`) first")
