"""Where a full generation's I/O goes: buffers, WAL and checkpoints, per index.

The slice (generator_slice.py) runs in a small database that stays in cache; a full run works
on tables and indexes larger than shared_buffers. This runs a whole `generate -n N` with the
given jobs in a throwaway database on ADMIN_DSN and prints, from the statistics views read
before and after: the rate, WAL records/bytes/full-page images per enquiry, checkpoints,
buffers written by the backends themselves, and for each relation the blocks read into shared
buffers (misses) and hits, largest misses first; with --functions, each trigger and function's
own time per enquiry (the seal at the end included).

    python benchmarks/generator_io.py postgresql://postgres@127.0.0.1:5432/postgres -n 200000 -j 2 --functions

Figures and how to read them: docs/benchmarks.md (Generator).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import defaultdict

from psycopg.conninfo import make_conninfo
from scratch import migrated_database

from enquiries_lab.generator import Params
from enquiries_lab.generator import run as gen

# The same counters under their names on 15-16 (pg_stat_bgwriter) and on 17+, where checkpoints
# moved to pg_stat_checkpointer and the backends' own writes to pg_stat_io.
WRITES_BEFORE_17 = """
select row_to_json(w), checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_clean, buffers_backend
from pg_stat_wal w, pg_stat_bgwriter
"""
WRITES_SINCE_17 = """
select row_to_json(w), c.num_timed, c.num_requested, c.buffers_written, b.buffers_clean,
       (select coalesce(sum(writes), 0) from pg_stat_io where backend_type = 'client backend')::bigint
from pg_stat_wal w, pg_stat_checkpointer c, pg_stat_bgwriter b
"""
# Per relation, heap and index blocks read from outside shared buffers (misses) and hits.
RELATIONS = """
select s.schemaname || '.' || s.relname, 'heap', s.heap_blks_read, s.heap_blks_hit, pg_relation_size(s.relid)
from pg_statio_all_tables s where s.schemaname in ('tenant', 'audit')
union all
select i.schemaname || '.' || i.indexrelname, 'index', i.idx_blks_read, i.idx_blks_hit, pg_relation_size(i.indexrelid)
from pg_statio_all_indexes i where i.schemaname in ('tenant', 'audit')
"""

# With --functions: PL/pgSQL and SQL functions' own time (triggers included; the tracking adds
# a little to each call). Wall-clock time inside the function, so a busy machine inflates it.
FUNCTIONS = """
select schemaname || '.' || funcname, calls, self_time
from pg_stat_user_functions where self_time > 0 order by self_time desc
"""


class CpuSampler(threading.Thread):
    """CPU seconds of every process on the machine by kind (server backends, autovacuum, the
    writers, the generator's own processes), read from /proc twice a second: a process's last
    reading before it exits is what it used (to within half a second)."""

    KINDS = [("autovacuum", "autovacuum"), ("checkpointer", "checkpointer / writers"),
             ("background writer", "checkpointer / writers"), ("walwriter", "checkpointer / writers"),
             ("postgres: ", "server backends"), ("python", "generator (client)")]

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: dict[int, tuple[str, float, float]] = {}   # pid: (kind, first reading, last reading)
        self.stop = threading.Event()
        self._read()   # the first reading: what every process had used before

    def _read(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            cpu = (int(fields[11]) + int(fields[12])) / tick
            kind, first, _ = self.seen.get(int(pid), (None, cpu, cpu))
            if cmd.strip() or kind is None:   # an exiting process has no command line: keep its kind
                kind = next((k for marker, k in self.KINDS if marker in cmd), "other")
            self.seen[int(pid)] = (kind, first, cpu)

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self._read()

    def totals(self) -> dict[str, float]:
        self.stop.set()
        self._read()
        out: dict[str, float] = defaultdict(float)
        for kind, first, last in self.seen.values():
            out[kind] += last - first
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("admin_dsn")
    parser.add_argument("-n", "--enquiries", type=int, default=200_000)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--top", type=int, default=15, help="relations to list")
    parser.add_argument("--functions", action="store_true",
                        help="track functions (track_functions = all) and list their self time")
    parser.add_argument("--what-if", action="append", default=[], metavar="SQL",
                        help="run this SQL as the admin after migrating (e.g. a storage setting to try)")
    args = parser.parse_args()

    with migrated_database(args.admin_dsn, "io", args.what_if) as (dsn, conn):
        if args.functions:
            dsn = make_conninfo(dsn, options="-c track_functions=all")
            conn.execute("set track_functions = 'all'")   # the seal runs on this connection
        conn.execute("select pg_stat_reset()")
        conn.execute("checkpoint")
        server = WRITES_SINCE_17 if conn.info.server_version >= 170000 else WRITES_BEFORE_17
        before = conn.execute(server).fetchone()
        sampler = CpuSampler()
        sampler.start()
        started = time.perf_counter()
        summary = gen.generate(conn, Params(enquiries=args.enquiries), jobs=args.jobs, dsn=dsn)
        seconds = time.perf_counter() - started
        cpu = sampler.totals()
        after = conn.execute(server).fetchone()
        time.sleep(1)  # statistics reach the views after the backends report them
        relations = conn.execute(RELATIONS).fetchall()
        functions = conn.execute(FUNCTIONS).fetchall()
        size = conn.execute("select pg_database_size(current_database())").fetchone()[0]

    n = summary.enquiries
    wal = {k: after[0][k] - before[0][k] for k in ("wal_records", "wal_fpi", "wal_bytes", "wal_buffers_full")}
    timed, requested, by_checkpoints, by_bgwriter, by_backends = (a - b for a, b in zip(after[1:], before[1:]))
    print(f"{n:,} enquiries, {summary.events:,} events in {seconds:.1f} s ({n / seconds:,.0f} enquiries/s), "
          f"{args.jobs} jobs, sealing the trail {summary.seal_seconds:.1f} s of it; database {size / 2**30:.2f} GiB")
    print(f"WAL: {wal['wal_records'] / n:.1f} records, {wal['wal_bytes'] / n / 1024:.1f} KiB, "
          f"{wal['wal_fpi'] / n:.2f} full-page images per enquiry; {wal['wal_bytes'] / 2**30:.2f} GiB in all; "
          f"WAL buffers full {wal['wal_buffers_full']:,}")
    print(f"checkpoints: {timed} timed, {requested} requested; buffers written by checkpoints {by_checkpoints:,}, "
          f"bgwriter {by_bgwriter:,}, backends {by_backends:,} ({by_backends / n:.2f} per enquiry)")
    cores = os.cpu_count() or 1
    print(f"CPU, of {cores} cores x {seconds:.0f} s = {cores * seconds:.0f} s: " + ", ".join(
        f"{kind} {used:.1f} s ({used / (cores * seconds):.0%})" for kind, used in sorted(cpu.items(), key=lambda kv: -kv[1]))
        + f"; idle {max(0.0, cores * seconds - sum(cpu.values())) / (cores * seconds):.0%}")
    # The client does the same work in every variant, so this ratio moves only with the server's
    # work, not with the machine's speed (docs/benchmarks.md, fourth pass).
    if cpu.get("generator (client)"):
        print(f"server / client CPU: {cpu.get('server backends', 0.0) / cpu['generator (client)']:.2f}")
    misses = sum(r[2] for r in relations)
    print(f"blocks read into shared buffers (misses): {misses:,} ({misses / n:.1f} per enquiry)")
    print(f"{'relation':<48} {'kind':<6} {'misses/enq':>10} {'hits/enq':>9} {'MiB':>8}")
    for name, kind, read, hit, rel_size in sorted(relations, key=lambda r: -r[2])[:args.top]:
        print(f"{name:<48} {kind:<6} {read / n:>10.2f} {hit / n:>9.1f} {rel_size / 2**20:>8.1f}")
    if functions:
        print(f"{'function (self time; track_functions = all)':<60} {'calls/enq':>9} {'us/enq':>8} {'s':>7}")
        for name, calls, self_ms in functions[:args.top]:
            print(f"{name:<60} {calls / n:>9.2f} {self_ms * 1000 / n:>8.1f} {self_ms / 1000:>7.1f}")


if __name__ == "__main__":
    main()
