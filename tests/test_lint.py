"""The migration validator (`enquiries-lab lint`) against a real server.

The project's real migrations are applied once to a shadow database (committed, like
`migrate` does) with their provenance; every fixture in tests/lint_fixtures/ is then tried on
top of that realistic schema in a transaction that is rolled back, and must produce exactly
the findings its `-- expect:` header names. A few runs go through the console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.lint import clauses, engine
from enquiries_lab.lint.engine import ACK_RULE, BuiltShadow, build_shadow, lint_database, load_rules
from enquiries_lab.lint.rules import __file__ as rules_init
from enquiries_lab.lint.shadow import SqlFile
from enquiries_lab.lint.sqltext import split_statements, tokenize

FIXTURES = Path(__file__).resolve().parent / "lint_fixtures"
EXPECT = re.compile(r"^-- expect: (?P<rule>[a-z0-9-]+) line (?P<line>\d+)$", re.MULTILINE)


def expected(path: Path) -> set[tuple[str, int]]:
    return {(m["rule"], int(m["line"])) for m in EXPECT.finditer(path.read_text())}


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.sql"))


@pytest.fixture(scope="module")
def shadow(admin_dsn: str, migrated_template: str) -> Iterator[BuiltShadow]:
    """The real migrations, applied once with provenance. (`migrated_template` is requested
    so the session's own template is built first: both touch the cluster-wide roles.)"""
    name = f"enqlab_test_lint_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {} template template0").format(sql.Identifier(name)))
    from enquiries_lab.config import with_database

    try:
        yield build_shadow(with_database(admin_dsn, name))
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def trial(shadow: BuiltShadow, *paths: Path) -> tuple[list[engine.Finding], list[engine.Finding]]:
    with shadow.session() as s:
        return s.trial([SqlFile.read(p) for p in paths])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- every rule, alone, at its line ------------------------------------------------------------

@pytest.mark.req("REQ-LINT-1")
@pytest.mark.parametrize("fixture", fixtures(), ids=lambda p: p.stem)
def test_each_fixture_is_caught_by_its_rule_alone_at_its_line(shadow: BuiltShadow, fixture: Path) -> None:
    findings, acknowledged = trial(shadow, fixture)
    assert {(f.rule, f.line) for f in findings} == expected(fixture), [f"{f.line}: {f.rule}: {f.message}" for f in findings]
    assert not acknowledged
    for f in findings:
        assert f.file.endswith(fixture.name) and f.message and f.fix and f.object


@pytest.mark.req("REQ-LINT-1")
def test_every_rule_has_a_fixture_and_every_fixture_a_rule() -> None:
    covered = {rule for path in fixtures() for rule, _ in expected(path)}
    assert covered == {r.id for r in load_rules()}
    assert all(expected(p) for p in fixtures())


@pytest.mark.req("REQ-LINT-1")
def test_rules_are_one_file_each_with_id_title_and_fix() -> None:
    rules = load_rules()
    assert len(rules) == len({r.id for r in rules}) == len([p for p in Path(rules_init).parent.iterdir()
                                                            if p.name[0].isdigit()])
    for r in rules:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", r.id) and r.title and r.fix
        assert r.path.stem.split("_", 1)[1] == r.id.replace("-", "_")


# -- the project's own migrations ------------------------------------------------------------

@pytest.mark.req("REQ-LINT-6")
def test_the_projects_own_migrations_lint_clean(shadow: BuiltShadow) -> None:
    with shadow.session() as s:
        findings, acknowledged = s.inspect(s.files)
    assert findings == [], "\n".join(f"{f.file}:{f.line}: {f.rule}: {f.message}" for f in findings)
    assert {(Path(f.file).name, f.line, f.rule) for f in acknowledged} >= {
        ("005_tenant_tables.sql", 433, "unique-without-tenant")}
    assert all(f.acknowledged for f in acknowledged)


# -- reasoning on the cumulative schema --------------------------------------------------------

UNPROTECTED = """create table tenant.attachments (
    tenant_id uuid not null references tenant.departments (tenant_id) on delete restrict,
    attachment_id uuid not null,
    primary key (tenant_id, attachment_id)
);
"""
PROTECTION = """alter table tenant.attachments enable row level security;
alter table tenant.attachments force row level security;
select audit.install_capture('tenant.attachments');
"""


@pytest.mark.req("REQ-LINT-2")
def test_a_table_protected_by_a_later_migration_is_fine(shadow: BuiltShadow, tmp_path: Path) -> None:
    created = write(tmp_path, "create.sql", UNPROTECTED)
    protected = write(tmp_path, "protect.sql", PROTECTION)
    findings, _ = trial(shadow, created, protected)
    assert findings == []


@pytest.mark.req("REQ-LINT-2")
def test_a_table_never_protected_is_reported_at_its_create_table(shadow: BuiltShadow, tmp_path: Path) -> None:
    created = write(tmp_path, "create.sql", "-- a new table\n" + UNPROTECTED)
    findings, _ = trial(shadow, created)
    assert {(f.rule, f.line) for f in findings} == {("rls-not-forced", 2), ("audit-trigger-missing", 2)}


@pytest.mark.req("REQ-LINT-2")
def test_protection_taken_away_later_is_reported_where_it_was_taken(shadow: BuiltShadow, tmp_path: Path) -> None:
    created = write(tmp_path, "create.sql", UNPROTECTED + PROTECTION)
    relaxed = write(tmp_path, "relax.sql", "select 1;\nalter table tenant.attachments disable row level security;\n")
    findings, _ = trial(shadow, created, relaxed)
    assert [(Path(f.file).name, f.line, f.rule) for f in findings] == [("relax.sql", 2, "rls-not-forced")]


@pytest.mark.req("REQ-LINT-2")
def test_a_drop_of_what_the_same_file_created_is_not_data_loss(shadow: BuiltShadow, tmp_path: Path) -> None:
    scratch = write(tmp_path, "scratch.sql", "create table core.scratch (x integer);\ndrop table core.scratch;\n")
    assert trial(shadow, scratch) == ([], [])


@pytest.mark.req("REQ-LINT-2")
def test_cluster_wide_changes_are_rolled_back(shadow: BuiltShadow, admin_dsn: str) -> None:
    findings, _ = trial(shadow, FIXTURES / "app_role_bypasses_rls.sql")
    assert [f.rule for f in findings] == ["app-role-bypasses-rls"]
    with psycopg.connect(admin_dsn) as conn:
        assert conn.execute("select rolbypassrls from pg_roles where rolname = 'enquiries_auditor'").fetchone() == (False,)


# -- acknowledgments ---------------------------------------------------------------------------

@pytest.mark.req("REQ-LINT-4")
@pytest.mark.parametrize("text, rule", [
    ("grant truncate on tenant.notes to enquiries_supervisor;  -- lint: allow truncate-granted: bulk purge job, reviewed\n",
     "truncate-granted"),
    ("-- lint: allow truncate-granted: bulk purge job, reviewed\ngrant truncate on tenant.notes to enquiries_supervisor;\n",
     "truncate-granted"),
    ("-- lint: allow unique-without-tenant: bulk purge job, reviewed\n-- (the finding is on the clause's line)\n"
     "alter table tenant.teams\n    add constraint teams_name_everywhere unique (name);\n", "unique-without-tenant"),
], ids=["same-line", "line-before", "before-the-statement"])
def test_an_acknowledged_finding_is_reported_as_acknowledged_with_its_reason(
        shadow: BuiltShadow, tmp_path: Path, text: str, rule: str) -> None:
    findings, acknowledged = trial(shadow, write(tmp_path, "ack.sql", text))
    assert findings == []
    assert [(f.rule, f.acknowledged) for f in acknowledged] == [(rule, "bulk purge job, reviewed")]


@pytest.mark.req("REQ-LINT-4")
@pytest.mark.parametrize("comment, message", [
    ("-- lint: allow truncate-granted", "malformed acknowledgment"),
    ("-- lint: allow truncate-grant: typo in the rule id", "unknown rule 'truncate-grant'"),
    ("-- lint: allow view-without-security-invoker: nothing of the kind here", "no such finding"),
])
def test_a_bad_acknowledgment_is_itself_a_finding(shadow: BuiltShadow, tmp_path: Path, comment: str, message: str) -> None:
    path = write(tmp_path, "ack.sql", f"{comment}\ngrant truncate on tenant.notes to enquiries_supervisor;\n")
    findings, _ = trial(shadow, path)
    assert ("truncate-granted", 2) in {(f.rule, f.line) for f in findings}
    ack = [f for f in findings if f.rule == ACK_RULE]
    assert len(ack) == 1 and ack[0].line == 1 and message in ack[0].message


@pytest.mark.req("REQ-LINT-4")
def test_an_acknowledgment_covers_only_its_own_rule(shadow: BuiltShadow, tmp_path: Path) -> None:
    path = write(tmp_path, "ack.sql", "-- lint: allow truncate-granted: purge job\n"
                                      "grant truncate, references on tenant.enquiries to enquiries_supervisor;\n")
    findings, acknowledged = trial(shadow, path)
    assert [f.rule for f in findings] == ["references-or-trigger-granted"]
    assert [f.rule for f in acknowledged] == ["truncate-granted"]


# -- the text: statements, tokens, clauses, policy trees ------------------------------------------

@pytest.mark.req("REQ-LINT-1")
def test_statements_split_like_psql() -> None:
    text = ("select ';' as a, $q$ ; $q$, E'\\' ;', \"x;y\";  -- ; comment\n"
            "/* nested /* ; */ still comment ; */ do $$ begin perform 1; end $$;\n"
            "create function f() returns int language sql begin atomic select 1; select 2; end;\n"
            "select (1;\n")
    statements = split_statements(Path("x.sql"), text)
    assert [s.line for s in statements] == [1, 2, 3, 4]
    assert statements[1].text.startswith("do $$") and statements[2].text.endswith("end;")


@pytest.mark.req("REQ-LINT-1")
def test_constraint_clauses_are_found_and_on_delete_read_from_the_tokens() -> None:
    text = ("create table t (\n  a uuid references x (id),\n  b uuid not null references y on delete restrict,\n"
            "  constraint t_pair foreign key (a, b) references z (a, b) on update cascade,\n  unique (b)\n);\n")
    (statement,) = split_statements(Path("x.sql"), text)
    found = [(c.kind, c.name, c.columns, c.references, c.on_delete, c.line) for c in clauses.clauses(statement)]
    assert found == [("f", None, ("a",), "x", False, 2), ("f", None, ("b",), "y", True, 3),
                     ("f", "t_pair", ("a", "b"), "z", False, 4), ("u", None, ("b",), None, False, 5)]


@pytest.mark.req("REQ-LINT-1")
def test_per_row_calls_are_told_from_sub_selects() -> None:
    from importlib import util

    spec = util.spec_from_file_location("per_row", Path(rules_init).parent / "0020_policy_per_row_context.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    direct = "{OPEXPR :opno 2972 :args ({VAR :varno 1 :varlevelsup 0} {FUNCEXPR :funcid 16400 :args <>})}"
    wrapped = "{OPEXPR :args ({VAR :varno 1 :varlevelsup 0} {SUBLINK :subselect {QUERY :targetList ({TARGETENTRY :expr {FUNCEXPR :funcid 16400 :args <>}})}})}"
    correlated = "{SUBLINK :subselect {QUERY :targetList ({TARGETENTRY :expr {FUNCEXPR :funcid 16401 :args ({VAR :varno 1 :varlevelsup 1})}})}}"
    assert module.per_row_calls(direct) == [16400]
    assert module.per_row_calls(wrapped) == []
    assert module.per_row_calls(correlated) == [16401]


# -- a live database (--db) --------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(shadow: BuiltShadow) -> engine.Report:
    with shadow.session() as s:
        findings, acknowledged = s.inspect(s.files)
    return engine.Report(findings, acknowledged, [], len(load_rules()))


@pytest.mark.req("REQ-LINT-5")
def test_a_migrated_lab_database_is_clean(lab_db: str, reference: engine.Report) -> None:
    report = lint_database(lab_db, reference)
    assert report.findings == []
    assert [f.rule for f in report.acknowledged] == ["unique-without-tenant"]


@pytest.mark.req("REQ-LINT-5")
def test_a_violation_made_by_hand_is_caught_in_the_live_database(lab_db: str, reference: engine.Report) -> None:
    with psycopg.connect(lab_db, autocommit=True) as conn:
        conn.execute("alter table tenant.notes no force row level security")
        conn.execute("create view app.everything as select * from tenant.enquiries")
    report = lint_database(lab_db, reference)
    assert {(f.rule, f.object, f.file) for f in report.findings} == {
        ("rls-not-forced", "tenant.notes", None), ("view-without-security-invoker", "app.everything", None)}
    assert all("changed by hand" in f.message for f in report.findings)


# -- the command ---------------------------------------------------------------------------------

def console_script() -> str:
    beside = Path(sys.executable).parent / "enquiries-lab"
    return str(beside) if beside.exists() else shutil.which("enquiries-lab")


def run(*args: str, admin_dsn: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENQUIRIES_LAB_DSN", "DATABASE_URL", "ENQUIRIES_LAB_DEBUG", "ENQUIRIES_LAB_TEST_DSN")}
    return subprocess.run([console_script(), "lint", "--shadow-dsn", admin_dsn, *args],
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.req("REQ-LINT-3", "REQ-LINT-1")
def test_the_command_reports_file_line_rule_message_and_fix_and_exits_1(admin_dsn: str) -> None:
    fixtures_ = [FIXTURES / "fk_on_delete_implicit.sql", FIXTURES / "truncate_granted.sql"]
    proc = run(*map(str, fixtures_), admin_dsn=admin_dsn)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(r"^\S*fk_on_delete_implicit\.sql:5: fk-on-delete-implicit: foreign key notes_channel_checked", lines[0])
    assert lines[1].startswith("    fix: write the action")
    assert re.match(r"^\S*truncate_granted\.sql:3: truncate-granted: ", lines[2])
    assert lines[-1] == "2 finding(s) in 2 files (21 rules)"


@pytest.mark.req("REQ-LINT-3")
def test_json_output_lists_findings_with_their_fields(admin_dsn: str) -> None:
    proc = run("--format", "json", str(FIXTURES / "view_without_security_invoker.sql"), admin_dsn=admin_dsn)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    (finding,) = report["findings"]
    assert finding["rule"] == "view-without-security-invoker" and finding["line"] == 3
    assert finding["file"].endswith("view_without_security_invoker.sql")
    assert set(finding) == {"rule", "file", "line", "object", "message", "fix"}


@pytest.mark.req("REQ-LINT-3", "REQ-LINT-6")
def test_the_command_on_the_projects_migrations_exits_0(admin_dsn: str) -> None:
    proc = run(admin_dsn=admin_dsn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith(f"clean: {len(migrations.discover())} files, 21 rules")


@pytest.mark.req("REQ-LINT-5", "REQ-LINT-3")
def test_the_command_with_db_is_clean_on_a_migrated_lab_database(lab_db: str, admin_dsn: str) -> None:
    proc = run("--db", lab_db, admin_dsn=admin_dsn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("clean: database ")


@pytest.mark.req("REQ-LINT-3")
@pytest.mark.parametrize("case", ["missing-path", "not-sql", "does-not-apply", "unterminated"])
def test_bad_input_is_a_one_line_error(admin_dsn: str, tmp_path: Path, case: str) -> None:
    path = {
        "missing-path": tmp_path / "nowhere.sql",
        "not-sql": write(tmp_path, "notes.txt", "hello"),
        "does-not-apply": write(tmp_path, "broken.sql", "select 1;\n\nalter table tenant.nowhere add column x int;\n"),
        "unterminated": write(tmp_path, "open.sql", "select 'never closed;\n"),
    }[case]
    proc = run(str(path), admin_dsn=admin_dsn)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    if case == "does-not-apply":
        assert "broken.sql:3: SQLSTATE 42P01" in lines[0]
    if case == "unterminated":
        assert "open.sql:1: unterminated quoted string" in lines[0]


@pytest.mark.req("REQ-LINT-3")
def test_files_in_sql_subdirectories_are_skipped_not_linted(admin_dsn: str) -> None:
    profile = next(iter(sorted((migrations.sql_dir() / "citus").glob("*.sql"))), None)
    if profile is None:
        pytest.skip("no sql/citus profile in this checkout")
    proc = run(str(profile), admin_dsn=admin_dsn)
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout and "citus profile" in proc.stdout


@pytest.mark.req("REQ-LINT-1")
def test_tokens_keep_their_lines() -> None:
    toks = [t for t in tokenize("select\n  $$a\nb$$,\n 'x''y'\n-- c\n") if t.kind != "comment"]
    assert [(t.kind, t.line) for t in toks] == [("word", 1), ("dollar", 2), ("punct", 3), ("string", 4)]


# -- squawk (--squawk) -----------------------------------------------------------------------

def squawk_trial(shadow: BuiltShadow, path: Path) -> tuple[list[engine.Finding], list[engine.Finding]]:
    from enquiries_lab.lint import squawk

    file = SqlFile.read(path.resolve())
    with shadow.session() as s:
        return s.trial([file], squawk.run([file.path]))


@pytest.mark.req("REQ-LINT-7")
def test_squawk_adds_lock_safety_findings_beside_the_linters_own(shadow: BuiltShadow) -> None:
    findings, _ = squawk_trial(shadow, FIXTURES / "fk_without_index.sql")
    assert {(f.rule, f.line) for f in findings} == {
        ("fk-without-index", 5), ("squawk-adding-foreign-key-constraint", 5), ("squawk-constraint-missing-not-valid", 5)}
    assert all(f.fix for f in findings)


@pytest.mark.req("REQ-LINT-7")
def test_squawk_is_configured_for_this_project_and_acknowledged_like_the_rest(shadow: BuiltShadow, tmp_path: Path) -> None:
    # Integer settings, IF NOT EXISTS, missing timeouts: off by configuration. An index on a
    # populated table: a real pause of writes, acknowledged here with the reason.
    path = write(tmp_path, "settings.sql",
                 "alter table tenant.teams add column if not exists capacity integer;\n"
                 "-- lint: allow squawk-require-concurrent-index-creation: teams is tiny\n"
                 "create index teams_capacity on tenant.teams (tenant_id, capacity);\n")
    findings, acknowledged = squawk_trial(shadow, path)
    assert findings == []
    assert [(f.rule, f.line, f.acknowledged) for f in acknowledged] == [
        ("squawk-require-concurrent-index-creation", 3, "teams is tiny")]
    assert "transaction" in acknowledged[0].fix


@pytest.mark.req("REQ-LINT-7", "REQ-LINT-4")
def test_squawk_acknowledgments_are_left_alone_when_squawk_does_not_run(shadow: BuiltShadow, tmp_path: Path) -> None:
    path = write(tmp_path, "index.sql", "-- lint: allow squawk-require-concurrent-index-creation: teams is tiny\n"
                                        "create index teams_name_lower on tenant.teams (tenant_id, lower(name));\n")
    assert trial(shadow, path) == ([], [])
