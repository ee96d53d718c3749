"""`enquiries-lab bench rls --dataset`: the shipped query patterns on a generated database,
RLS alone against the explicit tenant filter, for the largest and the smallest department.

Unlike the synthetic `bench rls` table, this runs the application's own queries
(enquiries_lab/queries.py) on the real schema and data, through `act_as` as the application
does. Each round visits every (pattern, department) in a new random order and runs both forms
back to back in a new random order; the ratio of a cell is the median of its per-round ratios,
the spread their interquartile range. Writes are rolled back, so every run sees the same data.
The record history p95 is measured over random enquiries of every department.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from enquiries_lab import planner_stats, queries
from enquiries_lab.session import Actor, act_as, context_statements

LOOKUP = "select e.* from app.enquiries e where e.enquiry_id = %(record_id)s {routing}"
UPDATE = ("update tenant.enquiries e set priority = case when e.priority = 'low' then 'normal' else 'low' end, "
          "version = e.version + 1 "
          "where e.enquiry_id = %(record_id)s {routing}")
PATTERN_NAMES = ("queue", "search_reference", "record_lookup", "status_update", "dashboard", "month_report",
                 "record_history")


class _Rollback(Exception):
    pass


@dataclass
class PatternCell:
    pattern: str
    department: str
    rows: int
    explicit_ms: float
    rls_ms: float
    ratio: float
    ratio_p25: float
    ratio_p75: float
    runs: int


def _departments(conn: psycopg.Connection) -> dict[str, dict]:
    out = {}
    for label, order in (("largest", "desc"), ("smallest", "asc")):
        tenant, n = conn.execute(f"select tenant_id, count(*) from tenant.enquiries group by 1 order by 2 {order}, 1 "
                                 "limit 1").fetchone()
        staff, = conn.execute("select assigned_to from tenant.enquiries where tenant_id = %s and assigned_to is not null "
                              "group by 1 order by count(*) filter (where status = 'in_progress') desc, count(*) desc, 1 "
                              "limit 1", [tenant]).fetchone()
        people = dict(conn.execute("select distinct on (staff_role) staff_role, staff_id from tenant.staff "
                                   "where tenant_id = %s order by staff_role, staff_id", [tenant]).fetchall())
        enquiry, reference = conn.execute(
            "select enquiry_id, reference from tenant.enquiries where tenant_id = %s and deleted_at is null "
            "and disposed_at is null order by closed_at is null desc, enquiry_id limit 1", [tenant]).fetchone()
        month, = conn.execute("select date_trunc('month', max(received_at)) - interval '1 month' from tenant.enquiries "
                              "where tenant_id = %s", [tenant]).fetchone()
        out[label] = {"rows": n, "caseworker": Actor(tenant, staff, "caseworker"),
                      "supervisor": Actor(tenant, people["supervisor"], "supervisor"),
                      "auditor": Actor(tenant, people["auditor"], "auditor"),
                      "params": {"staff_id": staff, "tenant_id": tenant, "limit": 20, "now": None,
                                 "reference": reference, "record_id": enquiry, "month": month}}
    return out


def _run(conn: psycopg.Connection, pattern: str, dept: dict, routing: bool) -> float:
    p = dict(dept["params"])
    actor = {"dashboard": "supervisor", "month_report": "supervisor", "status_update": "supervisor",
             "record_history": "auditor"}.get(pattern, "caseworker")
    started = 0.0
    try:
        with act_as(conn, dept[actor]) as cur:
            started = time.perf_counter()
            if pattern == "queue":
                queries.queue(cur, dept[actor], routing=routing)
            elif pattern == "dashboard":
                queries.dashboard(cur, dept[actor], routing=routing)
            elif pattern == "search_reference":
                queries.search_reference(cur, dept[actor], p["reference"], routing=routing)
            elif pattern == "month_report":
                queries.month_report(cur, dept[actor], p["month"], routing=routing)
            elif pattern == "record_history":
                queries.record_history(cur, dept[actor], p["record_id"], routing=routing)
            else:
                text = LOOKUP if pattern == "record_lookup" else UPDATE
                cur.execute(sql.SQL(text).format(routing=queries._routing(routing)), p)
                if cur.description:
                    cur.fetchall()
            elapsed = (time.perf_counter() - started) * 1000
            raise _Rollback
    except _Rollback:
        return elapsed


def run(dsn: str, *, repeats: int = 15, seed: int = 1, history_samples: int = 200, progress=None) -> tuple[list[PatternCell], dict]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Plans made without statistics are made for no data in particular (planner_stats.py).
        unanalysed = planner_stats.never_analysed(conn)
        analysed_s = planner_stats.analyse(conn) if unanalysed else None
        depts = _departments(conn)
        groups = [(pattern, label) for pattern in PATTERN_NAMES for label in depts]
        times = {(g, r): [] for g in groups for r in (False, True)}
        ratios = {g: [] for g in groups}
        for g in groups:                                   # warm-up
            for routing in (False, True):
                for _ in range(2):
                    _run(conn, g[0], depts[g[1]], routing)
        rng = random.Random(seed)
        for rep in range(repeats):
            rng.shuffle(groups)
            for g in groups:
                order = [False, True]
                rng.shuffle(order)
                got = {r: _run(conn, g[0], depts[g[1]], r) for r in order}
                for r, ms in got.items():
                    times[(g, r)].append(ms)
                ratios[g].append(got[False] / got[True])
            if progress:
                progress(rep + 1, repeats)
        history = _history_p95(conn, history_samples, rng)
        server = _server_times(conn, depts)
        meta = {"server_version": conn.execute("show server_version").fetchone()[0],
                "enquiries": conn.execute("select count(*) from tenant.enquiries").fetchone()[0],
                "audit_entries": planner_stats.audit_entries_estimate(conn),
                "repeats": repeats, "history": history, "server": server,
                "analysed_first": None if analysed_s is None else {"tables": len(unanalysed),
                                                                   "seconds": round(analysed_s, 1)}}
    cells = []
    for pattern in PATTERN_NAMES:
        for label in depts:
            g = (pattern, label)
            q = statistics.quantiles(ratios[g], n=4, method="inclusive") if len(ratios[g]) > 1 else [ratios[g][0]] * 3
            cells.append(PatternCell(pattern, label, depts[label]["rows"], round(statistics.median(times[(g, True)]), 3),
                                     round(statistics.median(times[(g, False)]), 3), round(statistics.median(ratios[g]), 2),
                                     round(q[0], 2), round(q[2], 2), len(ratios[g])))
    return cells, meta


def _history_p95(conn: psycopg.Connection, samples: int, rng: random.Random) -> dict:
    """queries.record_history for random enquiries (with their department's auditor), RLS alone,
    twice over the same sample: the first pass reads what the cache does not hold (a history is
    a handful of random index and heap pages per partition), the second is warm, as every other
    cell is after its warm-up."""
    auditors = dict(conn.execute("select distinct on (tenant_id) tenant_id, staff_id from tenant.staff "
                                 "where staff_role = 'auditor' order by tenant_id, staff_id").fetchall())
    picks = conn.execute("select tenant_id, enquiry_id from tenant.enquiries order by md5(enquiry_id::text || %s) "
                         "limit %s", [str(rng.randrange(1 << 30)), samples]).fetchall()
    out = {"samples": len(picks)}
    for run in ("first", "warm"):
        lat = []
        for tenant, enquiry in picks:
            actor = Actor(tenant, auditors[tenant], "auditor")
            with act_as(conn, actor) as cur:
                started = time.perf_counter()
                queries.record_history(cur, actor, enquiry)
                lat.append((time.perf_counter() - started) * 1000)
        lat.sort()
        pct = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)
        prefix = "" if run == "warm" else "first_"
        out |= {f"{prefix}p50_ms": pct(0.5), f"{prefix}p95_ms": pct(0.95), f"{prefix}max_ms": round(lat[-1], 3)}
    return out


# The (sub-)millisecond patterns, timed by the server itself: a round trip's jitter is as large
# as the difference being measured, EXPLAIN ANALYZE's planning and execution times are not.
SERVER_TIMED = ("search_reference", "record_lookup", "status_update")
SERVER_RUNS = 40


def _server_times(conn: psycopg.Connection, depts: dict) -> list[dict]:
    """Median server-side planning and execution ms of each form (the explicit filter, RLS
    alone) of the lookups and the update, per department, from EXPLAIN (ANALYZE) in the same
    warm session; each run in a transaction that is rolled back (the update's triggers included)."""
    out = []
    for label, dept in depts.items():
        for pattern in SERVER_TIMED:
            text = {"record_lookup": LOOKUP, "status_update": UPDATE}.get(pattern) or queries.PATTERNS[pattern]
            actor = dept["supervisor" if pattern == "status_update" else "caseworker"]
            row = {"pattern": pattern, "department": label}
            for routing, form in ((True, "explicit"), (False, "rls")):
                statement = sql.SQL("explain (analyze, summary, format json) ") + sql.SQL(text).format(
                    routing=queries._routing(routing))
                planning, execution = [], []
                for run in range(SERVER_RUNS + 5):                  # five warm-up runs
                    with conn.transaction(force_rollback=True):
                        for setting in context_statements(actor, None):
                            conn.execute(setting)
                        plan = conn.execute(statement, dept["params"]).fetchone()[0][0]
                    if run >= 5:
                        planning.append(plan["Planning Time"])
                        execution.append(plan["Execution Time"])
                row[f"{form}_planning_ms"] = round(statistics.median(planning), 3)
                row[f"{form}_execution_ms"] = round(statistics.median(execution), 3)
            out.append(row)
    return out


def report(cells: list[PatternCell], meta: dict) -> str:
    lines = [f"PostgreSQL {meta['server_version']}, {meta['enquiries']:,} enquiries, ~{meta['audit_entries']:,} audit "
             f"entries, {meta['repeats']} interleaved rounds; ratio = RLS alone / explicit filter (median of per-round "
             f"ratios, IQR)",
             f"{'pattern':<17} {'department':<10} {'rows':>9} {'explicit ms':>12} {'RLS ms':>9} {'ratio':>7} {'spread':>11}"]
    if meta.get("analysed_first"):
        a = meta["analysed_first"]
        lines.insert(1, f"(the dataset had no planner statistics for {a['tables']} of its tables: analysed them first, "
                        f"{a['seconds']} s)")
    for c in cells:
        lines.append(f"{c.pattern:<17} {c.department:<10} {c.rows:>9,} {c.explicit_ms:>12.3f} {c.rls_ms:>9.3f} "
                     f"{c.ratio:>6.2f}x {c.ratio_p25:>5.2f}-{c.ratio_p75:<5.2f}")
    h = meta["history"]
    lines.append(f"record history (RLS alone, {h['samples']} random enquiries), warm: p50 {h['p50_ms']} ms, "
                 f"p95 {h['p95_ms']} ms, max {h['max_ms']} ms; target p95 < 5 ms; first pass over the sample "
                 f"(uncached pages): p50 {h['first_p50_ms']} ms, p95 {h['first_p95_ms']} ms, max {h['first_max_ms']} ms")
    for r in meta.get("server", []):
        lines.append(f"server-side {r['pattern']:<17} {r['department']:<9} planning + execution ms: explicit "
                     f"{r['explicit_planning_ms']:.3f} + {r['explicit_execution_ms']:.3f}, RLS alone "
                     f"{r['rls_planning_ms']:.3f} + {r['rls_execution_ms']:.3f}")
    worst = max(cells, key=lambda c: c.ratio)
    lines.append(f"worst ratio {worst.ratio:.2f}x (spread {worst.ratio_p25:.2f}-{worst.ratio_p75:.2f}; {worst.pattern}, "
                 f"{worst.department}); target <= 1.10x")
    return "\n".join(lines)
