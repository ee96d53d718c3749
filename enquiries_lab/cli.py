"""The `enquiries-lab` command: a thin layer over the library.

Expected failures raise LabError and are printed as one line (`error: ...`) with exit
status 1 (2 for usage errors, as click does); nothing else prints a traceback unless
ENQUIRIES_LAB_DEBUG is set.
"""

from __future__ import annotations

import os
import sys

import click

from enquiries_lab import cli_options, database, migrations, planner_stats
from enquiries_lab.cli_errors import handles_errors
from enquiries_lab.errors import LabError

dsn_option = cli_options.dsn_option(help=cli_options.DEFAULT_DSN_HELP)


# Checked by click, before the command migrates or shows progress (generator.generate's bounds).
JOBS = click.IntRange(1, 32)  # generator.run.MAX_JOBS; the generator is imported only by the commands that use it


def _target(dsn: str | None) -> database.Target:
    return database.target(dsn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="enquiries-lab")
def cli() -> None:
    """enquiries-lab: multi-tenant, audit-heavy PostgreSQL workbench."""


DEMO_PARAMS = dict(enquiries=5000, departments=6, seed=1)


@cli.command()
@dsn_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handles_errors
def demo(dsn: str | None, quiet: bool) -> None:
    """Bring the database up, migrate it, generate a modest dataset and print what is there."""
    from enquiries_lab import summary
    from enquiries_lab.generator import Params
    from enquiries_lab.generator import generate as run

    t = _target(dsn)
    database.require_lab_database(t.dsn, "demo")
    click.echo(f"database: {database.connect_string(t) if t.embedded else t.display} "
               f"({'embedded PostgreSQL, started on demand' if t.embedded else 'from ' + t.source})")
    with database.connect(t.dsn, autocommit=True) as conn:
        applied = migrations.migrate(conn)
        click.echo(f"migrations: {len(applied)} applied now, {len(migrations.discover())} in total")
        if not conn.execute("select exists (select 1 from tenant.departments)").fetchone()[0]:
            params = Params(**DEMO_PARAMS)
            s = _run_with_progress(conn, params, run, quiet, 2, t.dsn)
            planner_stats.analyse(conn)   # the notebooks' plans are made for the data there is
            click.echo(f"generated {s.enquiries:,} enquiries through the workflow ({s.events:,} events) in {s.seconds:.1f} s")
        click.echo(summary.render(conn))
    click.echo("")
    click.echo("Next: open the notebooks with   .venv/bin/jupyter lab notebooks/")
    click.echo(f"      (they find this database themselves; psql: psql \"{database.connect_string(t)}\")")


@cli.command()
@dsn_option
@click.option("--status", "show_status", is_flag=True, help="List migrations and whether each is applied.")
@handles_errors
def migrate(dsn: str | None, show_status: bool) -> None:
    """Apply pending migrations from sql/ (each in its own transaction)."""
    t = _target(dsn)
    with database.connect(t.dsn, autocommit=True) as conn:
        if show_status:
            states = migrations.status(conn)
            for s in states:
                when = s.applied_at.strftime("%Y-%m-%d %H:%M:%S") if s.applied_at else ""
                click.echo(f"{s.version:03d}  {s.name:<40} {s.state:<8} {when}")
            pending = sum(s.state == "pending" for s in states)
            bad = [s for s in states if s.state in ("changed", "missing")]
            click.echo(f"{len(states) - pending} applied, {pending} pending" + (f", {len(bad)} changed or missing" if bad else ""))
            for profile, state in migrations.profile_states(conn).items():
                click.echo(f"profile {profile}: {state}")
            if bad:
                sys.exit(1)
            return
        applied = migrations.migrate(
            conn, progress=lambda m: click.echo(f"applied {m.filename}"),
            settings_removed=lambda role, db, settings: click.echo(
                f"removed the defaults role {role} had set for itself "
                f"({'every database' if db is None else 'database ' + db}): {', '.join(settings)}"))
        click.echo(f"{len(applied)} migration(s) applied to {t.display}" if applied else f"{t.display} is up to date")


@cli.command()
@dsn_option
@click.option("--yes", "-y", is_flag=True, help="Drop without asking (needed when there is no terminal to ask on).")
@click.option("--force", is_flag=True, help="Drop the database even if enquiries-lab did not create it.")
@handles_errors
def reset(dsn: str | None, yes: bool, force: bool) -> None:
    """Drop and recreate the lab database (empty; run `migrate` or `demo` next). Asks first."""
    t = _target(dsn)
    what = database.reset_target(t.dsn, force=force)
    if what is not None and not yes:
        if not sys.stdin.isatty():
            raise LabError(f"reset would drop {what}; pass --yes to confirm (there is no terminal to ask on)")
        if not click.confirm(f"drop {what} and create it empty?", default=False):
            raise LabError("nothing dropped")
    database.reset_database(t.dsn, force=force)
    click.echo(f"reset {t.display}: empty database created")


def _date(value: str | None, default):
    from datetime import datetime, timezone

    if value is None:
        return default
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# The digest reads every row and audit entry: ~4 minutes at a million enquiries.
DIGEST_BY_DEFAULT_UP_TO = 200_000


@cli.command()
@dsn_option
@click.option("--enquiries", "-n", type=int, default=10_000, show_default=True, help="How many enquiries.")
@click.option("--departments", "-d", type=int, default=6, show_default=True, help="How many departments (1-20).")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed and parameters, same data.")
@click.option("--start", help="First arrival date (default 2018-07-01).")
@click.option("--end", help="The simulation clock: nothing happens after it (default 2026-06-30).")
@click.option("--skew", type=float, default=1.1, show_default=True, help="Department size skew (0 = even, Zipf exponent).")
@click.option("--batch-size", type=int, default=0, show_default="0: automatic, ~300 per caseworker, 2000-20000",
              help="Enquiries per batch, each round of a batch one transaction (rounded up to a multiple of 50).")
@click.option("--jobs", "-j", type=JOBS, default=2, show_default=True,
              help="Worker processes (the data is the same for any number).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--digest/--no-digest", default=None,
              help=f"Print the dataset digest (default: up to {DIGEST_BY_DEFAULT_UP_TO:,} enquiries; ~4 min per million).")
@handles_errors
def generate(dsn, enquiries, departments, seed, start, end, skew, batch_size, jobs, quiet, digest) -> None:
    """Fill the database with years of casework, every row through the real workflow.

    Interrupted runs keep every committed batch (with its audit); run the same command again
    to resume. On a database this command filled, more --enquiries or a later --end grows the
    dataset (docs/generator.md); the database must be one the lab created.
    """
    from enquiries_lab.generator import Params, dataset_digest
    from enquiries_lab.generator import generate as run
    from enquiries_lab.generator.calendar import DEFAULT_END, DEFAULT_START

    params = Params(enquiries, departments, seed, _date(start, DEFAULT_START), _date(end, DEFAULT_END), skew, batch_size)
    params.validate()
    t = _target(dsn)
    database.require_lab_database(t.dsn, "generate")
    with database.connect(t.dsn, autocommit=True) as conn:
        migrations.migrate(conn)
        summary = _run_with_progress(conn, params, run, quiet, jobs, t.dsn)
        click.echo(f"generated {summary.enquiries:,} enquiries ({summary.events:,} workflow events) in "
                   f"{summary.batches} batches, {summary.seconds:.1f} s ({summary.rate:,.0f} enquiries/s, "
                   f"of which sealing the trail {summary.seal_seconds:.1f} s)"
                   + (f"; {summary.skipped_batches} batches already there (resumed)" if summary.skipped_batches else ""))
        click.echo(f"planner statistics: analysed in {planner_stats.analyse(conn):.1f} s")
        click.echo(f"departments: " + ", ".join(f"{c} {n:,}" for c, n in summary.departments))
        if digest or (digest is None and enquiries <= DIGEST_BY_DEFAULT_UP_TO):
            click.echo(f"dataset digest: {dataset_digest(conn)}")
        else:
            click.echo("dataset digest: not computed (--digest computes it: it reads every row and audit entry)")


def _run_with_progress(conn, params, run, quiet, jobs, dsn):
    from tqdm import tqdm

    with tqdm(total=params.enquiries, unit="enq", disable=quiet, dynamic_ncols=True, desc="generating") as bar:
        events = 0

        def progress(n: int, e: int) -> None:
            nonlocal events
            events += e
            bar.update(n)
            bar.set_postfix(events=f"{events:,}", refresh=False)

        def stage(what: str) -> None:   # the batches are done: the bar keeps their rate
            bar.close()
            if not quiet:
                click.echo(what, err=True)

        return run(conn, params, progress=progress, jobs=jobs, dsn=dsn, stage=stage)


@cli.group()
def db() -> None:
    """Manage the embedded PostgreSQL 18 server (the default database)."""


@db.command("start")
@handles_errors
def db_start() -> None:
    """Start the embedded server (initialising it on first use)."""
    from enquiries_lab.embedded import EmbeddedServer

    server = EmbeddedServer()
    st = server.start()
    database.ensure_database(server.dsn())
    click.echo(f"running (pid {st.pid}), data in {st.data_dir}; {st.version}")


@db.command("stop")
@handles_errors
def db_stop() -> None:
    """Stop the embedded server."""
    from enquiries_lab.embedded import EmbeddedServer

    click.echo("stopped" if EmbeddedServer().stop() else "not running")


@db.command("status")
@handles_errors
def db_status() -> None:
    """Say whether the embedded server runs, and where its data lives."""
    from enquiries_lab.embedded import EmbeddedServer

    st = EmbeddedServer().status()
    state = f"running (pid {st.pid})" if st.running else "stopped"
    click.echo(f"{state}; data directory {st.data_dir}; {st.version}")
    if not st.running:
        sys.exit(3)  # like pg_ctl status


@db.command("url")
@dsn_option
@handles_errors
def db_url(dsn: str | None) -> None:
    """Print the DSN the lab would use (starting the embedded server if it is the one)."""
    click.echo(database.connect_string(_target(dsn)))


@cli.group()
def bench() -> None:
    """Benchmarks, measured side by side in one run (see docs/benchmarks.md)."""


@bench.command("generate")
@dsn_option
@click.option("--enquiries", "-n", type=int, default=20_000, show_default=True, help="Size of the generated dataset.")
@click.option("--naive-enquiries", type=click.IntRange(min=0), default=300, show_default=True,
              help="Sample for the naive client (0 to skip).")
@click.option("--departments", "-d", type=int, default=6, show_default=True)
@click.option("--jobs", "-j", type=JOBS, default=2, show_default=True, help="Generator worker processes.")
@click.option("--copy-runs", type=click.IntRange(min=1), default=3, show_default=True,
              help="COPY limit runs; the median is reported.")
@handles_errors
def bench_generate(dsn, enquiries, naive_enquiries, departments, jobs, copy_runs) -> None:
    """Generator vs the COPY limit vs a naive client, in throwaway databases on the server."""
    from tqdm import tqdm

    from enquiries_lab.bench import generate as bench_gen
    from enquiries_lab.config import with_database
    from enquiries_lab.generator import Params

    Params(enquiries=enquiries, departments=departments).validate()   # before any database is made
    t = _target(dsn)
    click.echo(f"server: {t.display}; {enquiries:,} enquiries, {departments} departments, {jobs} job(s)")
    bar = tqdm(total=enquiries, unit="enq", dynamic_ncols=True, desc="generator")
    copying = None

    def stage(what: str) -> None:   # a measurement is done: its bar stops at its own rate
        bar.close()
        if copying is not None:
            copying.close()
        click.echo(what, err=True)

    def copied(done: int, total: int) -> None:   # bytes loaded by the COPY runs, all runs together
        nonlocal copying
        if copying is None:
            copying = tqdm(total=total, unit="B", unit_scale=True, dynamic_ncols=True, desc="COPY")
        copying.update(done - copying.n)

    try:
        results = bench_gen.run(with_database(t.dsn, "postgres"), enquiries, naive_enquiries, departments, jobs,
                                progress=lambda n, e: bar.update(n), copy_runs=copy_runs, stage=stage,
                                copied=copied)
    finally:
        bar.close()
        if copying is not None:
            copying.close()
    click.echo(bench_gen.report(results))


@bench.command("rls")
@dsn_option
@click.option("--quick", is_flag=True, help="A small run for CI and smoke checks (100k rows, 15 interleaved rounds, "
                                            "the baseline, the shipped design with and without the explicit filter, "
                                            "the design before sql/076 and two alternatives).")
@click.option("--rows", type=click.IntRange(min=1000), default=None,
              help="Enquiries in the synthetic table (default 1,000,000; --quick 100,000).")
@click.option("--repeats", type=click.IntRange(min=3), default=None,
              help="Interleaved rounds, one timed run per cell each (default 30; --quick 15).")
@cli_options.output_file_option("--out", help="Write the tidy results as CSV here (and the settings and plans as JSON beside it).")
@click.option("--clients", type=click.IntRange(0, 64), default=None,
              help="Concurrent client processes for the throughput run (default 4; --quick 2; 0 = skip).")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True, max=3600), default=None,
              help="Duration of each throughput run (default 15; --quick 3).")
@click.option("--dataset", is_flag=True, help="Instead: the application's own queries on the generated data at --dsn, "
                                              "RLS alone against the explicit filter (and the record history p95).")
@handles_errors
def bench_rls(dsn, quick, rows, repeats, out, clients, seconds, dataset) -> None:
    """RLS policy designs and index strategies against the explicit-filter baseline."""
    from pathlib import Path

    from tqdm import tqdm

    from enquiries_lab.bench import rls
    from enquiries_lab.config import with_database

    if dataset:
        from enquiries_lab.bench import patterns

        repeats = repeats or (7 if quick else 15)
        t = _target(dsn)
        with tqdm(total=repeats, unit="round", desc="measuring") as bar:
            cells, meta = patterns.run(t.dsn, repeats=repeats, progress=lambda done, total: bar.update(1))
        click.echo(patterns.report(cells, meta))
        return

    rows = rows or (100_000 if quick else 1_000_000)
    repeats = repeats or (15 if quick else 30)
    clients = (2 if quick else 4) if clients is None else clients
    seconds = seconds or (3.0 if quick else 15.0)
    t = _target(dsn)
    with tqdm(total=repeats, unit="round", desc="measuring") as bar:
        cells, meta = rls.run(with_database(t.dsn, "postgres"), rows=rows, repeats=repeats,
                              progress=lambda done, total: bar.update(1), clients=clients, seconds=seconds,
                              variants=rls.QUICK_VARIANTS if quick else None)
    click.echo(rls.report(cells, meta))
    if out:
        rls.write_csv(cells, Path(out))
        rls.save_meta(meta, Path(out).with_suffix(".json"))
        click.echo(f"wrote {out} and {Path(out).with_suffix('.json')} (settings and EXPLAIN ANALYZE plans)")


@bench.command("audit")
@dsn_option
@click.option("--enquiries", "-n", type=click.IntRange(200, 5_000_000), default=20_000, show_default=True,
              help="Size of the generated dataset.")
@click.option("--rows", type=click.IntRange(min=1), default=2000, show_default=True, help="Rows per batched update.")
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True)
@handles_errors
def bench_audit(dsn, enquiries, rows, repeats) -> None:
    """Write-path cost and storage of the audit trail, with and without its triggers."""
    from enquiries_lab.bench import audit as bench_audit_mod
    from enquiries_lab.config import with_database

    t = _target(dsn)
    cells, meta = bench_audit_mod.run(with_database(t.dsn, "postgres"), enquiries=enquiries, rows=rows, repeats=repeats)
    click.echo(bench_audit_mod.report(cells, meta))


# -- commands that live in their own modules register here -----------------------------
from enquiries_lab.lint.cli import lint as _lint; cli.add_command(_lint)  # noqa: E402,E702
from enquiries_lab.compliance_cli import check as _check; cli.add_command(_check)  # noqa: E402,E702
from enquiries_lab.audit_cli import audit as _audit; cli.add_command(_audit)  # noqa: E402,E702
from enquiries_lab.bench.load_cli import load as _load; bench.add_command(_load)  # noqa: E402,E702
from enquiries_lab.notebooks_cli import notebooks as _notebooks; cli.add_command(_notebooks)  # noqa: E402,E702


def main() -> None:
    try:
        cli(standalone_mode=True)
    except Exception:
        if os.environ.get("ENQUIRIES_LAB_DEBUG"):
            raise
        exc = sys.exc_info()[1]
        click.echo(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())} "
                   f"(set ENQUIRIES_LAB_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
