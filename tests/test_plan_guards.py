"""Plan guards: the properties that make RLS cheap, checked with EXPLAIN on a generated
dataset for every shipped query pattern. A change that breaks a plan fails CI.

- the context is evaluated once per query (an InitPlan), never per row (no SubPlan);
- tenant_id is an index condition wherever the pattern uses an index;
- the caseworker queue, the reference search and a record's history never sequentially
  scan a large tenant table;
- a record's history reads only the monthly audit partitions of the record's life, and gives
  the same entries as reading them all.
"""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db

from enquiries_lab.generator import Params, generate
from enquiries_lab import queries
from enquiries_lab.queries import compose
from enquiries_lab.session import Actor, act_as

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


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def explain(dataset, pattern: str, *, routing: bool = False) -> dict:
    dsn, caseworker, auditor, params = dataset
    actor = auditor if pattern == "record_history" else caseworker
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
            created, updated = queries.record_window(cur, enquiry)
        # and for enquiries of every length of life (short ones are one window, long ones walked back)
        sample = [r for r, in conn.execute("select enquiry_id from tenant.enquiries where tenant_id = %s "
                                           "order by updated_at - created_at desc, enquiry_id limit 40",
                                           [auditor.tenant_id])]
        sample += [r for r, in conn.execute("select enquiry_id from tenant.enquiries where tenant_id = %s "
                                            "order by enquiry_id limit 40", [auditor.tenant_id])]
        with act_as(conn, auditor) as cur:
            for record in sample:
                assert queries.record_history(cur, auditor, record) == cur.execute(
                    compose("record_history", False), {"record_id": record}).fetchall(), record
    assert shown == everything and len(shown) >= 2
    life = (updated.year - created.year) * 12 + updated.month - created.month + 1   # months of its life
    read = entry_partitions(explain((dsn, None, auditor, {**params, "record_id": enquiry}), "record_history"))
    assert months <= len(read) <= life + 1 < partitions, (months, sorted(read), life, partitions)


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
