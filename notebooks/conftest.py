"""Notebook runs (nbval) get a server and clean up after themselves.

The notebooks create their own databases through `enquiries_lab.notebook.open_lab`, on
the server in ENQUIRIES_LAB_DSN. Under the test suite that is the server under test:
ENQUIRIES_LAB_TEST_DSN, or else a private embedded PostgreSQL 18 started here. This is
module-level code so it runs before nbval starts any kernel (kernels inherit the
environment), and every database the notebooks leave behind is dropped at the end.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from enquiries_lab.config import with_database
from enquiries_lab.notebook import ENV_PREFIX

if os.environ.get("ENQUIRIES_LAB_TEST_DSN"):
    _ADMIN = with_database(os.environ["ENQUIRIES_LAB_TEST_DSN"], "postgres")
else:
    from enquiries_lab.embedded import EmbeddedServer

    _home = Path(tempfile.mkdtemp(prefix="enqlab-nb-"))
    _home.chmod(0o755)
    _server = EmbeddedServer(_home, durable=False)   # a throwaway: no fsync
    _server.start()
    _ADMIN = _server.dsn("postgres")

    @atexit.register
    def _stop() -> None:
        _server.destroy()
        shutil.rmtree(_home, ignore_errors=True)

os.environ["ENQUIRIES_LAB_DSN"] = _ADMIN
os.environ[ENV_PREFIX] = f"enqlab_nbt{uuid.uuid4().hex[:4]}"


def pytest_sessionfinish(session, exitstatus) -> None:
    with psycopg.connect(_ADMIN, autocommit=True) as conn:
        for (name,) in conn.execute("select datname from pg_database where datname like %s",
                                    [os.environ[ENV_PREFIX] + "%"]).fetchall():
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
