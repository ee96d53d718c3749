"""`enquiries-lab audit seal|verify|measure`: tamper evidence and reconstruction timings."""

from __future__ import annotations

import sys

import click

from enquiries_lab import database, migrations, seals
from enquiries_lab.cli_errors import handles_errors
from enquiries_lab.compliance_cli import dsn_option


@click.group("audit")
def audit() -> None:
    """Seal the audit trail, verify the seals, measure reconstruction."""


@audit.command("seal")
@dsn_option
@click.option("--max-entries", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="At most this many consecutive entry ids per seal (sealing is batched).")
@click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Seconds to wait for transactions that were writing when sealing started.")
@handles_errors
def seal(dsn: str | None, max_entries: int, wait_s: float) -> None:
    """Seal every unsealed audit entry (chained SHA-256 seals); prints the head to keep elsewhere."""
    import time

    t = database.target(dsn)
    with database.connect(t.dsn, autocommit=True) as conn:
        migrations.require_schema(conn, t.display)
        started = time.perf_counter()
        new = seals.seal(conn, max_entries=max_entries, wait_s=wait_s)
        seconds = time.perf_counter() - started
        head = seals.head(conn)
    for s in new:
        click.echo(f"sealed entries {s.first_entry_id}-{s.last_entry_id} ({s.entry_count:,}) as seal {s.seal_id}")
    entries = sum(s.entry_count for s in new)
    click.echo(f"{len(new)} seal(s), {entries:,} entries in {seconds:.2f} s" if new else "nothing to seal")
    if head:
        click.echo(f"head: {head.anchor}")
        click.echo("keep the head outside the database; `audit verify --anchor` checks it later")


@audit.command("verify")
@dsn_option
@click.option("--anchor", "anchors", multiple=True, metavar="ID:HASH",
              help="A seal hash kept outside the database (as `audit seal` prints it); repeatable.")
@click.option("--from-seal", type=click.IntRange(min=1), default=1, show_default=True,
              help="Verify from this seal on, trusting the stored seal before it.")
@handles_errors
def verify(dsn: str | None, anchors: tuple[str, ...], from_seal: int) -> None:
    """Recompute the seals from the stored entries: one line per problem, exit 1 on tampering."""
    for a in anchors:
        seals.parse_anchor(a)  # a usage error before connecting
    t = database.target(dsn)
    with database.connect(t.dsn, autocommit=True) as conn:
        migrations.require_schema(conn, t.display)
        report = seals.verify(conn, anchors=anchors, from_seal=from_seal)
    for p in report.tampering:
        click.echo(p.line())
    for p in report.unsealed:
        click.echo(p.line())
    verdict = (f"TAMPERED: {len(report.tampering)} problem(s)" if report.tampered else "intact")
    click.echo(f"{verdict}: {report.seals} seal(s) over {report.sealed_entries:,} entries verified in {report.seconds:.2f} s")
    if report.tampered:
        sys.exit(1)


@audit.command("measure")
@dsn_option
@click.option("--table", default="enquiries", show_default=True, help="The table to reconstruct.")
@click.option("--samples", type=click.IntRange(min=1), default=50, show_default=True,
              help="Records for the one-record timings.")
@click.option("--seal/--no-seal", "with_seal", default=False, show_default=True,
              help="Also time sealing whatever is unsealed (writes seals).")
@click.option("--write-path", is_flag=True,
              help="Also time audited inserts with and without the seals' BRIN index (rolled back; locks the trail meanwhile).")
@handles_errors
def measure(dsn: str | None, table: str, samples: int, with_seal: bool, write_path: bool) -> None:
    """Time reconstruction (one record, a department snapshot, diffs, replay) and verification
    on this database's data, as an auditor of its largest department (docs/audit.md)."""
    from enquiries_lab import audit_timings

    t = database.target(dsn)
    with database.connect(t.dsn, autocommit=True) as conn:
        migrations.require_schema(conn, t.display)
        figures = audit_timings.measure(conn, table=table, samples=samples, with_seal=with_seal)
        if write_path:
            figures += audit_timings.write_path(conn)
    click.echo(audit_timings.report(figures))
