"""Distributed mode: the lab on a live Citus cluster.

Runs only with ENQUIRIES_LAB_CITUS_DSN (an admin DSN of a Citus coordinator, e.g.
postgresql://postgres@127.0.0.1:9700/postgres) and ENQUIRIES_LAB_CITUS_WORKER_DSNS (the
workers' admin DSNs, comma-separated); otherwise every test here is skipped with the reason.
CI is single-node. docs/scale-out.md says how to run a cluster and what these tests found.

Each module run creates one lab database on every node (Citus needs the database and the
extension on each), adds the workers to it, migrates it through the coordinator (the core
migrations, then the profile sql/citus/) and drops it at the end.
"""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from dbtools import _new_name
from psycopg import sql

from enquiries_lab import casework, migrations
from enquiries_lab.config import with_database
from enquiries_lab.database import LAB_MARKER
from enquiries_lab.errors import DatabaseError
from enquiries_lab.session import Actor, act_as

ENV = "ENQUIRIES_LAB_CITUS_DSN"
ENV_WORKERS = "ENQUIRIES_LAB_CITUS_WORKER_DSNS"

pytestmark = pytest.mark.skipif(
    not (os.environ.get(ENV) and os.environ.get(ENV_WORKERS)),
    reason=f"distributed mode: set {ENV} (a Citus coordinator's admin DSN) and {ENV_WORKERS} "
           f"(the workers' admin DSNs, comma-separated) to run against a live cluster")

TENANT_TABLES = {"tenant.departments", "tenant.department_enquiry_types", "tenant.teams", "tenant.staff",
                 "tenant.contacts", "tenant.enquiries", "tenant.notes", "tenant.assignments",
                 "tenant.escalations", "tenant.legal_holds", "audit.entries"}
OPERATOR = uuid.UUID(int=1)


def _admin(dsn: str, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(with_database(dsn, database), autocommit=True)


def _cluster_database(name: str) -> tuple[str, list[str]]:
    """A new lab database `name` on every node, the workers joined, migrated from the coordinator;
    (coordinator DSN, [worker DSNs])."""
    coordinator = os.environ[ENV]
    workers = [w.strip() for w in os.environ[ENV_WORKERS].split(",") if w.strip()]
    for node in [coordinator, *workers]:
        with _admin(node) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        with _admin(node, name) as conn:
            conn.execute("create extension citus")
    with _admin(coordinator, name) as conn:
        info = conn.info
        conn.execute("select citus_set_coordinator_host(%s, %s)", [info.host, int(info.port)])
        for w in workers:
            with _admin(w) as wc:
                conn.execute("select citus_add_node(%s, %s)", [wc.info.host, int(wc.info.port)])
        # the lab's own database, as `reset` would mark it (generate writes only into one)
        conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(LAB_MARKER)))
        migrations.migrate(conn)
    return with_database(coordinator, name), [with_database(w, name) for w in workers]


def _drop_cluster_database(name: str) -> None:
    workers = [w.strip() for w in os.environ[ENV_WORKERS].split(",") if w.strip()]
    for node in reversed([os.environ[ENV], *workers]):
        with _admin(node) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def cluster():
    """(coordinator DSN of a migrated lab database, [worker DSNs of it])."""
    name = _new_name("citus")
    try:
        yield _cluster_database(name)
    finally:
        _drop_cluster_database(name)


@pytest.fixture(scope="module")
def departments(cluster):
    """Two provisioned departments, each with a caseworker and a supervisor."""
    dsn, _ = cluster
    app = with_database(dsn, psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])
    out = {}
    with psycopg.connect(app, autocommit=True) as conn:
        for code in ("AAA", "BBB"):
            tenant, teams = casework.provision_department(conn, operator_id=OPERATOR, code=code, name=f"Dept {code}",
                                                          enquiry_types={"general": 20})
            out[code] = {
                "tenant": tenant,
                "caseworker": casework.add_staff(conn, operator_id=OPERATOR, tenant_id=tenant, full_name=f"C {code}",
                                                 email=f"c@{code.lower()}.example", role="caseworker",
                                                 team_id=teams["Casework"]),
                "supervisor": casework.add_staff(conn, operator_id=OPERATOR, tenant_id=tenant, full_name=f"S {code}",
                                                 email=f"s@{code.lower()}.example", role="supervisor",
                                                 team_id=teams["Casework"]),
                "auditor": casework.add_staff(conn, operator_id=OPERATOR, tenant_id=tenant, full_name=f"A {code}",
                                              email=f"a@{code.lower()}.example", role="auditor"),
            }
    return out


def test_the_profile_distributes_every_tenant_table_colocated_and_says_so(cluster):
    dsn, _ = cluster
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("select table_name::text, citus_table_type, distribution_column, colocation_id "
                            "from citus_tables").fetchall()
        states = migrations.profile_states(conn)
        gaps = conn.execute("select * from core.citus_profile_gaps() where problem is not null").fetchall()
    distributed = {t: (kind, col, colo) for t, kind, col, colo in rows}
    assert TENANT_TABLES <= distributed.keys()
    assert {distributed[t][:2] for t in TENANT_TABLES} == {("distributed", "tenant_id")}
    assert len({distributed[t][2] for t in TENANT_TABLES}) == 1                 # one colocation group
    assert all(kind == "reference" for t, (kind, _, _) in distributed.items() if t.startswith("core."))
    assert gaps == [] and states == {"citus": "active"}


def test_the_profile_is_reported_not_in_effect_when_a_table_is_not_distributed(cluster):
    dsn, _ = cluster
    with psycopg.connect(dsn) as conn:
        conn.execute("create table tenant.stray (tenant_id uuid not null)")
        state = migrations.profile_states(conn)["citus"]
        conn.rollback()
    assert state.startswith("NOT in effect") and "tenant.stray" in state


def test_casework_writes_on_the_cluster_are_audited_under_the_logical_table(cluster, departments):
    dsn, _ = cluster
    a = departments["AAA"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        with act_as(conn, a["caseworker"]) as cur:
            contact = casework.create_contact(cur, full_name="Jane Citizen", postcode="SW1A 1AA")
        with psycopg.connect(dsn) as admin:
            trail = admin.execute("select table_name, actor_id, db_role from audit.entries where record_id = %s",
                                  [contact]).fetchall()
    assert trail == [("tenant.contacts", a["caseworker"].staff_id, "enquiries_caseworker")]


def test_a_department_sees_nothing_of_another_through_the_coordinator(cluster, departments):
    dsn, _ = cluster
    with psycopg.connect(dsn, autocommit=True) as conn:
        with act_as(conn, departments["AAA"]["caseworker"]) as cur:
            casework.create_contact(cur, full_name="Only AAA")
        with act_as(conn, departments["BBB"]["caseworker"]) as cur:
            seen = cur.execute("select count(*) from tenant.contacts where full_name = 'Only AAA'").fetchone()[0]
            staff = {r[0] for r in cur.execute("select tenant_id from tenant.staff")}
    assert seen == 0 and staff == {departments["BBB"]["tenant"]}


def test_a_write_into_another_department_is_refused_on_the_cluster(cluster, departments):
    dsn, _ = cluster
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, departments["BBB"]["caseworker"]) as cur:
                cur.execute("insert into tenant.contacts (tenant_id, full_name) values (%s, 'Planted')",
                            [departments["AAA"]["tenant"]])
    with psycopg.connect(dsn) as admin:
        left = admin.execute("select count(*) from tenant.contacts where full_name = 'Planted'").fetchone()[0]
    assert err.value.sqlstate in ("42501", "EL203", "EL204") or err.value.sqlstate.startswith("EL"), err.value
    assert left == 0


def _shards(conn: psycopg.Connection) -> list[str]:
    conn.execute("set citus.show_shards_for_app_name_prefixes = '*'")
    return [r[0] for r in conn.execute(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'tenant' and c.relkind = 'r' and c.relname ~ '_[0-9]+$'")]


def test_shards_on_the_workers_have_forced_rls_and_show_nothing_without_a_context(cluster, departments):
    """Straight to a worker, past the coordinator: as a staff role with no department in
    context, every shard of every tenant table shows 0 rows; the admin sees the rows there."""
    dsn, workers = cluster
    with psycopg.connect(dsn, autocommit=True) as conn:
        with act_as(conn, departments["AAA"]["caseworker"]) as cur:
            casework.create_contact(cur, full_name="On a shard")
    total_rows, checked = 0, 0
    for w in workers:
        with psycopg.connect(w) as conn:
            shards = _shards(conn)
            unforced = conn.execute(
                "select count(*) from pg_class where oid = any(%s::regclass[]) and not (relrowsecurity and relforcerowsecurity)",
                [shards]).fetchone()[0]
            assert shards and unforced == 0
            total_rows += sum(conn.execute(sql.SQL("select count(*) from {}").format(sql.SQL(s))).fetchone()[0]
                              for s in shards if ".contacts_" in s)
            conn.execute("set role enquiries_caseworker")
            for s in shards:
                assert conn.execute(sql.SQL("select count(*) from {}").format(sql.SQL(s))).fetchone()[0] == 0, s
                checked += 1
            conn.rollback()
    assert total_rows >= 1 and checked > 0


def test_business_time_is_still_refused_to_a_login_that_is_no_history_loader(cluster, departments):
    """enquiries_app is no history loader: its business time is refused on the shards too."""
    dsn, _ = cluster
    from datetime import datetime, timezone

    app = psycopg.conninfo.make_conninfo(dsn, user="enquiries_app")
    with psycopg.connect(app, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as err:
            with act_as(conn, departments["AAA"]["caseworker"], business_time=datetime(2020, 1, 1, tzinfo=timezone.utc)) as cur:
                cur.execute("insert into tenant.contacts (full_name) values ('Backdated')")
    assert err.value.sqlstate == "EL400"


def test_the_audit_records_the_verified_login_on_the_shards_not_the_acting_role(cluster, departments):
    """sql/citus/092: the entry's login_role is the coordinator session's login (asked of the
    backend the statement began in), as on one node; before, it was the role Citus connected as."""
    dsn, _ = cluster
    app = psycopg.conninfo.make_conninfo(dsn, user="enquiries_app")
    with psycopg.connect(app, autocommit=True) as conn:
        with act_as(conn, departments["AAA"]["caseworker"]) as cur:
            contact = casework.create_contact(cur, full_name="Whose login")
    with psycopg.connect(dsn) as admin:
        trail = admin.execute("select login_role, db_role from audit.entries where record_id = %s", [contact]).fetchall()
    assert trail == [("enquiries_app", "enquiries_caseworker")]


@pytest.mark.parametrize("forgery", ["declared login", "forged proof"])
def test_a_login_that_is_no_history_loader_cannot_claim_to_be_one_on_the_shards(cluster, departments, forgery):
    """The attack: enquiries_app declares itself the loader (the enquiries.login that 085 used
    to believe), or plants a login proof, then backdates a change. Refused (EL400), nothing left."""
    from datetime import datetime, timezone

    from enquiries_lab.session import context_statements

    dsn, _ = cluster
    actor = departments["AAA"]["caseworker"]
    app = psycopg.conninfo.make_conninfo(dsn, user="enquiries_app")
    with psycopg.connect(app) as conn:
        with conn.cursor() as cur, pytest.raises(psycopg.Error) as err:
            for statement in context_statements(actor, business_time=datetime(2020, 1, 1, tzinfo=timezone.utc)):
                cur.execute(statement)
            if forgery == "declared login":
                cur.execute("set local enquiries.login = 'enquiries_loader'")
            else:
                gpid = cur.execute("select citus_backend_gpid()").fetchone()[0]
                cur.execute(sql.SQL("set local enquiries.login_proof = {}").format(
                    sql.Literal(f"1:{gpid}:9999:enquiries_loader:{'0' * 64}")))
            cur.execute("insert into tenant.contacts (full_name) values ('Backdated by a claim')")
        conn.rollback()
    with psycopg.connect(dsn) as admin:
        left = admin.execute("select count(*) from tenant.contacts where full_name = 'Backdated by a claim'").fetchone()[0]
    assert err.value.sqlstate == "EL400" and left == 0


def _task_counts(plan) -> list[int]:
    found = []
    if isinstance(plan, dict):
        for k, v in plan.items():
            if k == "Task Count":
                found.append(v)
            found += _task_counts(v)
    elif isinstance(plan, list):
        for v in plan:
            found += _task_counts(v)
    return found


@pytest.mark.parametrize("pattern", ["queue", "dashboard", "search_reference", "month_report", "record_history"])
def test_every_shipped_query_touches_one_shard_with_the_department_in_context(cluster, departments, pattern):
    from datetime import datetime, timezone

    from enquiries_lab.queries import compose

    dsn, _ = cluster
    cw = departments["AAA"]["auditor" if pattern == "record_history" else "caseworker"]   # the auditor's query
    params = {"staff_id": cw.staff_id, "tenant_id": cw.tenant_id, "limit": 20, "now": None, "reference": "AAA-000001",
              "month": datetime(2024, 1, 1, tzinfo=timezone.utc), "record_id": uuid.uuid4()}
    with psycopg.connect(dsn, autocommit=True) as conn:
        with act_as(conn, cw) as cur:
            routed = cur.execute(sql.SQL("explain (format json) ") + compose(pattern, routing=True), params).fetchone()[0]
            fanned = cur.execute(sql.SQL("explain (format json) ") + compose(pattern, routing=False), params).fetchone()[0]
    assert _task_counts(routed) == [1]
    assert _task_counts(fanned) and max(_task_counts(fanned)) > 1     # without the filter: every shard


def _cli(dsn: str, *args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "enquiries_lab.cli", *args, "--dsn", dsn],
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def generated_cluster():
    """A database of its own (the module's `cluster` holds hand-provisioned departments, which
    generate rightly refuses), filled by `enquiries-lab generate` through the coordinator."""
    name = _new_name("citusgen")
    try:
        dsn, _ = _cluster_database(name)
        gen = _cli(dsn, "generate", "-n", "60", "-d", "2", "-j", "1", "--quiet", "--no-digest")
        assert gen.returncode == 0, gen.stderr
        yield dsn
    finally:
        _drop_cluster_database(name)


def test_generate_runs_on_the_cluster_and_every_compliance_check_runs_and_passes(generated_cluster):
    from enquiries_lab import compliance

    with psycopg.connect(generated_cluster, autocommit=True) as conn:
        assert conn.execute("select count(*) from tenant.enquiries").fetchone()[0] == 60
        results = compliance.run(conn, compliance.discover())
    # 0006 and 0013 once needed plans Citus refuses (0A000); since 073 and their rewrite they run
    assert {r.check.id: r.error for r in results if r.status == "error"} == {}
    assert {r.check.id: [v.problem for v in r.violations][:3] for r in results if r.status == "fail"} == {}
    check = _cli(generated_cluster, "check")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr


def _blocks(dsn: str) -> dict[int, int]:
    """Entries per id block (074: Citus node group g issues ids from g << 48 + 1)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return dict(conn.execute("select audit.entry_id_block(entry_id), count(*) from audit.entries group by 1"))


def test_the_trail_written_on_the_workers_is_sealed_and_verifies(generated_cluster):
    # Departments until both workers hold entries (where a department's shard lands is the
    # hash of its id): each worker's block must be sealed in its own seals.
    with psycopg.connect(generated_cluster, autocommit=True) as conn:
        for i in range(12):
            if len(_blocks(generated_cluster)) >= 2:
                break
            casework.provision_department(conn, operator_id=OPERATOR, code=f"W{i:02d}", name=f"Worker probe {i}",
                                          enquiry_types={"general": 20})
    blocks = _blocks(generated_cluster)
    assert len(blocks) == 2 and 0 not in blocks   # both workers wrote entries, the coordinator none
    seal = _cli(generated_cluster, "audit", "seal")
    assert seal.returncode == 0 and "head: " in seal.stdout, seal.stdout + seal.stderr
    head = next(line.split()[1] for line in seal.stdout.splitlines() if line.startswith("head: "))
    with psycopg.connect(generated_cluster, autocommit=True) as conn:
        sealed = dict(conn.execute("select audit.entry_id_block(first_entry_id), sum(entry_count) from audit.seals "
                                   "where audit.entry_id_block(first_entry_id) = audit.entry_id_block(last_entry_id) "
                                   "group by 1"))
    assert sealed == blocks                  # each worker's block sealed whole, no seal across two
    verify = _cli(generated_cluster, "audit", "verify", "--anchor", head)
    assert verify.returncode == 0 and "intact" in verify.stdout and "unsealed" not in verify.stdout, \
        verify.stdout + verify.stderr


def test_an_entry_changed_on_a_worker_is_named_by_verify_on_the_coordinator(cluster, departments):
    """The attack: a superuser on a worker, past the coordinator, rewrites a sealed entry in its
    shard with the triggers off. verify, run on the coordinator, names that entry."""
    dsn, workers = cluster
    with psycopg.connect(dsn, autocommit=True) as conn:
        with act_as(conn, departments["AAA"]["caseworker"]) as cur:
            contact = casework.create_contact(cur, full_name="To be sealed")
        entry = conn.execute("select entry_id from audit.entries where record_id = %s", [contact]).fetchone()[0]
        conn.execute("select * from audit.seal()")
        assert conn.execute("select count(*) from audit.verify() where problem <> 'unsealed'").fetchone()[0] == 0
    changed = 0
    for w in workers:
        with psycopg.connect(w) as conn:
            conn.execute("set session_replication_role = replica")
            conn.execute("set citus.show_shards_for_app_name_prefixes = '*'")
            # the leaf shards held here (not the worker's copies of the logical tables, which route)
            for (shard,) in conn.execute(
                    "select shard_name(s.logicalrelid, s.shardid) from pg_dist_shard s "
                    "where s.logicalrelid::text like 'audit.entries%%' "
                    "and to_regclass(shard_name(s.logicalrelid, s.shardid)) is not null "
                    "and (select relkind from pg_class where oid = to_regclass(shard_name(s.logicalrelid, s.shardid))) = 'r'"
                    ).fetchall():
                changed += conn.execute(sql.SQL("update {} set row_data = row_data || '{{\"full_name\": \"Someone else\"}}' "
                                                "where entry_id = %s").format(sql.SQL(shard)), [entry]).rowcount
            conn.commit()
    assert changed == 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        problems = conn.execute("select problem, entry_id from audit.verify() where problem <> 'unsealed'").fetchall()
    assert problems == [("entry_changed", entry)]


def test_a_transaction_still_writing_on_a_worker_holds_the_seal_back(cluster, departments):
    """A casework transaction left open has written its entry on a worker: sealing must not pass
    it (it could still commit below the seal), so the seal waits, then refuses with EL501."""
    dsn, _ = cluster
    with psycopg.connect(dsn) as writer:
        with act_as(writer, departments["BBB"]["caseworker"]) as cur:
            casework.create_contact(cur, full_name="Still open")
            with psycopg.connect(dsn, autocommit=True) as sealer:
                before = sealer.execute("select count(*) from audit.seals").fetchone()[0]
                with pytest.raises(psycopg.Error) as err:
                    sealer.execute("select * from audit.seal(wait_for => interval '0.5 s')")
                after = sealer.execute("select count(*) from audit.seals").fetchone()[0]
    assert err.value.sqlstate == "EL501" and "node" in str(err.value)
    assert after == before


def test_a_lab_database_without_citus_on_a_cluster_node_leaves_the_internal_roles_able_to_log_in(cluster, departments):
    """Roles are shared by the server's databases: migrating a plain lab database on the
    coordinator (its sql/001 makes the internal roles NOLOGIN) must not cut the cluster's lab
    database off its workers (migrations.SERVER_WIDE: citus/060 runs there too)."""
    dsn, _ = cluster
    name = _new_name("plain")
    coordinator = os.environ[ENV]
    with _admin(coordinator) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with _admin(coordinator, name) as conn:
            migrations.migrate(conn)
            assert conn.execute("select count(*) from pg_extension where extname = 'citus'").fetchone()[0] == 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            with act_as(conn, departments["AAA"]["caseworker"]) as cur:
                contact = casework.create_contact(cur, full_name="After a plain migration")
        assert contact
    finally:
        with _admin(coordinator) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
