"""Expected failures as one-line CLI errors, for every command module (cli.py, the bench and
compliance commands), without importing cli.py, which imports them."""

from __future__ import annotations

import functools

import click
import psycopg

from enquiries_lab.errors import LabError, describe_db_error


def handles_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except LabError as err:
            raise click.ClickException(str(err)) from None
        except psycopg.Error as err:
            raise click.ClickException(describe_db_error(err)) from None

    return wrapper
