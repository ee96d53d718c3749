"""`enquiries-lab notebooks list|clean`: the throwaway databases notebooks left behind.

A notebook's throwaway database (`enqlab_nb_*`, marked as the lab's) is dropped when the
notebook closes it or its kernel exits; only a kernel killed outright leaves one. These
commands find those by prefix and marker, so they never touch a database the lab did not
make for a notebook.
"""

from __future__ import annotations

import click
from psycopg import sql

from enquiries_lab import cli_options, database
from enquiries_lab.cli_errors import handles_errors
from enquiries_lab.config import with_database

dsn_option = cli_options.dsn_option(
    help="Any DSN on the server (default: $ENQUIRIES_LAB_DSN, then $DATABASE_URL, then the embedded server).")


@click.group("notebooks")
def notebooks() -> None:
    """The notebooks' throwaway databases (enqlab_nb_*)."""


@notebooks.command("list")
@dsn_option
@handles_errors
def list_(dsn: str | None) -> None:
    """List throwaway notebook databases with their size and connected sessions."""
    from enquiries_lab.notebook import leftovers

    found = leftovers(database.target(dsn).dsn)
    if found.empty:
        click.echo("no notebook databases")
        return
    for row in found.itertuples():
        state = f"in use ({row.sessions} sessions)" if row.sessions else "left behind"
        click.echo(f"{row.database:<40} {row.size:>10}  {state}")


@notebooks.command("clean")
@dsn_option
@click.option("--all", "everything", is_flag=True, help="Also drop databases a running notebook is connected to.")
@handles_errors
def clean(dsn: str | None, everything: bool) -> None:
    """Drop throwaway notebook databases nobody is connected to (--all: every one)."""
    from enquiries_lab.notebook import leftovers

    admin = with_database(database.target(dsn).dsn, "postgres")
    found = leftovers(admin)
    dropped = kept = 0
    with database.connect(admin, autocommit=True) as conn:
        for row in found.itertuples():
            if row.sessions and not everything:
                click.echo(f"kept {row.database}: in use ({row.sessions} sessions; --all drops it)")
                kept += 1
                continue
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(row.database)))
            click.echo(f"dropped {row.database}")
            dropped += 1
    click.echo(f"{dropped} dropped, {kept} kept")
