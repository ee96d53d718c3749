"""Profile a slice of a large generation: where the generator's time goes, in minutes not hours.

Runs a few batches from the middle of the plan for `-n` enquiries (the staffing, batch sizes
and dates of the full run) with one job, in a throwaway database on ADMIN_DSN, and prints the
rate, the server's and the client's CPU per enquiry, rows per statement for each kind of
statement, and the trigger functions' times (track_functions = all). The server's CPU is read
from /proc, so the server must run on this machine.

    python benchmarks/generator_slice.py postgresql://postgres@127.0.0.1:5432/postgres -n 1000000 --batches 4

Figures and how to read them: docs/benchmarks.md (Generator).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import resource
import time
from collections import defaultdict

import psycopg
from scratch import migrated_database

from enquiries_lab.generator import Params
from enquiries_lab.generator import run as gen


def backend_cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("admin_dsn")
    parser.add_argument("-n", "--enquiries", type=int, default=1_000_000, help="size of the planned run")
    parser.add_argument("--batches", type=int, default=4, help="batches from the middle of the plan")
    parser.add_argument("--what-if", action="append", default=[], metavar="SQL",
                        help="run this SQL as the admin after migrating (e.g. drop an index to see what it costs)")
    parser.add_argument("--batch-size", type=int, default=0, help="enquiries per batch (0: automatic, as generate)")
    parser.add_argument("--perf-record", metavar="FILE",
                        help="also sample the server backend with `perf record -g` into FILE (read it with "
                             "`perf report -i FILE --no-children`)")
    args = parser.parse_args()

    middle = gen._Engine.jobs
    gen._Engine.jobs = lambda self, *a: (lambda js: js[len(js) // 2:len(js) // 2 + args.batches])(middle(self, *a))
    statements: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    execute = psycopg.Cursor.execute

    def counting(self, query, params=None, **kw):
        if isinstance(query, str) and params and isinstance(params[0], list):
            s = statements[" ".join(query.split())[:60]]
            s[0] += 1
            s[1] += len(params[0])
        return execute(self, query, params, **kw)

    with migrated_database(args.admin_dsn, "slice", args.what_if) as (_, conn):
        conn.execute("set track_functions = 'all'")
        pid = conn.execute("select pg_backend_pid()").fetchone()[0]
        server, client = backend_cpu_seconds(pid), resource.getrusage(resource.RUSAGE_SELF)
        # Instructions, unlike seconds, do not move with what else the machine is doing.
        perf = shutil.which("perf") and subprocess.Popen(
            ["perf", "stat", "-x", ",", "-e", "instructions", "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        recorder = args.perf_record and subprocess.Popen(
            ["perf", "record", "-g", "-F", "999", "-o", args.perf_record, "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.perf_counter()
        psycopg.Cursor.execute = counting
        try:
            summary = gen.generate(conn, Params(enquiries=args.enquiries, batch_size=args.batch_size))
        finally:
            psycopg.Cursor.execute = execute
            if perf:
                perf.send_signal(signal.SIGINT)
                counted = perf.communicate()[1]
            if recorder:
                recorder.send_signal(signal.SIGINT)
                recorder.wait()
        seconds = time.perf_counter() - started
        server = backend_cpu_seconds(pid) - server
        after = resource.getrusage(resource.RUSAGE_SELF)
        client = after.ru_utime - client.ru_utime + after.ru_stime - client.ru_stime
        n = summary.enquiries
        print(f"{n:,} enquiries ({summary.events:,} events) in {seconds:.1f} s: {n / seconds:,.0f} enquiries/s on one job")
        print(f"CPU per enquiry: server {server / n * 1000:.2f} ms, client {client / n * 1000:.2f} ms")
        if perf and (line := next((x for x in counted.splitlines() if ",instructions" in x), None)):
            value = line.split(",")[0]
            if value.isdigit():
                print(f"server instructions per enquiry: {int(value) / n / 1e6:.3f} million (perf stat)")
        print("\nstatements (kind: count, rows per statement)")
        for query, (count, rows) in sorted(statements.items(), key=lambda kv: -kv[1][1]):
            print(f"  {count:7,} x {rows / count:6.1f}  {query}")
        print("\ntrigger and helper functions (calls, total s, self s)")
        # This session's counts reach the view when it next goes idle, at most once a second
        # otherwise: a run shorter than that would show none of them.
        conn.execute("select pg_stat_force_next_flush()")
        for name, calls, total, own in conn.execute(
                "select funcname, calls, total_time / 1000, self_time / 1000 from pg_stat_user_functions "
                "order by total_time desc limit 12"):
            print(f"  {calls:9,} {total:7.2f} {own:7.2f}  {name}")


if __name__ == "__main__":
    main()
