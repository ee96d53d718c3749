"""`enquiries-lab bench rls`: what RLS costs, per policy design and index strategy.

Every variant is a copy of the same synthetic table (identical rows, skewed departments),
with its own policy or indexes, side by side in one throwaway database. Each query pattern
runs for a large and a small department, warmed up, repeated in random order; we report the
median, p95 and spread, and the ratio to the baseline (no RLS, explicit tenant filter)
measured in the same run.
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.database import connect, drop_database, ensure_database

TENANTS = 20
CELL_BUDGET_MS = 15_000
SKEW = 1.2
CONTEXT = "(select tenant.current_tenant_id())"



@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    policy: str | None          # USING expression, or None for no RLS (the baseline)
    indexes: tuple[str, ...]    # index column lists
    shipped: bool = False
    explicit_filter: bool = False
    setup: str = ""             # extra SQL (functions) the policy needs
    restrictive: str | None = None  # the RESTRICTIVE tenant_isolation policy's expression, if any
    partitioned: bool = False   # LIST-partitioned by tenant_id, one partition per department
    planned: bool = False       # the dashboard runs in a function that binds the context's department (sql/076)


# The indexes tenant.enquiries has (sql/005), besides its primary key (tenant_id, enquiry_id):
# enquiries_queue, enquiries_type (the synthetic table has priority where the real one has
# enquiry_type), enquiries_tenant_id_reference_key, enquiries_closed is left out (no closed_at here).
SHIPPED_INDEXES = ("tenant_id, assigned_to, received_at", "tenant_id, priority, received_at", "tenant_id, reference")
STABLE = "tenant.current_tenant_id()"
# sql/076's pattern for the synthetic table: a function runs the dashboard with $1 = the context's department.
PLANNED_SETUP = ("create function bench.planned(statement text, now timestamptz, month timestamptz) returns setof jsonb "
                 "language plpgsql stable as $$ begin return query execute 'select to_jsonb(r) from (' || statement "
                 "|| ') r' using tenant.current_tenant_id(), now, month; end $$;")

VARIANTS = [
    Variant("baseline", "no RLS; the query says WHERE tenant_id = $1", None, SHIPPED_INDEXES, explicit_filter=True),
    Variant("shipped", "restrictive + permissive policies, context in a sub-select (InitPlan); the dashboard "
            "runs in a function that binds the context's department as a value (EXECUTE ... USING, as sql/076): "
            "planned for the department, RLS still filtering", f"tenant_id = {CONTEXT}", SHIPPED_INDEXES, shipped=True, restrictive=f"tenant_id = {CONTEXT}", planned=True, setup=PLANNED_SETUP),
    Variant("subselect_unplanned", "the shipped policies, the dashboard as a plain statement: the department is "
            "an InitPlan parameter, so the planner plans an average department (the design before sql/076)",
            f"tenant_id = {CONTEXT}", SHIPPED_INDEXES, restrictive=f"tenant_id = {CONTEXT}"),
    Variant("shipped_routed", "shipped policies, and the query also says WHERE tenant_id = $1 (the Citus "
            "profile's routing hint)", f"tenant_id = {CONTEXT}", SHIPPED_INDEXES, explicit_filter=True,
            restrictive=f"tenant_id = {CONTEXT}"),
    Variant("stable_expression", "policies compare with tenant.current_tenant_id() directly (no sub-select; the form "
            "Citus accepts): the planner estimates the actual department, an index condition evaluates it once per "
            "scan, a sequential-scan filter once per row", f"tenant_id = {STABLE}", SHIPPED_INDEXES,
            restrictive=f"tenant_id = {STABLE}"),
    Variant("partitioned_subselect", "LIST-partitioned by department, sub-select policies (run-time pruning, "
            "per-department statistics)", f"tenant_id = {CONTEXT}", SHIPPED_INDEXES,
            restrictive=f"tenant_id = {CONTEXT}", partitioned=True),
    Variant("partitioned_stable", "LIST-partitioned by department, stable-expression policies",
            f"tenant_id = {STABLE}", SHIPPED_INDEXES, restrictive=f"tenant_id = {STABLE}", partitioned=True),
    Variant("costly_function", "policies call a non-inlined (PL/pgSQL) STABLE PARALLEL SAFE context function "
            "declared COST 1000: estimated with the actual department, kept out of per-row filters",
            "tenant_id = bench.context_costly()", SHIPPED_INDEXES, restrictive="tenant_id = bench.context_costly()",
            setup="create function bench.context_costly() returns uuid language plpgsql stable parallel safe cost 1000 as "
                  "$$ begin return nullif(current_setting('enquiries.tenant_id', true), '')::uuid; end $$;"),
    Variant("cheap_function", "as costly_function, declared COST 10",
            "tenant_id = bench.context_cheap()", SHIPPED_INDEXES, restrictive="tenant_id = bench.context_cheap()",
            setup="create function bench.context_cheap() returns uuid language plpgsql stable parallel safe cost 10 as "
                  "$$ begin return nullif(current_setting('enquiries.tenant_id', true), '')::uuid; end $$;"),
    Variant("per_row_function", "policy calls a PL/pgSQL context function directly (not inlined, per row)",
            "tenant_id = bench.context_plpgsql()", SHIPPED_INDEXES, restrictive=f"tenant_id = {CONTEXT}",
            setup="create function bench.context_plpgsql() returns uuid language plpgsql stable as "
                  "$$ begin return nullif(current_setting('enquiries.tenant_id', true), '')::uuid; end $$;"),
    Variant("membership_join", "policy checks membership with a join per row (EXISTS on a staff table)",
            "exists (select 1 from bench.memberships m where m.tenant_id = {table}.tenant_id "
            "and m.staff_id = (select tenant.current_actor_id()))", SHIPPED_INDEXES),
    Variant("membership_definer", "policy calls a SECURITY DEFINER membership function per row",
            "bench.is_member(tenant_id)", SHIPPED_INDEXES,
            setup="create function bench.is_member(t uuid) returns boolean language sql stable security definer "
                  "set search_path = pg_catalog as $$ select exists (select 1 from bench.memberships m "
                  "where m.tenant_id = t and m.staff_id = nullif(current_setting('enquiries.actor_id', true), '')::uuid) $$;"),
    Variant("membership_wrapped", "membership resolved once: tenant_id IN (sub-select of the actor's departments)",
            "tenant_id in (select m.tenant_id from bench.memberships m where m.staff_id = (select tenant.current_actor_id()))",
            SHIPPED_INDEXES),
    Variant("shipped_tenant_index_only", "shipped policies, only an index on tenant_id", f"tenant_id = {CONTEXT}",
            ("tenant_id",), restrictive=f"tenant_id = {CONTEXT}"),
    Variant("shipped_no_index", "shipped policies, no index at all", f"tenant_id = {CONTEXT}", (),
            restrictive=f"tenant_id = {CONTEXT}"),
]

# --quick runs the designs that matter for the verdict (the others are orders of magnitude off).
QUICK_VARIANTS = ("baseline", "shipped", "shipped_routed", "subselect_unplanned", "stable_expression", "partitioned_stable")

PATTERNS = {
    "queue": ("select enquiry_id, reference, status, received_at from {table} where assigned_to = %(staff)s "
              "and status <> 'closed' {filter} order by received_at limit 20"),
    "dashboard": ("select status, count(*), count(*) filter (where due_at < %(now)s and status <> 'closed') "
                  "from {table} where true {filter} group by status"),
    "search_reference": "select enquiry_id, status from {table} where reference = %(reference)s {filter}",
    "record_lookup": "select * from {table} where enquiry_id = %(enquiry)s {filter}",
    "month_report": ("select status, priority, count(*) from {table} where received_at >= %(month)s "
                     "and received_at < %(month)s::timestamptz + interval '1 month' {filter} group by 1, 2"),
    "status_update": ("update {table} set status = case when status = 'closed' then 'in_progress' else 'closed' end "
                      "where enquiry_id = %(enquiry)s {filter}"),
}


def _populate(conn: psycopg.Connection, rows: int) -> None:
    """The base table: `rows` enquiries over 20 departments with Zipf-like sizes (~700 bytes each)."""
    conn.execute("create schema bench")
    weights = [1 / (k + 1) ** SKEW for k in range(TENANTS)]
    total = sum(weights)
    conn.execute("create table bench.tenants (n int primary key, tenant_id uuid not null, share float8 not null)")
    with conn.cursor() as cur:
        cur.executemany("insert into bench.tenants values (%s, %s, %s)",
                        [(k, uuid.UUID(int=k + 1, version=4), w / total) for k, w in enumerate(weights)])
    conn.execute("""
        create table bench.base as
        with t as (select n, tenant_id, sum(share) over (order by n) - share as lo, sum(share) over (order by n) as hi
                   from bench.tenants)
        select t.tenant_id,
               md5(g::text)::uuid as enquiry_id,
               'REF-' || lpad(g::text, 9, '0') as reference,
               (array['new','assigned','in_progress','awaiting_citizen','resolved','closed','closed','closed','closed','closed'])
                   [1 + (hashint4(g) & 1023) % 10] as status,
               (array['urgent','high','normal','normal','normal','low'])[1 + (hashint4(g + 7) & 1023) % 6] as priority,
               md5(t.tenant_id::text || ((hashint4(g + 13) & 1023) % 40)::text)::uuid as assigned_to,
               timestamptz '2018-07-01' + (g::float8 / {rows}) * interval '8 years' as received_at,
               timestamptz '2018-07-01' + (g::float8 / {rows}) * interval '8 years' + interval '20 days' as due_at,
               repeat('Subject line for enquiry ', 3) as subject,
               repeat('The body of a citizen enquiry, as long as a real letter. ', 8) as body
        from generate_series(1, {rows}) g
        join t on ((hashint4(g + 101) & 1048575)::float8 / 1048576) >= t.lo
              and ((hashint4(g + 101) & 1048575)::float8 / 1048576) < t.hi
    """.replace("{rows}", str(int(rows))))
    conn.execute("""
        create table bench.memberships as
        select distinct tenant_id, assigned_to as staff_id from bench.base;
        alter table bench.memberships add primary key (staff_id, tenant_id);
        grant usage on schema bench to enquiries_caseworker, enquiries_owner;
        grant select on bench.memberships to enquiries_caseworker;
    """)


def _install(conn: psycopg.Connection, v: Variant) -> str:
    table = f"bench.enquiries_{v.name}"
    if v.partitioned:
        conn.execute(sql.SQL("create table {} (like bench.base) partition by list (tenant_id)").format(sql.SQL(table)))
        for n, tenant in conn.execute("select n, tenant_id from bench.tenants order by n").fetchall():
            conn.execute(sql.SQL("create table {} partition of {} for values in ({})").format(
                sql.SQL(f"{table}_{n}"), sql.SQL(table), sql.Literal(str(tenant))))
        conn.execute(sql.SQL("insert into {} select * from bench.base").format(sql.SQL(table)))
    else:
        conn.execute(sql.SQL("create table {} as select * from bench.base").format(sql.SQL(table)))
    conn.execute(sql.SQL("alter table {} add primary key (tenant_id, enquiry_id)").format(sql.SQL(table)))
    for i, cols in enumerate(v.indexes):
        conn.execute(sql.SQL("create index {} on {} ({})").format(
            sql.Identifier(f"{v.name}_{i}"), sql.SQL(table), sql.SQL(cols)))
    if v.setup:
        conn.execute(v.setup)
        conn.execute("grant execute on all functions in schema bench to enquiries_caseworker")
    conn.execute(sql.SQL("grant select, update on {} to enquiries_caseworker").format(sql.SQL(table)))
    if v.policy:
        using = v.policy.format(table=table)
        conn.execute(sql.SQL("alter table {} enable row level security").format(sql.SQL(table)))
        conn.execute(sql.SQL("alter table {} force row level security").format(sql.SQL(table)))
        if v.restrictive:
            conn.execute(sql.SQL("create policy tenant_isolation on {} as restrictive for all to public using ({c}) "
                                 "with check ({c})").format(sql.SQL(table), c=sql.SQL(v.restrictive)))
        conn.execute(sql.SQL("create policy caseworker_access on {} for all to enquiries_caseworker using ({u}) "
                             "with check ({u})").format(sql.SQL(table), u=sql.SQL(using)))
    else:
        conn.execute(sql.SQL("alter table {} owner to enquiries_owner").format(sql.SQL(table)))
    conn.execute(sql.SQL("analyze {}").format(sql.SQL(table)))
    return table


@dataclass
class Cell:
    variant: str
    pattern: str
    tenant_size: str
    rows: int
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float
    runs: int
    ratio_to_baseline: float    # median of the per-round ratios (variant / baseline, same round)
    ratio_p25: float            # their interquartile range: the spread of the verdict
    ratio_p75: float
    shipped: bool
    description: str


def _tenants(conn: psycopg.Connection) -> dict[str, dict]:
    """Parameters for the largest and the smallest department."""
    out = {}
    for label, order in (("large", "desc"), ("small", "asc")):
        tenant, n = conn.execute(f"select tenant_id, count(*) from bench.base group by 1 order by 2 {order} limit 1").fetchone()
        staff, enquiry, reference, month = conn.execute(
            "select assigned_to, enquiry_id, reference, date_trunc('month', received_at) from bench.base "
            "where tenant_id = %s order by enquiry_id limit 1", [tenant]).fetchone()
        out[label] = {"tenant": tenant, "rows": n, "staff": staff, "enquiry": enquiry, "reference": reference,
                      "month": month, "now": "2024-01-01"}
    return out


AGGREGATES = ("dashboard",)   # planned in a function when the variant is (sql/076)


def _query(variant: Variant, table: str, pattern: str) -> str:
    """The statement a variant runs for a pattern (a planned variant's aggregates: through bench.planned)."""
    if variant.planned and pattern in AGGREGATES:
        inner = PATTERNS[pattern].format(table=table, filter="and tenant_id = $1")
        inner = inner.replace("%(now)s", "$2").replace("%(month)s", "$3")
        return "select * from bench.planned(" + sql.quote(inner) + ", %(now)s, %(month)s)"
    return PATTERNS[pattern].format(table=table, filter="and tenant_id = %(tenant)s" if variant.explicit_filter else "")


def _time(conn: psycopg.Connection, variant: Variant, table: str, pattern: str, p: dict) -> float:
    query = _query(variant, table, pattern)
    with conn.transaction():
        with conn.cursor() as cur:
            if variant.policy is None:
                cur.execute("set local role enquiries_owner")
            else:
                cur.execute(sql.SQL("set local role enquiries_caseworker; set local enquiries.tenant_id = {}; "
                                    "set local enquiries.actor_id = {}").format(
                    sql.Literal(str(p["tenant"])), sql.Literal(str(p["staff"]))))
            started = time.perf_counter()
            cur.execute(query, p, prepare=True)
            if cur.description:
                cur.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
        raise _Rollback(elapsed)  # writes are measured, never kept: every run sees the same data


class _Rollback(Exception):
    def __init__(self, elapsed: float):
        self.elapsed = elapsed


def _measure(conn, variant, table, pattern, p) -> float:
    try:
        _time(conn, variant, table, pattern, p)
    except _Rollback as r:
        return r.elapsed
    raise AssertionError("unreachable")


def plans(conn: psycopg.Connection, tables: dict[str, str], params: dict[str, dict],
          variants: list[Variant] = VARIANTS) -> dict[str, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of every read pattern for the large department, per variant
    (keys: the variant for the queue, '<variant>/<pattern>' for the others)."""
    out = {}
    p = params["large"]
    for v, pattern in ((v, pattern) for v in variants for pattern in PATTERNS if pattern != "status_update"):
        query = _query(v, tables[v.name], pattern)
        with conn.transaction():
            if v.policy is None:
                conn.execute("set local role enquiries_owner")
            else:
                conn.execute(sql.SQL("set local role enquiries_caseworker; set local enquiries.tenant_id = {}; "
                                     "set local enquiries.actor_id = {}").format(
                    sql.Literal(str(p["tenant"])), sql.Literal(str(p["staff"]))))
            rows = conn.execute("explain (analyze, buffers, costs off) " + query, p).fetchall()
            out[v.name if pattern == "queue" else f"{v.name}/{pattern}"] = "\n".join(r[0] for r in rows)
    return out


def _client(args: tuple) -> list[tuple[float, int]]:
    """One concurrent client: random departments and staff, queue and dashboard queries, for
    `seconds`; returns (latency ms, rows) per query. Bounded in time and count."""
    dsn, table, explicit, owner, people, seconds, seed = args
    rng = random.Random(seed)
    out = []
    query = {p: PATTERNS[p].format(table=table, filter="and tenant_id = %(tenant)s" if explicit else "")
             for p in ("queue", "dashboard", "search_reference")}
    deadline = time.perf_counter() + seconds
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.perf_counter() < deadline and len(out) < 100_000:
            p = rng.choice(people)
            pattern = rng.choices(["queue", "dashboard", "search_reference"], [0.6, 0.1, 0.3])[0]
            started = time.perf_counter()
            with conn.transaction():
                if owner:
                    conn.execute("set local role enquiries_owner")
                else:
                    conn.execute(sql.SQL("set local role enquiries_caseworker; set local enquiries.tenant_id = {}; "
                                         "set local enquiries.actor_id = {}").format(
                        sql.Literal(str(p["tenant"])), sql.Literal(str(p["staff"]))))
                n = len(conn.execute(query[pattern], p, prepare=True).fetchall())
            out.append(((time.perf_counter() - started) * 1000, n))
    return out


def concurrency(dsn: str, tables: dict[str, str], clients: int, seconds: float) -> list[dict]:
    """Throughput and latency percentiles with RLS on (shipped) and off (baseline), each with
    `clients` processes over loopback, mixed departments; the context is set per transaction."""
    import multiprocessing

    with psycopg.connect(dsn) as conn:
        people = [{"tenant": t, "staff": s, "reference": r, "now": "2024-01-01"} for t, s, r in conn.execute(
            "select distinct on (assigned_to) tenant_id, assigned_to, reference from bench.base order by assigned_to, reference")]
    results = []
    for name in ("baseline", "shipped"):
        explicit = name == "baseline"
        owner = name == "baseline"
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            runs = pool.map(_client, [(dsn, tables[name], explicit, owner, people, seconds, k) for k in range(clients)])
        lat = sorted(ms for run in runs for ms, _ in run)
        pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)
        results.append({"variant": name, "clients": clients, "seconds": seconds, "transactions": len(lat),
                        "tps": round(len(lat) / seconds), "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99)})
    return results


def _spread(values: list[float]) -> tuple[float, float]:
    """The interquartile range (p25, p75) of `values`."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def run(admin_dsn: str, *, rows: int = 1_000_000, repeats: int = 30, seed: int = 1,
        progress=None, clients: int = 0, seconds: float = 10.0,
        variants: tuple[str, ...] | None = None) -> tuple[list[Cell], dict]:
    """Every (pattern, department) is a group; each round visits the groups in a new random
    order and, inside a group, runs every variant back to back in a new random order. A burst of
    load on the shared machine therefore hits all variants of a group alike, and each round
    gives one ratio per variant against the baseline measured seconds apart: the cell's ratio
    is the median of those per-round ratios, its spread their interquartile range."""
    chosen = [v for v in VARIANTS if variants is None or v.name in variants or v.name == "baseline"]
    dsn = with_database(admin_dsn, f"enqlab_bench_rls_{uuid.uuid4().hex[:8]}")
    ensure_database(dsn)
    try:
        with connect(dsn, autocommit=True) as conn:
            migrations.migrate(conn)
            _populate(conn, rows)
            tables = {v.name: _install(conn, v) for v in chosen}
            params = _tenants(conn)
            meta = {
                "server_version": conn.execute("show server_version").fetchone()[0],
                "settings": dict(conn.execute(
                    "select name, setting from pg_settings where name in ('shared_buffers', 'work_mem', "
                    "'effective_cache_size', 'random_page_cost', 'jit', 'max_parallel_workers_per_gather')").fetchall()),
                "rows": rows, "repeats": repeats, "cache": "warm (each timed run follows an untimed run of the same cell)",
                "order": "interleaved: variants back to back per (pattern, department), groups shuffled per round",
                "tenants": {k: {"rows": v["rows"]} for k, v in params.items()},
            }
            groups = [(pattern, size) for pattern in PATTERNS for size in params]
            timings: dict[tuple, list[float]] = {(v.name, pt, s): [] for v in chosen for pt, s in groups}
            ratios: dict[tuple, list[float]] = {k: [] for k in timings}
            for v in chosen:                              # warm-up
                for pattern, size in groups:
                    for _ in range(2):
                        _measure(conn, v, tables[v.name], pattern, params[size])
            rng = random.Random(seed)
            for rep in range(repeats):
                rng.shuffle(groups)
                for pattern, size in groups:
                    order = chosen[:]
                    rng.shuffle(order)
                    this_round = {}
                    for v in order:
                        done = timings[(v.name, pattern, size)]
                        # A pathological cell (seconds per run) stops after 3 runs: its ratio is already clear.
                        if len(done) >= 3 and sum(done) > CELL_BUDGET_MS:
                            continue
                        # Each variant has its own copy of the table, and the copies evict each other
                        # from shared buffers: timed cold, a cell measured which copy the last group
                        # left cached (the small department's dashboard, 2,860 scattered rows at 300k,
                        # took 11-15 ms so against 2.5 ms warm). The run just before warms this
                        # variant's pages; the second is timed.
                        _measure(conn, v, tables[v.name], pattern, params[size])
                        this_round[v.name] = _measure(conn, v, tables[v.name], pattern, params[size])
                        done.append(this_round[v.name])
                    for name, ms in this_round.items():
                        ratios[(name, pattern, size)].append(ms / this_round["baseline"])
                if progress:
                    progress(rep + 1, repeats)
            meta["plans"] = plans(conn, tables, params, chosen)
        if clients:
            meta["concurrency"] = concurrency(dsn, tables, clients, seconds)
    finally:
        drop_database(dsn)
    meta["against_explicit_filter"] = _against_explicit_filter(ratios, [v.name for v in chosen], groups)
    cells = []
    for v in chosen:
        for pattern in PATTERNS:
            for size in params:
                t = sorted(timings[(v.name, pattern, size)])
                r = ratios[(v.name, pattern, size)]
                lo, hi = _spread(r)
                cells.append(Cell(v.name, pattern, size, params[size]["rows"], round(statistics.median(t), 3),
                                  round(t[int(0.95 * (len(t) - 1))], 3), round(t[0], 3), round(t[-1], 3), len(t),
                                  round(statistics.median(r), 2), round(lo, 2), round(hi, 2), v.shipped,
                                  v.description))
    return cells, meta


def _against_explicit_filter(ratios: dict, chosen: list[str], groups: list[tuple]) -> list[dict]:
    """The shipped design against the same policies with the explicit filter added
    (shipped_routed): what leaving the filter to RLS costs, as the application sees it (its
    roles are under RLS either way), where the baseline's ratio is what RLS itself costs. Per
    round: (shipped / baseline) / (shipped_routed / baseline), the two measured seconds apart."""
    if "shipped" not in chosen or "shipped_routed" not in chosen:
        return []
    out = []
    for pattern, size in sorted(groups):
        a, b = ratios[("shipped", pattern, size)], ratios[("shipped_routed", pattern, size)]
        if pattern == "status_update" or not a or len(a) != len(b):
            continue
        r = [x / y for x, y in zip(a, b)]
        lo, hi = _spread(r)
        out.append({"pattern": pattern, "tenant_size": size, "ratio": round(statistics.median(r), 2),
                    "p25": round(lo, 2), "p75": round(hi, 2)})
    return out


def write_csv(cells: list[Cell], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(asdict(cells[0])))
        writer.writeheader()
        for c in cells:
            writer.writerow(asdict(c))


TARGET = 1.10


def verdict(cells: list[Cell]) -> tuple[Cell, str]:
    """The shipped design's worst read cell and whether it meets the target: 'meets' when the
    whole interquartile range is at or under it, 'misses' when all of it is above, otherwise
    'inconclusive' (run more rounds or a larger table)."""
    shipped = [c for c in cells if c.shipped and c.pattern != "status_update"]
    worst = max(shipped, key=lambda c: c.ratio_to_baseline)
    return worst, _word([(c.ratio_p25, c.ratio_p75) for c in shipped])


def _word(spreads: list[tuple[float, float]]) -> str:
    """The verdict on interquartile ranges (p25, p75) against TARGET (see verdict)."""
    if all(hi <= TARGET for _, hi in spreads):
        return "meets"
    if any(lo > TARGET for lo, _ in spreads):
        return "misses"
    return "inconclusive"


def report(cells: list[Cell], meta: dict) -> str:
    lines = [f"PostgreSQL {meta['server_version']}, {meta['rows']:,} rows, {meta['repeats']} interleaved rounds, "
             f"large department {meta['tenants']['large']['rows']:,} rows, small {meta['tenants']['small']['rows']:,}",
             f"{'variant':<22} {'pattern':<17} {'tenant':<6} {'median ms':>10} {'p95 ms':>8} {'ratio':>7} {'spread (IQR)':>13}"]
    for c in cells:
        lines.append(f"{c.variant:<22} {c.pattern:<17} {c.tenant_size:<6} {c.median_ms:>10.3f} {c.p95_ms:>8.3f} "
                     f"{c.ratio_to_baseline:>6.2f}x {c.ratio_p25:>5.2f}-{c.ratio_p75:<5.2f}{' *' if c.shipped else ''}")
    for r in meta.get("concurrency", []):
        lines.append(f"concurrency {r['variant']:<9} {r['clients']} clients x {r['seconds']:.0f} s: {r['tps']:,} tx/s, "
                     f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms")
    against = meta.get("against_explicit_filter", [])
    if against:
        worst_e = max(against, key=lambda r: r["ratio"])
        word_e = _word([(r["p25"], r["p75"]) for r in against])
        lines.append("RLS alone against the explicit filter under the same policies (shipped / shipped_routed): "
                     + ", ".join(f"{r['pattern']} {r['tenant_size']} {r['ratio']:.2f}x" for r in against))
        lines.append(f"  worst {worst_e['ratio']:.2f}x (spread {worst_e['p25']:.2f}-{worst_e['p75']:.2f}; "
                     f"{worst_e['pattern']}, {worst_e['tenant_size']}); target <= {TARGET:.2f}x: {word_e}")
    worst, word = verdict(cells)
    lines.append(f"* shipped design; worst read ratio {worst.ratio_to_baseline:.2f}x "
                 f"(spread {worst.ratio_p25:.2f}-{worst.ratio_p75:.2f}; {worst.pattern}, {worst.tenant_size}); "
                 f"target <= {TARGET:.2f}x: {word}")
    return "\n".join(lines)


def save_meta(meta: dict, path: Path) -> None:
    path.write_text(json.dumps(meta, indent=2, default=str))
