"""`enquiries-lab bench load` (also `python -m enquiries_lab.bench.load`): the concurrent workload of
enquiries_lab.bench.load in a throwaway database, with its checks, throughput and latency."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import click

from enquiries_lab import cli_options
from enquiries_lab.cli_errors import handles_errors
from enquiries_lab.errors import LabError


@click.command("load")
@cli_options.dsn_option(help="PostgreSQL DSN of a superuser (default: $ENQUIRIES_LAB_DSN, then $DATABASE_URL, then the embedded "
                   "server); the run uses a throwaway database on that server.")
@click.option("--clients", "-c", type=click.IntRange(1, 64), default=4, show_default=True, help="Client processes.")
@click.option("--duration", type=click.FloatRange(1, 3600), default=30.0, show_default=True, help="Seconds of load.")
@click.option("--max-ops", type=click.IntRange(1, 100_000_000), default=1_000_000, show_default=True,
              help="Operations per client at most (the run also stops at --duration).")
@click.option("--enquiries", "-n", type=click.IntRange(50, 5_000_000), default=2000, show_default=True,
              help="Size of the generated history the clients work beside.")
@click.option("--departments", "-d", type=click.IntRange(2, 20), default=3, show_default=True)
@click.option("--kill-every", type=click.FloatRange(0.1, 600), default=None, metavar="SECONDS",
              help="Terminate a random application backend about this often (fault run).")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the database afterwards (its name is printed).")
@cli_options.output_file_option("--json", "json_out", help="Write the result as JSON here.")
@handles_errors
def load(dsn, clients, duration, max_ops, enquiries, departments, kill_every, seed, keep, json_out) -> None:
    """Concurrent casework load (reads, transitions, races) with isolation and audit checks."""
    from enquiries_lab import database, migrations
    from enquiries_lab.bench import load as engine
    from enquiries_lab.config import with_database
    from enquiries_lab.generator import Params, generate

    t = database.target(dsn)
    name = f"enqlab_bench_load_{uuid.uuid4().hex[:8]}"
    lab = with_database(t.dsn, name)
    database.ensure_database(lab)
    try:
        with database.connect(lab, autocommit=True) as conn:
            migrations.migrate(conn)
            summary = generate(conn, Params(enquiries=enquiries, departments=departments, seed=seed, batch_size=500))
        click.echo(f"server: {t.display}; database {name}; history: {summary.enquiries:,} enquiries, "
                   f"{summary.events:,} events")
        plan = engine.prepare(lab, seed=seed)
        result = engine.run(lab, plan, clients=clients, duration=duration, max_ops=max_ops, seed=seed,
                            kill_every=kill_every)
        click.echo(engine.report(result))
        if json_out:
            Path(json_out).write_text(json.dumps(engine.as_dict(result), indent=2, default=str))
            click.echo(f"wrote {json_out}")
        if not result.ok:
            failed = ", ".join(k for k, v in result.problems.items() if v)
            raise LabError(f"load checks failed: {failed} (see above)")
    finally:
        if keep:
            click.echo(f"kept database {name}")
        else:
            database.drop_database(lab)
