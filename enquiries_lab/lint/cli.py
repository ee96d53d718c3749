"""`enquiries-lab lint`: the migration validator on the command line (and in the .kiro hook)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import psycopg

from enquiries_lab import cli_options
from enquiries_lab.errors import LabError, describe_db_error
from enquiries_lab.lint.engine import Report, lint_database, lint_migrations, load_rules
from enquiries_lab.lint.shadow import ENV_TEST_DSN, default_admin_dsn


def render_text(report: Report) -> str:
    lines: list[str] = []
    for f in report.findings:
        where = f"{f.file}:{f.line}" if f.file else f.object
        lines.append(f"{where}: {f.rule}: {f.message}")
        lines.append(f"    fix: {f.fix}")
    lines += [f"skipped {s}" for s in report.skipped]
    what = report.linted[0] if len(report.linted) == 1 else f"{len(report.linted)} files"
    acked = f", {len(report.acknowledged)} acknowledged" if report.acknowledged else ""
    if report.findings:
        lines.append(f"{len(report.findings)} finding(s) in {what} ({report.rules} rules{acked})")
    elif report.linted:
        lines.append(f"clean: {what}, {report.rules} rules{acked}")
    return "\n".join(lines)


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Findings as text (file:line: rule: message, then the fix) or as JSON.")
@cli_options.dsn_option("--db", dest="db_dsn",
                        help="Also run the catalog rules against this live database (PATHS are then the migrations it was built from).")
@cli_options.dsn_option("--shadow-dsn",
                        help=f"Superuser DSN of a server for the throwaway database (default: ${ENV_TEST_DSN}, else a private embedded server).")
@click.option("--squawk", "with_squawk", is_flag=True,
              help="Also run squawk's lock-safety lints (for migrations that will meet populated tables).")
@click.option("--list-rules", is_flag=True, help="Print the rules and exit.")
def lint(paths: tuple[Path, ...], fmt: str, db_dsn: str | None, shadow_dsn: str | None, with_squawk: bool,
         list_rules: bool) -> None:
    """Validate migrations: each is applied to a throwaway database and the cumulative schema
    is checked for what would leak data between departments or lose audit history.

    PATHS: migration files or directories (default: the project's sql/). A file outside the
    migration directory is judged on top of the project's migrations. Exit status 1 when
    there are findings. Acknowledge one in the SQL with `-- lint: allow <rule-id>: <reason>`.
    """
    try:
        if list_rules:
            for rule in load_rules():
                click.echo(f"{rule.id:<36} {rule.title}")
            return
        admin = default_admin_dsn(shadow_dsn)
        report = lint_migrations(paths, admin_dsn=admin, squawk=with_squawk)
        if db_dsn:
            report = lint_database(db_dsn, report)
    except LabError as err:
        raise click.ClickException(" ".join(str(err).split())) from None
    except psycopg.Error as err:
        raise click.ClickException(describe_db_error(err)) from None
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_text(report))
    if report.findings:
        sys.exit(1)
