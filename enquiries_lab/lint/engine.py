"""Running the rules: on migrations applied to a shadow database, or on a live database.

Migrations: every file of the migration directory is applied, statement by statement, to a
throwaway database (see shadow.py) while provenance.py records which statement made each
catalog object what it is; then every rule runs against the resulting catalog, and each
finding is attributed to the file and line of the statement responsible. Only findings in
the files asked about are reported, so linting one new migration judges it on the whole
schema without repeating the others' findings.

A file that is not part of a migration directory (say tests/lint_fixtures/x.sql, or a draft)
is applied after the project's migrations, on its own, and judged on that realistic schema.

Live database (`--db`): the catalog rules run against it. What the project's migrations
acknowledge is acknowledged there too; a finding the migrations also produce keeps their
file and line; anything else was done by hand and says so.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import psycopg
from psycopg.types.json import Jsonb

from enquiries_lab import migrations
from enquiries_lab.errors import MigrationError, describe_db_error
from enquiries_lab.lint.provenance import Origin, Provenance
from enquiries_lab.lint.shadow import LintError, SqlFile, apply, shadow_database, shadow_server
from enquiries_lab.lint.sqltext import acknowledgments, comment_only_lines, tokenize

PACKAGE = Path(__file__).resolve().parent
RULES_DIR = PACKAGE / "rules"
SETTINGS_FILE = PACKAGE / "project.toml"
ACK_RULE = "lint-acknowledgment"
SQUAWK_PREFIX = "squawk-"
ACK_FIX = "write `-- lint: allow <rule-id>: <reason>` on the line of the finding or on the line before it, or delete it"


# -- rules ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    fix: str
    path: Path
    needs_migrations: bool  # reads the migrations' text or history (not available with --db)
    sql: str | None = None
    module: Any = None

    def run(self, context: "Context") -> Iterable["Raw"]:
        if self.module is not None:
            yield from self.module.check(context)
            return
        for obj, message, blame, properties in context.query(self.sql):
            yield Raw(obj, message, blame=blame, blame_properties=tuple(properties or ()))


@cache
def load_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for path in sorted(RULES_DIR.iterdir()):
        if path.suffix == ".sql":
            header = _sql_header(path.read_text())
            missing = {"id", "title", "fix"} - header.keys()
            if missing:
                raise LintError(f"rule {path.name} lacks {', '.join(sorted(missing))} in its header")
            rules.append(Rule(header["id"], header["title"], header["fix"], path, False, sql=path.read_text()))
        elif path.suffix == ".py" and path.name[0].isdigit():
            spec = importlib.util.spec_from_file_location(f"enquiries_lab.lint.rules.r{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            rules.append(Rule(module.ID, module.TITLE, module.FIX, path, module.NEEDS_MIGRATIONS, module=module))
    ids = [r.id for r in rules]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise LintError(f"duplicate rule ids: {', '.join(sorted(duplicates))}")
    return tuple(rules)


def rule_ids() -> set[str]:
    return {r.id for r in load_rules()} | {ACK_RULE}


def _sql_header(text: str) -> dict[str, str]:
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        key, sep, value = line[2:].strip().partition(":")
        if sep and key.strip() in ("id", "title", "fix"):
            header[key.strip()] = value.strip()
    return header


@cache
def settings() -> dict[str, Any]:
    """The project's definitions (project.toml): tenant schemas, application roles, allow-list."""
    return tomllib.loads(SETTINGS_FILE.read_text())


# -- findings ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Raw:
    """What a rule returns: the object, the message, and how to find the responsible statement."""

    object: str
    message: str
    blame: str | None = None
    blame_properties: tuple[str, ...] = ()
    origin: Origin | None = None
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    file: str | None
    line: int | None
    object: str
    message: str
    fix: str
    acknowledged: str | None = None  # the reason, when acknowledged
    statement_line: int | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("statement_line")
        if d["acknowledged"] is None:
            d.pop("acknowledged")
        return d

    @property
    def key(self) -> tuple[str, str, str]:
        return self.rule, self.object, self.message


@dataclass
class Report:
    findings: list[Finding]  # what must be fixed (or acknowledged)
    acknowledged: list[Finding]
    linted: list[str]  # the files (or the database) judged
    rules: int
    skipped: list[str] = field(default_factory=list)  # "path: why"

    @property
    def clean(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"linted": self.linted, "skipped": self.skipped, "rules": self.rules,
                "findings": [f.to_dict() for f in self.findings],
                "acknowledged": [f.to_dict() for f in self.acknowledged]}


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


# -- running the rules on a catalog -----------------------------------------------------------

class Context:
    """What a rule sees: the catalog (query), the settings, and for migrations the provenance."""

    def __init__(self, conn: psycopg.Connection, provenance: Provenance | None):
        self.conn = conn
        self.provenance = provenance
        self.settings = dict(settings())
        self.settings["app_roles"] = [r for (r,) in self._raw(
            "select rolname::text from pg_catalog.pg_roles where starts_with(rolname, $1) and rolname <> all($2::text[])",
            [self.settings["app_role_prefix"], self.settings["not_app_roles"]])]
        self._settings_jsonb = Jsonb(self.settings)

    def query(self, sql: str, *extra: Any) -> list[tuple]:
        """Run a rule's query with $1 = the settings (jsonb) and $2... = `extra`."""
        return self._raw(sql, [self._settings_jsonb, *extra])

    def _raw(self, sql: str, params: list) -> list[tuple]:
        with psycopg.RawCursor(self.conn) as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def relation_name(self, relid: str | int) -> str:
        props = (self.provenance.state if self.provenance else {}).get(f"rel:{relid}")
        if props:
            return f"{props['schema']}.{props['name']}"
        return str(relid)


def run_rules(conn: psycopg.Connection, provenance: Provenance | None) -> list[tuple[Rule, Raw]]:
    context = Context(conn, provenance)
    results: list[tuple[Rule, Raw]] = []
    for rule in load_rules():
        if rule.needs_migrations and provenance is None:
            continue
        try:
            results.extend((rule, raw) for raw in rule.run(context))
        except psycopg.Error as err:
            raise LintError(f"rule {rule.id} ({rule.path.name}) failed: {describe_db_error(err)}") from None
    return results


# -- migrations -----------------------------------------------------------------------------

CONSTRAINT_DETAIL = """
select k.conname::text, k.contype::text,
       array(select a.attname::text from unnest(k.conkey) x(attnum)
             join pg_catalog.pg_attribute a on a.attrelid = k.conrelid and a.attnum = x.attnum),
       (select relname::text from pg_catalog.pg_class where oid = k.confrelid)
from pg_catalog.pg_constraint k where k.oid = $1
"""


def _locate(conn: psycopg.Connection, raw: Raw, origin: Origin) -> int:
    """The line of the responsible clause: a constraint's own line within its statement."""
    if raw.line is not None:
        return raw.line
    if raw.blame and raw.blame.startswith("con:") and not raw.blame_properties:
        from enquiries_lab.lint import clauses

        with psycopg.RawCursor(conn) as cur:
            cur.execute(CONSTRAINT_DETAIL, [int(raw.blame.split(":")[1])])
            row = cur.fetchone()
        if row:
            name, kind, columns, referenced = row
            clause = clauses.find(clauses.clauses(origin.statement), kind, name, tuple(columns), referenced)
            if clause:
                return clause.line
    return origin.statement.line


def inspect(conn: psycopg.Connection, provenance: Provenance, files: Sequence[SqlFile],
            squawked: dict[Path, list] | None = None) -> tuple[list[Finding], list[Finding]]:
    """Run every rule; keep the findings attributed to `files`; add squawk's for them when it
    ran (`squawked` is not None); apply the files' acknowledgments. Returns (findings, acknowledged)."""
    reported = {f.path: f for f in files}
    attributed: list[Finding] = []
    for f in files:
        for line, rule, message, fix in (squawked or {}).get(f.path, []):
            statement = next((s for s in f.statements if s.line <= line <= s.end_line), None)
            attributed.append(Finding(rule, display_path(f.path), line, rule.removeprefix("squawk-"), message, fix,
                                      statement_line=statement.line if statement else line))
    for rule, raw in run_rules(conn, provenance):
        origin = raw.origin or (provenance.origin_of(raw.blame, raw.blame_properties) if raw.blame else None)
        if origin is None or origin.statement.path not in reported:
            continue
        attributed.append(Finding(rule.id, display_path(origin.statement.path), _locate(conn, raw, origin),
                                  raw.object, raw.message, rule.fix, statement_line=origin.statement.line))
    attributed = list(dict.fromkeys(attributed))  # one finding per (rule, place, object, message)
    findings: list[Finding] = []
    acknowledged: list[Finding] = []
    for f in files:
        mine = [x for x in attributed if x.file == display_path(f.path)]
        kept, acked, ack_problems = _acknowledge(f, mine, squawk_ran=squawked is not None)
        findings.extend(kept + ack_problems)
        acknowledged.extend(acked)
    return _sorted(findings), _sorted(acknowledged)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file or "", f.line or 0, f.rule, f.object))


def _acknowledge(f: SqlFile, found: list[Finding], *, squawk_ran: bool) -> tuple[list[Finding], list[Finding], list[Finding]]:
    acks, malformed = acknowledgments(f.path, f.text)
    if not squawk_ran:  # acknowledgments of squawk's rules are judged only when squawk runs
        acks = [a for a in acks if not a.rule.startswith(SQUAWK_PREFIX)]
    comment_only = comment_only_lines(f.text)
    code_lines = _code_lines(f.text)
    where = display_path(f.path)
    problems = [Finding(ACK_RULE, where, m.line, m.text, f"malformed acknowledgment {m.text!r}", ACK_FIX) for m in malformed]
    known = rule_ids()
    targets: dict[int, int | None] = {}
    for a in acks:
        line = a.line
        if a.line not in code_lines:  # a comment line: it acknowledges the next line of code
            line = a.line + 1
            while line in comment_only:
                line += 1
            if line not in code_lines:
                line = None
        targets[a.line] = line
        if a.rule not in known and not a.rule.startswith(SQUAWK_PREFIX):
            problems.append(Finding(ACK_RULE, where, a.line, a.rule, f"acknowledges an unknown rule {a.rule!r}", ACK_FIX))
    used: set[int] = set()
    kept: list[Finding] = []
    acked: list[Finding] = []
    for finding in found:
        match = next((a for a in acks if a.rule == finding.rule
                      and targets[a.line] in (finding.line, finding.statement_line)), None)
        if match:
            used.add(match.line)
            acked.append(Finding(finding.rule, finding.file, finding.line, finding.object, finding.message,
                                 finding.fix, match.reason, finding.statement_line))
        else:
            kept.append(finding)
    for a in acks:
        if a.line not in used and (a.rule in known or a.rule.startswith(SQUAWK_PREFIX)):
            problems.append(Finding(ACK_RULE, where, a.line, a.rule,
                                    f"acknowledges {a.rule}, but there is no such finding on the line it annotates", ACK_FIX))
    return kept, acked, problems


def _code_lines(text: str) -> set[int]:
    lines: set[int] = set()
    for tok in tokenize(text):
        if tok.kind != "comment":
            lines.update(range(tok.line, tok.line + tok.text.count("\n") + 1))
    return lines


@dataclass
class Plan:
    """One shadow run: a migration directory applied in full, the files of it to report, and
    files applied on top of it one at a time (each reported)."""

    directory: Path
    reported: list[Path]
    on_top: list[Path]


def skip_reason(path: Path) -> str | None:
    """Why a .sql file is not a migration to lint: the project's sql/ subdirectories hold
    optional profiles (sql/citus/, applied only where the extension exists) and checks
    (queries), not migrations of the core sequence."""
    base = migrations.sql_dir().resolve()
    resolved = path.resolve()
    if resolved.parent != base and resolved.is_relative_to(base):
        sub = resolved.relative_to(base).parts[0]
        if sub in migrations.PROFILES:
            return f"part of the optional {sub} profile (sql/{sub}/), which needs its extension; not linted"
        return f"in sql/{sub}/, which holds checks or profiles, not migrations; not linted"
    return None


def plan(paths: Sequence[Path], skipped: list[str] | None = None) -> list[Plan]:
    base = migrations.sql_dir().resolve()
    plans: dict[Path, Plan] = {}

    def plan_for(directory: Path) -> Plan:
        directory = directory.resolve()
        if directory not in plans:
            _discover(directory)
            plans[directory] = Plan(directory, [], [])
        return plans[directory]

    if not paths:
        p = plan_for(base)
        p.reported.extend(m.path.resolve() for m in _discover(base))
    for path in paths:
        if not path.exists():
            raise LintError(f"{path}: no such file or directory")
        if path.is_dir():
            p = plan_for(path)
            p.reported.extend(m.path.resolve() for m in _discover(path.resolve()))
        elif path.suffix != ".sql":
            raise LintError(f"{path}: not an .sql file")
        elif skip_reason(path):
            if skipped is not None:
                skipped.append(f"{path}: {skip_reason(path)}")
        elif migrations.FILE_NAME.match(path.name):
            plan_for(path.parent).reported.append(path.resolve())
        else:
            plan_for(base).on_top.append(path.resolve())
    for p in plans.values():
        p.reported = list(dict.fromkeys(p.reported))
        p.on_top = list(dict.fromkeys(p.on_top))
    return list(plans.values())


def _discover(directory: Path) -> list[migrations.Migration]:
    try:
        return migrations.discover(directory)
    except MigrationError as err:
        raise LintError(str(err)) from None


def lint_migrations(paths: Sequence[Path] = (), *, admin_dsn: str | None = None, squawk: bool = False) -> Report:
    """Lint migration files (default: the project's migration directory) on a shadow database;
    with `squawk`, add squawk's lock-safety findings for the same files."""
    skipped: list[str] = []
    plans = plan(paths, skipped)
    findings: list[Finding] = []
    acknowledged: list[Finding] = []
    linted: list[str] = []
    if not plans:
        return Report([], [], [], len(load_rules()), skipped)
    # Read (and split) everything first: a file that cannot be read fails before any server starts.
    sequences = {p.directory: [SqlFile.read(m.path.resolve()) for m in _discover(p.directory)] for p in plans}
    extra = {path: SqlFile.read(path) for p in plans for path in p.on_top}
    squawked = None
    if squawk:
        from enquiries_lab.lint import squawk as squawk_runner

        squawked = squawk_runner.run([path for p in plans for path in p.reported + p.on_top])
    with shadow_server(admin_dsn) as admin:
        for p in plans:
            sequence = sequences[p.directory]
            with shadow_database(admin) as dsn, _connect(dsn) as conn:
                with conn.transaction(force_rollback=True):
                    session = ShadowSession(conn, Provenance())
                    session.start(sequence)
                    reported = [f for f in sequence if f.path in p.reported]
                    if reported:
                        got, acked = session.inspect(reported, squawked)
                        findings += got
                        acknowledged += acked
                    for path in p.on_top:
                        got, acked = session.trial([extra[path]], squawked)
                        findings += got
                        acknowledged += acked
            linted += [display_path(x) for x in p.reported + p.on_top]
    return Report(_sorted(findings), _sorted(acknowledged), linted, len(load_rules()), skipped)


def _connect(dsn: str) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn)
    except psycopg.Error as err:
        raise LintError(f"cannot connect to the shadow database: {describe_db_error(err)}") from None


class ShadowSession:
    """Migrations applied to a shadow database, with their provenance, ready to be inspected
    or to have more files tried on top (each trial is rolled back)."""

    def __init__(self, conn: psycopg.Connection, provenance: Provenance, *, commit_each: bool = False):
        self.conn = conn
        self.provenance = provenance
        self.commit_each = commit_each
        self.files: list[SqlFile] = []

    def start(self, sequence: Sequence[SqlFile]) -> None:
        self.provenance.baseline(self.conn)
        apply(self.conn, sequence, self.provenance, commit_each=self.commit_each)
        self.files = list(sequence)

    def inspect(self, reported: Sequence[SqlFile], squawked: dict | None = None) -> tuple[list[Finding], list[Finding]]:
        with self.conn.transaction():
            return inspect(self.conn, self.provenance, reported, squawked)

    def trial(self, extra: Sequence[SqlFile], squawked: dict | None = None) -> tuple[list[Finding], list[Finding]]:
        """Apply `extra` on top, inspect it, and roll it back."""
        provenance = self.provenance.fork()
        with self.conn.transaction(force_rollback=True):
            apply(self.conn, extra, provenance)
            return inspect(self.conn, provenance, extra, squawked)


@dataclass
class BuiltShadow:
    """A shadow database with migrations committed in it (built once, tried on many times)."""

    dsn: str
    provenance: Provenance
    files: list[SqlFile]

    @contextmanager
    def session(self) -> Iterator[ShadowSession]:
        with _connect(self.dsn) as conn:
            s = ShadowSession(conn, self.provenance)
            s.files = self.files
            yield s


def build_shadow(dsn: str, directory: Path | None = None) -> BuiltShadow:
    """Apply a migration directory to the (empty) database `dsn`, committing file by file like
    `enquiries-lab migrate`, and keep the provenance: the base the test suite's fixtures are
    tried on."""
    sequence = [SqlFile.read(m.path.resolve()) for m in _discover((directory or migrations.sql_dir()).resolve())]
    provenance = Provenance()
    with _connect(dsn) as conn:
        conn.autocommit = True
        session = ShadowSession(conn, provenance, commit_each=True)
        session.start(sequence)
    return BuiltShadow(dsn, provenance, sequence)


# -- a live database ---------------------------------------------------------------------------

def lint_database(dsn: str, reference: Report) -> Report:
    """The catalog rules against a live database, read-only. `reference` is the report of
    the project's migrations (acknowledged findings included): it supplies acknowledgments
    and the file and line of findings the migrations made."""
    from enquiries_lab import database

    acked = {f.key: f for f in reference.acknowledged}
    made = {f.key: f for f in reference.findings}
    findings: list[Finding] = []
    acknowledged: list[Finding] = []
    with database.connect(dsn) as conn:
        conn.read_only = True
        with conn.transaction():
            results = run_rules(conn, None)
    for rule, raw in results:
        key = (rule.id, raw.object, raw.message)
        if key in acked:
            acknowledged.append(acked[key])
        elif key in made:
            findings.append(made[key])
        else:
            findings.append(Finding(rule.id, None, None, raw.object, raw.message + " (no migration made this: changed by hand?)",
                                    rule.fix))
    from enquiries_lab.config import redact

    return Report(_sorted(list(dict.fromkeys(findings))), _sorted(list(dict.fromkeys(acknowledged))),
                  [f"database {redact(dsn)}"], len([r for r in load_rules() if not r.needs_migrations]))
