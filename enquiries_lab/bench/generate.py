"""`enquiries-lab bench generate`: the generator against the machine's limit and a naive client.

Three measurements of the same output, side by side in one run:
  (a) the limit: COPY of exactly the rows the generator produced (final tenant rows and
      their audit entries) into empty tables with the same indexes and no triggers;
  (b) the generator (batched, through RLS, the workflow triggers and the audit capture);
  (c) a naive client: one transaction per workflow event, each a single statement through
      the same rules (measured on a smaller sample of the same dataset, reported per event).
Each runs in its own throwaway database on the server of `admin_dsn`. The COPY limit is the
median of several runs (it varied by 1.4x between single runs on the shared 2-core machine).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from enquiries_lab import migrations, planner_stats
from enquiries_lab.config import with_database
from enquiries_lab.database import connect, drop_database, ensure_database
from enquiries_lab.generator import Params, generate
from enquiries_lab.generator import run as gen


@dataclass
class Measurement:
    method: str
    enquiries: int
    events: int
    rows: int
    seconds: float
    runs: list[float] = field(default_factory=list)   # every run, when `seconds` is their median
    seal_seconds: float = 0.0   # the generator's: of `seconds`, sealing the trail at the end

    @property
    def enquiries_per_s(self) -> float:
        return self.enquiries / self.seconds

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def _fresh(admin_dsn: str, label: str) -> str:
    dsn = with_database(admin_dsn, f"enqlab_bench_{label}_{uuid.uuid4().hex[:8]}")
    ensure_database(dsn)
    with connect(dsn, autocommit=True) as conn:
        migrations.migrate(conn)
    return dsn


def _copy_limit(conn: psycopg.Connection, runs: int = 1,
                copied: Callable[[int, int], None] | None = None) -> tuple[int, list[float]]:
    """COPY every tenant table and the audit entries into trigger-less copies with the same
    indexes, `runs` times into fresh tables; returns (rows, seconds of each run's COPY IN).
    `copied(bytes_done, bytes_total)` is called as the runs load, all runs together."""
    tables = [r[0] for r in conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'tenant' and c.relkind = 'r' order by 1")]
    sources = [(f"tenant.{t}", t) for t in tables] + [("audit.entries", "audit_entries")]
    timings = []
    # The rows go through files, not memory: at a million enquiries they are several GB (held in
    # memory, the benchmark peaked at 14.5 GB resident).
    with tempfile.TemporaryDirectory(prefix="enqlab-copy-") as scratch:
        for source, name in sources:
            with open(Path(scratch) / name, "wb") as out, conn.cursor().copy(
                    sql.SQL("copy (select * from {}) to stdout (format binary)").format(sql.SQL(source))) as cp:
                for chunk in cp:
                    out.write(chunk)
        total = runs * sum((Path(scratch) / name).stat().st_size for _, name in sources)
        done = 0
        for _ in range(runs):
            conn.execute("drop schema if exists bench_copy cascade; create schema bench_copy")
            for source, name in sources:
                conn.execute(sql.SQL("create table bench_copy.{} (like {} including defaults including indexes)").format(
                    sql.Identifier(name), sql.SQL(source)))
            started = time.perf_counter()
            with conn.transaction():
                for _, name in sources:
                    with open(Path(scratch) / name, "rb") as data, conn.cursor().copy(
                            sql.SQL("copy bench_copy.{} from stdin (format binary)").format(sql.Identifier(name))) as cp:
                        while block := data.read(1 << 20):
                            cp.write(block)
                            done += len(block)
                            if copied:
                                copied(done, total)
            timings.append(time.perf_counter() - started)
    rows = sum(conn.execute(sql.SQL("select count(*) from bench_copy.{}").format(sql.Identifier(name))).fetchone()[0]
               for _, name in sources)
    conn.execute("drop schema bench_copy cascade")
    return rows, timings


def _written_rows(conn: psycopg.Connection) -> int:
    """Exact counts (n_live_tup is an estimate: 4,107 rows off at a million enquiries)."""
    return sum(conn.execute(sql.SQL("select count(*) from {}").format(sql.SQL(t))).fetchone()[0]
               for t in planner_stats.tables(conn))


def _naive(dsn: str, params: Params) -> tuple[int, int, float]:
    """One transaction per event, one statement each: (enquiries, events, seconds)."""
    with connect(dsn, autocommit=True) as conn:
        conn.execute(gen.BOOKKEEPING)
        engine = gen._Engine(params, gen._rules(conn))
        for plan in engine.plans:
            gen._provision(conn, plan, params.start - gen.PROVISIONING_LEAD)
        enquiries = events = 0
        started = time.perf_counter()
        for index, batch_no, first, count, _ in engine.jobs():
            plan = engine.plans[index]
            sims = engine.simulate((plan.index, 0, first, count, 0))
            steps = sorted(((e.at, s, e) for s in sims for e in s.events), key=lambda x: x[0])
            for _, s, e in steps:
                kinds = (["contact"] if e.kind == "create" and s.new_contact else []) + [e.kind]
                for kind in kinds:
                    with conn.transaction():
                        with conn.cursor() as cur:
                            cur.execute(sql.SQL(
                                "set local enquiries.tenant_id = {}; set local enquiries.business_time = 'per_row'; "
                                "set local role {}; set local enquiries.actor_id = {}").format(
                                sql.Literal(str(plan.tenant_id)), sql.Identifier(f"enquiries_{e.role}"), sql.Literal(str(e.actor))))
                            for statement, columns in gen._statements(kind, [(s, e)]):
                                cur.execute(statement, columns)
                events += 1
            enquiries += count
        return enquiries, events, time.perf_counter() - started


def run(admin_dsn: str, enquiries: int, naive_enquiries: int, departments: int = 6, jobs: int = 1,
        seed: int = 1, progress=None, copy_runs: int = 3,
        stage: Callable[[str], None] | None = None,
        copied: Callable[[int, int], None] | None = None) -> list[Measurement]:
    """`progress(enquiries, events)` is called after each generated batch, `stage(what)` when
    the generator seals the trail and each later measurement starts, `copied(done, total)` as
    the COPY runs load their bytes."""
    stage = stage or (lambda what: None)
    params = Params(enquiries=enquiries, departments=departments, seed=seed)
    results = []
    dsn = _fresh(admin_dsn, "gen")
    try:
        with connect(dsn, autocommit=True) as conn:
            summary = generate(conn, params, jobs=jobs, dsn=dsn, progress=progress, stage=stage)
            stage(f"generator: {summary.seconds:.1f} s; counting its rows")
            conn.execute("analyze")
            rows = _written_rows(conn)
            results.append(Measurement(f"generator ({jobs} job{'s' if jobs > 1 else ''})", summary.enquiries,
                                       summary.events, rows, summary.seconds, seal_seconds=summary.seal_seconds))
            stage(f"COPY limit: the same {rows:,} rows, {copy_runs} run(s)")
            copy_rows, copy_seconds = _copy_limit(conn, copy_runs, copied)
            results.insert(0, Measurement("COPY of the same rows (limit)", summary.enquiries, summary.events,
                                          copy_rows, statistics.median(copy_seconds), copy_seconds))
    finally:
        drop_database(dsn)
    if naive_enquiries:
        stage(f"naive client: {naive_enquiries:,} enquiries, one statement and transaction per event")
        small = Params(enquiries=naive_enquiries, departments=departments, seed=seed)
        dsn = _fresh(admin_dsn, "naive")
        try:
            n, events, seconds = _naive(dsn, small)
            with connect(dsn, autocommit=True) as conn:
                conn.execute("analyze")
                rows = _written_rows(conn)
            results.append(Measurement("naive client (1 statement per event)", n, events, rows, seconds))
        finally:
            drop_database(dsn)
    return results


def report(results: list[Measurement]) -> str:
    gen_row = next(r for r in results if r.method.startswith("generator"))
    lines = [f"{'method':<40} {'enquiries':>9} {'events':>9} {'rows':>10} {'seconds':>8} {'enq/s':>8} {'rows/s':>8} "
             f"{'vs generator':>12}"]
    for r in results:
        ratio = gen_row.enquiries_per_s / r.enquiries_per_s
        lines.append(f"{r.method:<40} {r.enquiries:>9,} {r.events:>9,} {r.rows:>10,} {r.seconds:>8.1f} "
                     f"{r.enquiries_per_s:>8,.0f} {r.rows_per_s:>8,.0f} {ratio:>11.2f}x")
    copy_row = results[0]
    if len(copy_row.runs) > 1:
        lines.append(f"(COPY: median of {len(copy_row.runs)} runs: "
                     f"{', '.join(f'{t:.1f}' for t in copy_row.runs)} s)")
    lines.append("")
    lines.append(f"generator time / COPY time for the same rows: {gen_row.seconds / copy_row.seconds:.2f}x "
                 f"(target <= 3x); 1M enquiries would take ~{1_000_000 / gen_row.enquiries_per_s / 60:.0f} min (target <= 10)")
    # COPY writes no seals: the split shows what the write path alone costs against it.
    lines.append(f"of the generator's {gen_row.seconds:.1f} s, sealing the trail at the end took {gen_row.seal_seconds:.1f} s; "
                 f"without it {(gen_row.seconds - gen_row.seal_seconds) / copy_row.seconds:.2f}x COPY")
    naive = [r for r in results if r.method.startswith("naive")]
    if naive:
        lines.append(f"generator vs naive client, per enquiry: {gen_row.enquiries_per_s / naive[0].enquiries_per_s:.1f}x faster "
                     f"(target >= 10x)")
    return "\n".join(lines)
