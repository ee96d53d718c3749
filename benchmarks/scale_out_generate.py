"""Generation on a Citus cluster against single-node PostgreSQL, side by side in one run.

Each round makes a fresh lab database on both targets (on the cluster: on every node, the
workers joined, migrated through the coordinator), runs `enquiries-lab generate` into each,
in alternating order, and drops them. Prints each round's seconds and, over the rounds, the
median per target and the median of the per-round ratios (cluster / single node).

    python benchmarks/scale_out_generate.py \\
        --single postgresql://postgres@127.0.0.1:5432/postgres \\
        --coordinator postgresql://postgres@127.0.0.1:9700/postgres \\
        --workers postgresql://postgres@127.0.0.1:9701/postgres,postgresql://postgres@127.0.0.1:9702/postgres \\
        -n 2000 -d 3 --rounds 3

Install Citus from its own packages (docs/scale-out.md); this script only drives it.
Latest figures: docs/scale-out.md ("Figures").
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid

import psycopg
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.database import LAB_MARKER


def _admin(dsn: str, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(with_database(dsn, database), autocommit=True)


def make_database(name: str, coordinator: str, workers: list[str]) -> str:
    """A migrated lab database `name`: on one server when `workers` is empty, else on every node."""
    for node in [coordinator, *workers]:
        with _admin(node) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        if workers:
            with _admin(node, name) as conn:
                conn.execute("create extension citus")
    with _admin(coordinator, name) as conn:
        if workers:
            conn.execute("select citus_set_coordinator_host(%s, %s)", [conn.info.host, int(conn.info.port)])
            for w in workers:
                with _admin(w) as wc:
                    conn.execute("select citus_add_node(%s, %s)", [wc.info.host, int(wc.info.port)])
        conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(name), sql.Literal(LAB_MARKER)))
        migrations.migrate(conn)
    return with_database(coordinator, name)


def drop_database(name: str, coordinator: str, workers: list[str]) -> None:
    for node in reversed([coordinator, *workers]):
        with _admin(node) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def generate_seconds(dsn: str, n: int, departments: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "enquiries_lab.cli", "generate", "-n", str(n), "-d", str(departments),
                           "-j", "1", "--quiet", "--no-digest", "--dsn", dsn], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"generate failed on {dsn}: {done.stderr.strip()}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", required=True, help="admin DSN of a single PostgreSQL server")
    ap.add_argument("--coordinator", required=True, help="admin DSN of the Citus coordinator")
    ap.add_argument("--workers", required=True, help="admin DSNs of the workers, comma-separated")
    ap.add_argument("-n", type=int, default=2000, help="enquiries per generation")
    ap.add_argument("-d", type=int, default=3, help="departments")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    targets = {"single": (args.single, []), "cluster": (args.coordinator, workers)}
    times: dict[str, list[float]] = {"single": [], "cluster": []}
    for r in range(args.rounds):
        order = ["single", "cluster"] if r % 2 == 0 else ["cluster", "single"]
        for target in order:
            admin, nodes = targets[target]
            name = f"enqlab_scaleout_{uuid.uuid4().hex[:6]}"
            try:
                dsn = make_database(name, admin, nodes)
                times[target].append(generate_seconds(dsn, args.n, args.d))
            finally:
                drop_database(name, admin, nodes)
        print(f"round {r + 1}: single {times['single'][-1]:.1f} s, cluster {times['cluster'][-1]:.1f} s", flush=True)
    ratios = [c / s for s, c in zip(times["single"], times["cluster"])]
    for target in ("single", "cluster"):
        med = statistics.median(times[target])
        print(f"{target:8} median {med:.1f} s ({args.n / med:,.0f} enquiries/s)")
    print(f"cluster / single: median {statistics.median(ratios):.2f}x "
          f"(rounds: {', '.join(f'{x:.2f}x' for x in ratios)})")


if __name__ == "__main__":
    main()
