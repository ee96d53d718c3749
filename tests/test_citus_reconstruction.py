"""Distributed mode: the audit reconstruction, the auditors' questions and the notebooks on a
live Citus cluster, each giving the answer it gives on one node.

Same skip rule as tests/test_citus_cluster.py (its helpers are used here): without
ENQUIRIES_LAB_CITUS_DSN and ENQUIRIES_LAB_CITUS_WORKER_DSNS every test is skipped.

The module makes two lab databases from the same seed: one distributed on the cluster, and
one on the single-node server the other tests use (ENQUIRIES_LAB_TEST_DSN, else the embedded
one). Not on the coordinator's own server: migrating a database without the profile there
re-asserts NOLOGIN for the internal roles (sql/001), which the cluster's other databases need
to log in between the nodes (sql/citus/060). The generator is deterministic (the dataset digests must agree), so
every department, staff member, record and business time is the same in both; what may
differ is only what the cluster assigns itself: entry_ids (per-node sequences), recorded_at
(wall-clock) and transaction ids. The recorded login is compared: since sql/citus/092 the shards
record the coordinator session's login, as one node records session_user.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from psycopg import sql
from test_citus_cluster import _cli, _cluster_database, _drop_cluster_database
from test_citus_cluster import pytestmark  # noqa: F401 (the same skip rule)

from enquiries_lab import audit, auditor
from enquiries_lab.session import Actor, act_as

# The notebooks' own throwaway dataset (their parameters cells), so every notebook finds
# what it looks for (e.g. an enquiry in progress in DWP).
ENQUIRIES, DEPARTMENTS = 1500, 5
SIMULATION_END = datetime(2026, 6, 30, tzinfo=timezone.utc)
MIDDLE = datetime(2022, 6, 30, tzinfo=timezone.utc)
MONTH = (datetime(2023, 3, 1, tzinfo=timezone.utc), datetime(2023, 3, 31, 23, 59, 59, tzinfo=timezone.utc))
TABLES = (("enquiries", "enquiry_id"), ("notes", "note_id"), ("assignments", "assignment_id"),
          ("escalations", "escalation_id"), ("contacts", "contact_id"))
# What the cluster assigns itself (module docstring): left out of the comparisons.
NODE_OWN = {"entry_id", "approval_entry_id", "recorded_at", "first_recorded", "last_recorded", "transaction_id"}


def _generate(dsn: str) -> str:
    gen = _cli(dsn, "generate", "-n", str(ENQUIRIES), "-d", str(DEPARTMENTS), "-j", "1", "--quiet")
    assert gen.returncode == 0, gen.stderr
    return next(line.split(": ", 1)[1] for line in gen.stdout.splitlines() if line.startswith("dataset digest: "))


@pytest.fixture(scope="module")
def pair(admin_dsn: str, migrated_template: str):
    """(cluster DSN, single-node DSN): the same generated dataset, distributed and on one node."""
    cluster_name, plain_name = _new_name("citusrecon"), _new_name("citusreconplain")
    try:
        cluster, _ = _cluster_database(cluster_name)
        plain = create_db(admin_dsn, plain_name, migrated_template)
        assert _generate(cluster) == _generate(plain)          # the same data, record for record
        yield cluster, plain
    finally:
        drop_db(admin_dsn, plain_name)
        _drop_cluster_database(cluster_name)


def _auditors(dsn: str) -> dict[str, Actor]:
    with psycopg.connect(dsn) as conn:
        return {code: Actor(tenant, staff, "auditor") for code, tenant, staff in conn.execute(
            "select distinct on (d.code) d.code, s.tenant_id, s.staff_id from tenant.staff s "
            "join tenant.departments d using (tenant_id) where s.staff_role = 'auditor' and s.active "
            "order by d.code, s.staff_id")}


def _rows(frame: pd.DataFrame) -> list[tuple]:
    """A frame as sorted rows of text, without what a node assigns itself."""
    kept = frame[[c for c in frame.columns if c not in NODE_OWN]]
    return sorted(tuple(str(v) for v in row) for row in kept.itertuples(index=False))


def _sample(cur, table: str, key: str, n: int = 15) -> list:
    return [r[0] for r in cur.execute(sql.SQL("select {} from {} order by md5({}::text) limit %s").format(
        sql.Identifier(key), sql.Identifier("tenant", table), sql.Identifier(key)), [n])]


def _answers(dsn: str, who: Actor) -> dict[str, object]:
    """Everything reconstruction answers in the auditor's department, as comparable values."""
    out: dict[str, object] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("set timezone = 'UTC'")
        with act_as(conn, who) as cur:
            q = lambda text, params=(): pd.DataFrame(cur.execute(text, params).fetchall(),  # noqa: E731
                                                     columns=[d.name for d in cur.description])
            for table, key in TABLES:
                name = f"tenant.{table}"
                ids = sorted(_sample(cur, table, key))
                out[f"record_as_of {table}"] = [cur.execute("select audit.record_as_of(%s, %s, %s)", [name, i, at]).fetchone()[0]
                                                for i in ids for at in (MIDDLE, SIMULATION_END)]
                out[f"table_as_of {table}"] = _rows(q("select * from audit.table_as_of(%s, %s)", [name, MIDDLE]))
                out[f"table_changes {table}"] = _rows(q("select * from audit.table_changes(%s, %s, %s)", [name, *MONTH]))
                out[f"audit.table_as_of {table}"] = _rows(audit.table_as_of(cur, table, MIDDLE, include_deleted=True))
                out[f"audit.table_diff {table}"] = _rows(audit.table_diff(cur, table, *MONTH))
                out[f"audit.history {table}"] = [_rows(audit.history(cur, table, i)) for i in ids[:5]]
                out[f"auditor.who_changed {table}"] = [_rows(auditor.who_changed(cur, table, i)) for i in ids[:5]]
                out[f"audit.state_as_of {table}"] = [audit.state_as_of(cur, table, i, MIDDLE) for i in ids]
            # as_of defaults to now(): the pause of an enquiry waiting on the citizen and every
            # overdue grow between the two calls, which enquiries breached and when must not
            out["sla_breaches()"] = _rows(q("select * from audit.sla_breaches()")
                                          .drop(columns=["paused", "effective_due_at", "overdue"]))
            out["sla_breaches(middle)"] = _rows(q("select * from audit.sla_breaches(%s)", [MIDDLE]))
            out["enquiry_status_history"] = _rows(q("select * from audit.enquiry_status_history"))
            out["escalation_transitions"] = _rows(q("select * from audit.escalation_transitions"))
            out["entry_states"] = _rows(q("select table_name, record_id, occurred_at, action, before_state, after_state "
                                          "from audit.entry_states"))
            out["replay_mismatches"] = _rows(audit.replay_mismatches(cur))
            reference, staff = cur.execute("select e.reference, e.assigned_to from tenant.enquiries e "
                                           "where e.assigned_to is not null order by e.reference limit 1").fetchone()
            out["auditor.case_on"] = auditor.case_on(cur, reference, MIDDLE)
            out["auditor.activity"] = _rows(auditor.activity(cur, staff, MIDDLE - timedelta(days=365), MIDDLE))
            for question in ("escalation_approvals", "reassignments", "soft_deletions", "disposals", "reopened_cases",
                             "legal_holds"):
                out[f"auditor.{question}"] = _rows(getattr(auditor, question)(cur))
            out["auditor.sla_breaches(middle)"] = _rows(auditor.sla_breaches(cur, MIDDLE))
            out["auditor.legal_holds(middle)"] = _rows(auditor.legal_holds(cur, MIDDLE))
            # the login on the shards is the coordinator session's (sql/citus/092), as on one node
            out["auditor.changes_by_login"] = _rows(auditor.changes_by_login(cur))
    return out


def test_every_reconstruction_answers_on_the_cluster_what_it_answers_on_one_node(pair):
    """Every function and view of sql/012 and sql/014 (075 for the functions), and every
    Python question built on them, as each department's auditor: the cluster's answer is the
    single node's. Before sql/075, sql/citus/095 and the department as a bound value in
    enquiries_lab.audit / auditor, the cluster refused nine of them (0A000, 42501, XX000)."""
    cluster, plain = pair
    auditors = _auditors(plain)
    assert auditors == _auditors(cluster) and len(auditors) == DEPARTMENTS
    for code, who in auditors.items():
        on_node, on_cluster = _answers(plain, who), _answers(cluster, who)
        differing = [k for k in on_node if on_node[k] != on_cluster[k]]
        assert differing == [], (code, differing)
        assert on_node["table_as_of enquiries"] and on_node["sla_breaches()"] and on_node["auditor.escalation_approvals"]


def test_the_superuser_reconstructs_the_department_in_context_on_the_cluster(pair):
    """A superuser (no RLS) with a department in context: the same department's answers."""
    cluster, plain = pair
    who = next(iter(_auditors(cluster).values()))
    answers = []
    for dsn in (plain, cluster):
        with psycopg.connect(dsn, autocommit=True) as conn:
            with conn.transaction():
                conn.execute(sql.SQL("set local enquiries.tenant_id = {}").format(sql.Literal(str(who.tenant_id))))
                answers.append([
                    conn.execute("select count(*), md5(string_agg(t.state::text, ',' order by t.record_id)) "
                                 "from audit.table_as_of('tenant.enquiries', %s) t", [MIDDLE]).fetchone(),
                    conn.execute("select count(*) from audit.table_changes('tenant.enquiries', %s, %s)", MONTH).fetchone(),
                    conn.execute("select count(*), count(distinct tenant_id) from audit.sla_breaches(%s)", [MIDDLE]).fetchone(),
                    _rows(auditor.who_changed(conn, "enquiries", conn.execute(
                        "select enquiry_id from tenant.enquiries where tenant_id = %s order by enquiry_id limit 1", [who.tenant_id]).fetchone()[0])),
                ])
    assert answers[0] == answers[1]
    assert answers[1][0][0] > 0 and answers[1][2][1] > 1     # sla_breaches: more than the context's department (no RLS)


def test_on_the_cluster_the_trail_rebuilds_the_live_rows_now(pair):
    """Independently of the single node: record_as_of now is the live row, and the department's
    snapshot now is its live table, row for row."""
    cluster, _ = pair
    now = datetime.now(timezone.utc)
    for who in _auditors(cluster).values():
        with psycopg.connect(cluster, autocommit=True) as conn:
            with act_as(conn, who) as cur:
                for table, key in TABLES:
                    live = dict(cur.execute(sql.SQL("select {}, to_jsonb(t) from {} t").format(
                        sql.Identifier(key), sql.Identifier("tenant", table))).fetchall())
                    rebuilt = {i: cur.execute("select audit.record_as_of(%s, %s, %s)",
                                              [f"tenant.{table}", i, now]).fetchone()[0]
                               for i in sorted(live)[:20]}
                    assert rebuilt == {i: live[i] for i in rebuilt}, table
                    snapshot = dict(cur.execute("select record_id, state from audit.table_as_of(%s, %s)",
                                                [f"tenant.{table}", now]).fetchall())
                    assert snapshot == live and live, table


def test_every_view_keeps_the_privileges_it_has_on_one_node(pair):
    """Citus re-creates a view when it converts a table the view reads (sql/citus/095): the
    grants of every view of the lab's schemas must survive the profile."""
    query = ("select format('%I.%I', n.nspname, c.relname), coalesce(c.relacl::text, '') from pg_class c "
             "join pg_namespace n on n.oid = c.relnamespace where c.relkind = 'v' and n.nspname in "
             "('app', 'audit', 'tenant', 'core', 'lab_meta') order by 1")
    grants = []
    for dsn in pair:
        with psycopg.connect(dsn) as conn:
            grants.append(conn.execute(query).fetchall())
    assert grants[1] == grants[0]


NOTEBOOKS = ["01_tour", "02_audit_reconstruction", "03_compliance", "04_data_profile", "05_tenant_isolation"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs_on_the_cluster(pair, name):
    """Each notebook, from its source, on the cluster's database (build.py --dsn's injected DSN
    cell): every cell runs. Compliance checks Citus cannot plan are reported by the check table,
    not raised (tests/test_citus_cluster.py)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "notebooks"))
    import build
    import nbformat

    cluster, _ = pair
    nb = build.read_source(name)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(f"DSN = {cluster!r}", metadata={"tags": ["injected-parameters"]}))
    build.execute(nb, cwd=build.HERE)       # raises CellExecutionError naming the cell that failed
