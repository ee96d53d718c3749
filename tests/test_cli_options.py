"""Options are checked before a command does any work, for every command that has them.

The commands are discovered from the click tree, so a new command with a DSN or an output
file is covered without being listed here. Each is run with the environment pointing at an
unreachable server and at an empty embedded home: a command that did not check its option
first would try to connect (exit 1, "cannot connect") or start the embedded server (files in
the home), instead of the usage error (exit 2) naming the option.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import psycopg
import pytest

from enquiries_lab.cli import cli

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nothing"


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def options(predicate) -> list[tuple[tuple[str, ...], str]]:
    return [(path, p.opts[0]) for path, cmd in commands() for p in cmd.params
            if isinstance(p, click.Option) and predicate(p)]


DSN_OPTIONS = options(lambda p: p.metavar == "DSN")
OUTPUT_OPTIONS = options(lambda p: isinstance(p.type, click.Path))


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENQUIRIES_LAB_") and k != "DATABASE_URL"}
    env.update(ENQUIRIES_LAB_DSN=UNREACHABLE, ENQUIRIES_LAB_HOME=str(home))
    return subprocess.run([str(Path(sys.executable).parent / "enquiries-lab"), *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=home.parent)


def assert_usage_error_naming(proc: subprocess.CompletedProcess[str], option: str, phrase: str, home: Path) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "cannot connect" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and f"'{option}'" in errors[0] and phrase in errors[0], proc.stderr
    assert not any(home.iterdir()), "the command started work (the embedded home is no longer empty)"


def test_the_discovery_finds_the_options_this_file_is_about() -> None:
    # Guards the predicates: if they matched nothing, the tests below would pass vacuously.
    assert (("bench", "rls"), "--out") in OUTPUT_OPTIONS and (("bench", "load"), "--json") in OUTPUT_OPTIONS
    assert (("reset",), "--dsn") in DSN_OPTIONS and (("lint",), "--shadow-dsn") in DSN_OPTIONS
    assert len(DSN_OPTIONS) >= 17


@pytest.mark.parametrize(("path", "option"), DSN_OPTIONS, ids=[" ".join(p) + " " + o for p, o in DSN_OPTIONS])
@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_an_empty_dsn_option_is_a_usage_error_before_any_work(tmp_path: Path, path, option, value) -> None:
    home = tmp_path / "home"
    home.mkdir()

    proc = run([*path, option, value], home)

    assert_usage_error_naming(proc, option, "is empty", home)


@pytest.mark.parametrize(("path", "option"), OUTPUT_OPTIONS, ids=[" ".join(p) + " " + o for p, o in OUTPUT_OPTIONS])
@pytest.mark.parametrize("case", ["missing-directory", "a-directory"])
def test_an_output_file_that_cannot_be_written_is_a_usage_error_before_any_work(tmp_path: Path, path, option,
                                                                                case) -> None:
    home = tmp_path / "home"
    home.mkdir()
    target, phrase = {"missing-directory": (tmp_path / "no-such-dir" / "out.csv", "does not exist"),
                      "a-directory": (tmp_path, "is a directory")}[case]

    proc = run([*path, option, str(target)], home)

    assert_usage_error_naming(proc, option, phrase, home)
    assert not (tmp_path / "no-such-dir").exists()


SCHEMA_COMMANDS = [["check"], ["audit", "seal"], ["audit", "verify"], ["audit", "measure"]]


@pytest.mark.parametrize("args", SCHEMA_COMMANDS, ids=[" ".join(a) for a in SCHEMA_COMMANDS])
def test_commands_that_read_the_lab_schema_refuse_an_unmigrated_database_in_one_line(tmp_path: Path, empty_db: str,
                                                                                      args) -> None:
    proc = run([*args, "--dsn", empty_db], tmp_path)

    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "holds no enquiries-lab schema" in proc.stderr and "enquiries-lab migrate" in proc.stderr
    with psycopg.connect(empty_db) as conn:   # nothing created: no schema, no seals
        assert conn.execute("select count(*) from pg_namespace where nspname in ('lab_meta', 'audit', 'tenant')"
                            ).fetchone()[0] == 0
