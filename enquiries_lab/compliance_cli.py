"""`enquiries-lab check`: the compliance checks of sql/compliance/ on the command line."""

from __future__ import annotations

import sys

import click

from enquiries_lab import cli_options, compliance, database, migrations
from enquiries_lab.cli_errors import handles_errors

dsn_option = cli_options.dsn_option(help=cli_options.SUPERUSER_DSN_HELP)


@click.command("check")
@dsn_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True,
              help="A table of what failed (and which rows), JSON with every row, or a self-contained HTML report.")
@click.option("--only", multiple=True, metavar="ID", help="Run only this check (repeatable); see --list.")
@click.option("--max-rows", type=click.IntRange(min=1), default=20, show_default=True,
              help="Offending rows shown per failing check in the table.")
@click.option("--list", "list_checks", is_flag=True, help="List the checks (id, severity, title) and exit.")
@handles_errors
def check(dsn: str | None, fmt: str, only: tuple[str, ...], max_rows: int, list_checks: bool) -> None:
    """Prove the compliance rules on a database: exit 0 if every check passes, 1 on any violation.

    Each check is one SQL file in sql/compliance/ returning the rows that break its rule.
    Needs a superuser: the checks compare every department's data.
    """
    checks = compliance.select(compliance.discover(), only)
    if list_checks:
        for c in checks:
            click.echo(f"{c.id:<36} {c.severity:<8} {c.title}")
        return
    t = database.target(dsn)
    with database.connect(t.dsn, autocommit=True) as conn:
        migrations.require_schema(conn, t.display)
        results = compliance.run(conn, checks)
        codes = compliance.department_codes(conn)
    if fmt == "json":
        click.echo(compliance.render_json(results, codes=codes))
    elif fmt == "html":
        click.echo(compliance.render_html(results, codes=codes))
    else:
        click.echo(compliance.render_table(results, codes=codes, max_rows=max_rows))
    if not compliance.all_passed(results):
        sys.exit(1)
