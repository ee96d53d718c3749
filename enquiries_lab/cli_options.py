"""Options shared by every command module, checked by click before a command does any work.

A DSN option that is given must be a usable DSN: `--dsn ''` used to fall through to the
environment or the embedded server without a word. A file the command writes at the end
must be writable at the start: `bench rls --out missing/x.csv` used to fail after the whole
benchmark.
"""

from __future__ import annotations

import os
from pathlib import Path

import click


def _check_dsn(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("is empty; give a DSN, or leave the option out to use the default")
    return value   # a malformed one is named by database.connect, in one line, before any work


def dsn_option(*names: str, help: str, dest: str | None = None):
    """A DSN option (default `--dsn`), refused when given empty."""
    decls = [*(names or ("--dsn",))] + ([dest] if dest else [])
    return click.option(*decls, metavar="DSN", callback=_check_dsn, help=help)


DEFAULT_DSN_HELP = "PostgreSQL DSN (default: $ENQUIRIES_LAB_DSN, then $DATABASE_URL, then the embedded server)."
SUPERUSER_DSN_HELP = ("PostgreSQL DSN of a superuser (default: $ENQUIRIES_LAB_DSN, then $DATABASE_URL, "
                      "then the embedded server).")


def _check_output(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise click.BadParameter(f"{value!r} is a directory; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise click.BadParameter(f"directory {str(parent)!r} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"{value!r} is not writable")
    return path


def output_file_option(*decls: str, help: str):
    """A file the command writes when it is done, checked before it starts."""
    return click.option(*decls, type=click.Path(), default=None, callback=_check_output, help=help)
