"""The benchmark commands run end to end (tiny sizes) and produce what their docs promise.
Performance is measured by the commands, never asserted here."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("enquiries-lab", path=str(Path(sys.executable).parent))
COLUMNS = {"variant", "pattern", "tenant_size", "rows", "median_ms", "p95_ms", "ratio_to_baseline", "shipped"}


def run(*args: str, dsn: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args, "--dsn", dsn], capture_output=True, text=True, timeout=600)


@pytest.mark.req("REQ-PERF-1")
def test_bench_rls_quick_writes_a_tidy_csv_with_every_variant_pattern_and_tenant_size(admin_dsn, tmp_path):
    out = tmp_path / "rls.csv"
    proc = run("bench", "rls", "--quick", "--rows", "3000", "--repeats", "3", "--clients", "2", "--seconds", "1",
               "--out", str(out), dsn=admin_dsn)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert COLUMNS <= set(rows[0])
    from enquiries_lab.bench.rls import PATTERNS, QUICK_VARIANTS

    assert {(r["variant"], r["pattern"], r["tenant_size"]) for r in rows} == {
        (v, p, s) for v in QUICK_VARIANTS for p in PATTERNS for s in ("large", "small")}
    assert {r["variant"] for r in rows if r["shipped"] == "True"} == {"shipped"}
    assert all(float(r["ratio_to_baseline"]) == 1.0 for r in rows if r["variant"] == "baseline")
    # every round measured every variant of a cell, and the spread brackets the median ratio
    assert all(int(r["runs"]) == 3 and float(r["ratio_p25"]) <= float(r["ratio_to_baseline"]) <= float(r["ratio_p75"])
               for r in rows)
    assert "concurrency shipped" in proc.stdout and "p95" in proc.stdout
    assert "spread" in proc.stdout and any(w in proc.stdout for w in (": meets", ": misses", ": inconclusive"))
    # and the verdict against the explicit filter under the same policies, one ratio per read cell
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RLS alone against the explicit filter"))
    assert line.count("x,") + 1 == len([p for p in PATTERNS if p != "status_update"]) * 2, line
    assert proc.stdout.count("target <= 1.10x:") == 2
    assert (tmp_path / "rls.json").exists()


def test_bench_rls_dataset_times_the_shipped_patterns_on_generated_data(admin_dsn, tmp_path):
    from dbtools import _new_name, drop_db

    from enquiries_lab.config import with_database
    from enquiries_lab.database import ensure_database

    name = _new_name("benchds")
    dsn = with_database(admin_dsn, name)
    ensure_database(dsn)   # a lab database, as `reset` makes it: generate writes only into one
    try:
        import psycopg

        from enquiries_lab.generator import Params, generate
        from enquiries_lab import migrations, planner_stats

        with psycopg.connect(dsn, autocommit=True) as conn:   # the library leaves statistics to the caller
            migrations.migrate(conn)
            generate(conn, Params(enquiries=300, departments=2))
            assert "tenant.enquiries" in planner_stats.never_analysed(conn)
        proc = run("bench", "rls", "--dataset", "--repeats", "3", dsn=dsn)
        assert proc.returncode == 0, proc.stderr
        assert "no planner statistics for" in proc.stdout and "analysed them first" in proc.stdout, proc.stdout
        with psycopg.connect(dsn) as conn:
            assert planner_stats.never_analysed(conn) == []
            entries = conn.execute("select count(*) from audit.entries").fetchone()[0]
        assert f", ~{entries:,} audit entries" in proc.stdout, proc.stdout   # analysed: the estimate is the count
        from enquiries_lab.bench.patterns import PATTERN_NAMES

        for pattern in PATTERN_NAMES:
            assert proc.stdout.count(f"\n{pattern} ") == 2, proc.stdout   # largest and smallest department
        assert "record history (RLS alone" in proc.stdout and "p95" in proc.stdout
        from enquiries_lab.bench.patterns import SERVER_TIMED

        for pattern in SERVER_TIMED:   # the lookups timed by the server, both forms, both departments
            assert proc.stdout.count(f"server-side {pattern} ") == 2, proc.stdout
        assert proc.stdout.count("RLS alone 0.") + proc.stdout.count("RLS alone 1.") >= 2 * len(SERVER_TIMED)
    finally:
        drop_db(admin_dsn, name)


def test_bench_generate_reports_the_copy_limit_the_generator_and_the_naive_client(admin_dsn):
    proc = run("bench", "generate", "-n", "200", "--naive-enquiries", "20", "-d", "2", "-j", "1", "--copy-runs", "3",
               dsn=admin_dsn)
    assert proc.returncode == 0, proc.stderr
    for label in ("COPY of the same rows (limit)", "generator (1 job)", "naive client", "target <= 3x", "target >= 10x",
                  "COPY: median of 3 runs"):
        assert label in proc.stdout
    # the generator's bar is closed before the COPY runs, so its rate is the generator's own
    assert proc.stderr.index("200/200") < proc.stderr.index("sealing the audit trail") \
        < proc.stderr.index("COPY limit: the same"), proc.stderr
    # the COPY runs show their own bar, in bytes, to the end
    copy_bar = re.findall(r"COPY: 100%\|[^|]*\| ([\d.]+[kM]?)/([\d.]+[kM]?)", proc.stderr)
    assert copy_bar and copy_bar[-1][0] == copy_bar[-1][1], proc.stderr
    # the limit copies exactly what the generator wrote: the same rows, counted exactly
    rows = {line.split("  ")[0]: int(line.split()[-5].replace(",", ""))
            for line in proc.stdout.splitlines() if line.startswith(("COPY", "generator ("))}
    assert len(rows) == 2 and len(set(rows.values())) == 1 and min(rows.values()) > 200, rows
    assert "200/200" in proc.stderr   # the progress bar
    seal = re.search(r"of the generator's ([\d.]+) s, sealing the trail at the end took ([\d.]+) s; without it ([\d.]+)x COPY",
                     proc.stdout)
    # the seal is part of the run (printed to 0.1 s: 0.0 for a seal this small; the summary's
    # own figure is checked in test_generator.py)
    assert seal and 0 <= float(seal[2]) <= float(seal[1]), proc.stdout


def test_bench_audit_reports_both_write_paths_and_storage(admin_dsn):
    proc = run("bench", "audit", "-n", "300", "--rows", "50", "--repeats", "3", dsn=admin_dsn)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("batched update") == 2 and proc.stdout.count("single-row updates") == 2
    assert "full before+after images" in proc.stdout


@pytest.mark.parametrize("args,message", [
    (["bench", "rls", "--rows", "10"], "'--rows': 10 is not in the range x>=1000"),
    (["bench", "rls", "--repeats", "2"], "'--repeats': 2 is not in the range x>=3"),
    (["bench", "audit", "-n", "10"], "10 is not in the range 200<=x<=5000000"),
])
def test_bench_rejects_bad_sizes_with_one_line(admin_dsn, args, message):
    proc = run(*args, dsn=admin_dsn)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def lab_databases(admin_dsn: str) -> set[str]:
    import psycopg

    with psycopg.connect(admin_dsn) as conn:
        return {r[0] for r in conn.execute("select datname from pg_database where datname like 'enqlab%'")}


@pytest.mark.parametrize("script, args, expected", [
    ("generator_io.py", ["-n", "400", "-j", "2", "--top", "200", "--functions"],
     ["400 enquiries", "enquiries/s), 2 jobs", "WAL:", "full-page images per enquiry", "checkpoints:",
      "CPU, of", "server backends", "generator (client)", "blocks read into shared buffers", "tenant.",
      "sealing the trail", "audit.seal ", "tenant.enforce_enquiry_workflow "]),
    ("generator_slice.py", ["-n", "20000", "--batches", "1"],
     ["enquiries/s on one job", "CPU per enquiry: server", "update tenant.enquiries", "enforce_enquiry_workflow"]),
])
def test_the_generator_profiling_scripts_report_and_leave_no_database_behind(admin_dsn, script, args, expected):
    before = lab_databases(admin_dsn)
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), admin_dsn, *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    missing = [text for text in expected if text not in proc.stdout]
    assert not missing, (missing, proc.stdout)
    assert lab_databases(admin_dsn) - before == set()
