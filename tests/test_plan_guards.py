"""Plan guards: the properties that make RLS cheap, checked with EXPLAIN on a generated
dataset for every shipped query pattern. A change that breaks a plan fails CI.

- the context is evaluated once per query (an InitPlan), never per row (no SubPlan);
- tenant_id is an index condition wherever the pattern uses an index;
- the caseworker queue, the reference search and a record's history never sequentially
  scan a large tenant table;
- a record's history reads only the monthly audit partitions of the record's life, and gives
  the same entries as reading them all;
- the department-wide aggregate, the dashboard (sql/076's function), is planned for the
  department in context: the plan, estimates included, is the explicit filter's, for the largest and the
  smallest department, and RLS still applies inside.

Statements run inside functions (the dashboard, the record history) have their plans read as auto_explain
logs them to the client (nested statements, NOTICE level).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg import sql
from dbtools import _new_name, create_db, drop_db
from plans import explained, nodes, rows_read

from enquiries_lab.generator import Params, generate
from enquiries_lab import queries
from enquiries_lab.queries import compose
from enquiries_lab.session import Actor, act_as, context_statement

INDEXED = ["queue", "search_reference", "record_history", "month_report"]


@pytest.fixture(scope="module")
def dataset(admin_dsn, migrated_template):
    name = _new_name("plans")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            generate(conn, Params(enquiries=6000, departments=4, seed=3))
            conn.execute("analyze")
            tenant, = conn.execute("select tenant_id from tenant.enquiries group by 1 order by count(*) desc limit 1").fetchone()
            staff, = conn.execute("select assigned_to from tenant.enquiries where tenant_id = %s and status = 'in_progress' "
                                  "group by 1 order by count(*) desc limit 1", [tenant]).fetchone()
            enquiry, reference = conn.execute("select enquiry_id, reference from tenant.enquiries where tenant_id = %s "
                                              "order by reference limit 1", [tenant]).fetchone()
            auditor, = conn.execute("select staff_id from tenant.staff where tenant_id = %s and staff_role = 'auditor' limit 1",
                                    [tenant]).fetchone()
        params = {"staff_id": staff, "tenant_id": tenant, "limit": 20, "now": None, "reference": reference,
                  "month": datetime(2024, 3, 1, tzinfo=timezone.utc), "record_id": enquiry}
        yield dsn, Actor(tenant, staff, "caseworker"), Actor(tenant, auditor, "auditor"), params
    finally:
        drop_db(admin_dsn, name)


def nested_plans(dsn: str, actor: Actor, statement, params: dict, reading: str = "app.enquiries") -> list[dict]:
    """The plans of the statements reading `reading` run inside functions while `statement` runs as `actor`."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        log = explained(conn)
        with act_as(conn, actor) as cur:
            cur.execute(statement, params)
            cur.fetchall()
    return log.plans(reading)


def explain(dataset, pattern: str, *, routing: bool = False) -> dict:
    dsn, caseworker, auditor, params = dataset
    actor = auditor if pattern == "record_history" else caseworker
    if pattern in queries.PLANNED and not routing:
        inner = nested_plans(dsn, actor, compose(pattern, routing), params)
        assert len(inner) == 1, inner
        return inner[0]["Plan"]
    if pattern == "record_history" and not routing:     # the history itself: the function's last statement
        return nested_plans(dsn, actor, queries.RECORD_HISTORY_IN_ONE_CALL, params, "audit.entries")[-1]["Plan"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        with act_as(conn, actor) as cur:
            params = dict(params)
            window = queries.record_window(cur, params["record_id"]) if pattern == "record_history" else None
            query = compose(pattern, routing, window=window).as_string(cur)
            cur.execute("explain (format json) " + query, params)
            return cur.fetchone()[0][0]["Plan"]


def sizes(dataset) -> dict[str, float]:
    with psycopg.connect(dataset[0]) as conn:
        return dict(conn.execute("select relname, reltuples from pg_class where relkind = 'r'").fetchall())


def summary(plan: dict) -> list[str]:
    return [f"{n['Node Type']} {n.get('Relation Name', '')} {n.get('Index Cond', n.get('Filter', ''))}"
            for n in nodes(plan) if "Relation Name" in n][:12]


@pytest.mark.parametrize("pattern", ["queue", "dashboard", "search_reference", "month_report", "record_history"])
@pytest.mark.req("REQ-PERF-2")
def test_the_context_is_evaluated_once_per_query_never_per_row(dataset, pattern):
    plan = explain(dataset, pattern)
    relationships = [n.get("Parent Relationship") for n in nodes(plan)]
    assert "InitPlan" in relationships, summary(plan)
    assert "SubPlan" not in relationships, summary(plan)


def entry_partitions(plan) -> set[str]:
    return {n["Relation Name"] for n in nodes(plan) if str(n.get("Relation Name", "")).startswith("entries_")}


@pytest.mark.req("REQ-PERF-2")
def test_a_records_history_is_whole_when_its_live_row_was_tampered_with(dataset):
    # A superuser writing the live row with the triggers off must not shorten an auditor's
    # history: updated_at moved back to an earlier change hides the later entries from the
    # life's window, created_at moved on hides the insert. Both paths then read every partition
    # (sql/078: as many entries as the version, the first the insert at created_at).
    dsn, _, auditor, _ = dataset
    with psycopg.connect(dsn, autocommit=True) as conn:
        lived = "select enquiry_id, version from tenant.enquiries where tenant_id = %s and version >= 4 and {} limit 1"
        enquiries = [conn.execute(lived.format("true order by updated_at - created_at desc, enquiry_id"),   # walked back
                                  [auditor.tenant_id]).fetchone(),
                     conn.execute(lived.format("updated_at - created_at < interval '100 days' order by enquiry_id"),
                                  [auditor.tenant_id]).fetchone()]                                           # one window
        for enquiry, version in enquiries:
            instants = [t for t, in conn.execute("select distinct occurred_at from audit.entries where record_id = %s "
                                                 "order by 1", [enquiry])]
            assert len(instants) >= 3, instants
            for column, moved_to in (("updated_at", instants[-2]), ("created_at", instants[1])):
                with conn.transaction(force_rollback=True):
                    conn.execute("set local session_replication_role = replica")   # the triggers off
                    conn.execute(sql.SQL("update tenant.enquiries set {} = %s where enquiry_id = %s").format(
                        sql.Identifier(column)), [moved_to, enquiry])
                    conn.execute("set local session_replication_role = origin")
                    conn.execute(context_statement(auditor))   # the auditor, in the same transaction
                    with conn.cursor() as cur:
                        whole = cur.execute(compose("record_history", False), {"record_id": enquiry}).fetchall()
                        assert len(whole) == version
                        assert queries.record_history(cur, auditor, enquiry) == whole, (enquiry, column)
                        assert queries.record_history(cur, auditor, enquiry, routing=True) == whole, (enquiry, column)


@pytest.mark.req("REQ-PERF-2")
def test_a_records_history_reads_only_the_partitions_of_its_life_and_misses_no_entry(dataset):
    dsn, _, auditor, params = dataset
    with psycopg.connect(dsn, autocommit=True) as conn:
        partitions = conn.execute("select count(*) from pg_inherits where inhparent = 'audit.entries'::regclass").fetchone()[0]
        # the enquiry whose history spans the most months
        enquiry, months = conn.execute(
            "select record_id, count(distinct date_trunc('month', occurred_at)) from audit.entries "
            "where tenant_id = %s and table_name = 'tenant.enquiries' group by 1 order by 2 desc, 1 limit 1",
            [auditor.tenant_id]).fetchone()
        assert months >= 2
        with act_as(conn, auditor) as cur:
            shown = queries.record_history(cur, auditor, enquiry)
            everything = cur.execute(compose("record_history", False), {"record_id": enquiry}).fetchall()
            assert queries.record_history(cur, auditor, enquiry, routing=True) == everything   # the Citus path too
        # and for enquiries of every length of life (short ones are one window, long ones walked back)
        sample = [r for r, in conn.execute("select enquiry_id from tenant.enquiries where tenant_id = %s "
                                           "order by updated_at - created_at desc, enquiry_id limit 40",
                                           [auditor.tenant_id])]
        sample += [r for r, in conn.execute("select enquiry_id from tenant.enquiries where tenant_id = %s "
                                            "order by enquiry_id limit 40", [auditor.tenant_id])]
        # and records that are no enquiry of the auditor's department: read whole, or nothing
        sample += [r for r, in conn.execute("select record_id from audit.entries where tenant_id = %s "
                                            "and table_name <> 'tenant.enquiries' order by entry_id limit 10",
                                            [auditor.tenant_id])]
        sample += [r for r, in conn.execute("select enquiry_id from tenant.enquiries where tenant_id <> %s "
                                            "order by enquiry_id limit 5", [auditor.tenant_id])]
        with act_as(conn, auditor) as cur:
            for record in sample:
                whole = cur.execute(compose("record_history", False), {"record_id": record}).fetchall()
                assert queries.record_history(cur, auditor, record) == whole, record
                assert queries.record_history(cur, auditor, record, routing=True) == whole, record
    assert shown == everything and len(shown) >= 2
    # the longest-spanning enquiry (walked back) and a short-lived one (one window) each read
    # only the partitions of their life
    with psycopg.connect(dsn, autocommit=True) as conn:
        short, = conn.execute("select enquiry_id from tenant.enquiries where tenant_id = %s and updated_at - created_at "
                              "between interval '3 days' and interval '40 days' order by enquiry_id limit 1",
                              [auditor.tenant_id]).fetchone()
        lives = dict(conn.execute("select enquiry_id, (extract(year from age(date_trunc('month', updated_at), "
                                  "date_trunc('month', created_at))) * 12 + extract(month from age(date_trunc('month', "
                                  "updated_at), date_trunc('month', created_at))) + 1)::int from tenant.enquiries "
                                  "where enquiry_id in (%s, %s)", [enquiry, short]).fetchall())
    for record in (enquiry, short):
        read = set().union(*(entry_partitions(p["Plan"]) for p in nested_plans(
            dsn, auditor, queries.RECORD_HISTORY_IN_ONE_CALL, {"record_id": record}, "audit.entries")))
        assert 1 <= len(read) <= lives[record] + 1 < partitions, (record, sorted(read), lives[record], partitions)
        if record == enquiry:
            assert months <= len(read)


@pytest.mark.parametrize("pattern", INDEXED)
@pytest.mark.req("REQ-PERF-2")
def test_tenant_id_is_an_index_condition_and_large_tables_are_not_scanned(dataset, pattern):
    plan = explain(dataset, pattern)
    rows = sizes(dataset)
    scans = [n for n in nodes(plan) if n.get("Relation Name") == "enquiries"
             or str(n.get("Relation Name", "")).startswith("entries_")]
    large = [n for n in scans if rows.get(n["Relation Name"], 0) > 500]   # empty partitions may be scanned
    assert large, summary(plan)
    assert not [n for n in large if n["Node Type"] == "Seq Scan"], summary(plan)
    indexed = [n for n in large if "Index" in n["Node Type"] or n["Node Type"] == "Bitmap Heap Scan"]
    assert indexed and all("tenant_id" in (n.get("Index Cond") or n.get("Recheck Cond", "")) for n in indexed), summary(plan)


def departments(dsn: str) -> list[tuple]:
    """(tenant, staff, enquiries) of the largest and the smallest department."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select tenant_id, count(*) from tenant.enquiries group by 1 order by 2 desc, 1").fetchall()
        out = []
        for tenant, n in (rows[0], rows[-1]):
            staff, = conn.execute("select staff_id from tenant.staff where tenant_id = %s and staff_role = 'supervisor' "
                                  "order by staff_id limit 1", [tenant]).fetchone()
            out.append((tenant, staff, n))
    return out


def shape(plan: dict) -> list[tuple]:
    """Node types and estimated rows, top down (InitPlans and the policy's own nodes included)."""
    return [(n["Node Type"], n.get("Relation Name"), n["Plan Rows"]) for n in nodes(plan)]


@pytest.mark.parametrize("pattern", sorted(queries.PLANNED))
@pytest.mark.req("REQ-PERF-2")
def test_the_department_aggregate_is_planned_for_the_department_in_context(dataset, pattern):
    """RLS alone, the planner sees the department as the policy's InitPlan parameter and plans an
    average one; sql/076 binds the department of the context as a value, so the plan and its
    estimates are those of the explicit filter, for the largest department and the smallest."""
    dsn, _, _, params = dataset
    (large, staff, n_large), (small, staff_small, n_small) = departments(dsn)
    assert n_large > 1.5 * n_small        # the estimates below can tell the two apart
    seen = {}
    for tenant, person in ((large, staff), (small, staff_small)):
        actor = Actor(tenant, person, "supervisor")
        p = {**params, "tenant_id": tenant}
        inner, = nested_plans(dsn, actor, compose(pattern, False), p)
        with psycopg.connect(dsn, autocommit=True) as conn:
            with act_as(conn, actor) as cur:
                explicit = cur.execute("explain (format json) " + compose(pattern, True).as_string(cur), p).fetchone()[0][0]
        assert f"tenant_id = '{tenant}'::uuid" in json.dumps(inner["Plan"]), summary(inner["Plan"])   # planned with the value
        assert shape(inner["Plan"]) == shape(explicit["Plan"]), (shape(inner["Plan"]), shape(explicit["Plan"]))
        relationships = [n.get("Parent Relationship") for n in nodes(inner["Plan"])]
        assert "InitPlan" in relationships and "SubPlan" not in relationships   # the policy, once per query
        seen[tenant] = [r for t, rel, r in shape(inner["Plan"]) if rel == "enquiries"]
    assert seen[large] != seen[small], seen    # planned per department, not for an average one


@pytest.mark.parametrize("function", ["app.department_dashboard(null)"])
@pytest.mark.req("REQ-ISO-3")
def test_the_dashboard_function_runs_as_the_caller_and_fails_closed_without_context(dataset, function):
    """The bound department is a hint: the function is security invoker, so RLS decides; with no
    department in context it returns nothing, as app.enquiries does."""
    dsn, caseworker, _, _ = dataset
    with psycopg.connect(dsn, autocommit=True) as conn:
        definer, config = conn.execute("select prosecdef, proconfig from pg_proc where oid = %s::regprocedure",
                                       [function.split("(")[0] + "(timestamptz)"]).fetchone()
        assert definer is False and config is None
        with conn.transaction():
            conn.execute("set local role enquiries_caseworker")
            assert conn.execute(f"select count(*) from {function}").fetchone()[0] == 0
            assert conn.execute("select count(*) from app.enquiries").fetchone()[0] == 0
        # the same role with a department in context sees that department's rows only
        with act_as(conn, caseworker) as cur:
            total = cur.execute("select count(*) from app.enquiries").fetchone()[0]
            shown = cur.execute("select coalesce(sum(enquiries), 0) from app.department_dashboard(null)").fetchone()[0]
        own = conn.execute("select count(*) from tenant.enquiries where tenant_id = %s and deleted_at is null",
                           [caseworker.tenant_id]).fetchone()[0]
    assert total == shown == own > 0



@pytest.mark.req("REQ-PERF-2")
def test_new_enquiries_look_up_their_contacts_by_key_not_the_department(world):
    """A statement opening enquiries checks that none is for a disposed contact (sql/037's
    statement trigger). PL/pgSQL kept the plan it made at the trigger's first call in a
    backend, when the tables were tiny: it read every contact of the department for each new
    row, so a long-lived backend slowed as the department grew. sql/079 plans the check at
    each statement: a statement reads as many contacts as it opens enquiries."""
    cw = world.a.actor("caseworker")
    opened = 200
    with psycopg.connect(world.dsn, autocommit=True) as conn, psycopg.connect(world.dsn, autocommit=True) as su:
        su.execute("alter table tenant.contacts set (autovacuum_enabled = off)")   # no analyze replans it midway
        log = explained(conn, analyze=True)

        def open_enquiries(n: int, start: int) -> list[tuple]:
            log.clear()
            with act_as(conn, cw) as cur:
                cur.execute("insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, priority, "
                            "subject, body, status) select 'AAA-' || lpad((%s + row_number() over ())::text, 7, '0'), "
                            "c.contact_id, 'general', 'email', 'normal', 'Subject', 'Body', 'new' "
                            "from (select contact_id from tenant.contacts order by contact_id limit %s) c", [start, n])
            return rows_read(log.plans("new_rows"), "contacts")

        assert open_enquiries(1, 100)      # the trigger's first call in this backend: two contacts
        with act_as(conn, cw) as cur:       # the department grows
            cur.execute("insert into tenant.contacts (full_name) select 'Citizen ' || i from generate_series(1, 20000) i")
        grown = open_enquiries(opened, 200)
        su.execute("analyze tenant.contacts")
        for read in (grown, open_enquiries(opened, 1000)):
            assert read and all(node in ("Index Scan", "Index Only Scan") and "contact_id" in cond
                                for node, cond, _ in read), read
            assert sum(rows for *_, rows in read) <= opened, read
