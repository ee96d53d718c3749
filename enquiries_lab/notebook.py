"""What the notebooks need: a fresh, seeded database of their own, and small helpers.

    lab = open_lab("tour", enquiries=2000)      # server from ENQUIRIES_LAB_DSN/DATABASE_URL, else embedded
    lab.frame("select ...")                      # a DataFrame, read as the admin
    with lab.act_as(lab.staff("DWP", "caseworker")) as cur: ...
    lab.close()                                  # drops the database

Every run creates its own uniquely named database and generates the same data from the
seed, so outputs are deterministic; the simulation clock (`NOW`) is fixed.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
import psycopg

from enquiries_lab import database, migrations
from enquiries_lab.config import with_database
from enquiries_lab.frames import frame
from enquiries_lab.generator import Params, generate
from enquiries_lab.session import Actor, act_as

NOW = datetime(2026, 6, 30, tzinfo=timezone.utc)   # the generator's default simulation clock
ENV_PREFIX = "ENQUIRIES_LAB_NB_PREFIX"             # set by the test suite to clean up after itself

pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 20)


@dataclass
class Lab:
    dsn: str
    conn: psycopg.Connection
    departments: pd.DataFrame = field(init=False)

    def __post_init__(self) -> None:
        self._extra: list[psycopg.Connection] = []
        self.departments = self.frame("select tenant_id, code, name from tenant.departments order by code")

    def frame(self, query: str, params=None) -> pd.DataFrame:
        return frame(self.conn, query, params)

    def tenant(self, code: str) -> uuid.UUID:
        return self.conn.execute("select tenant_id from tenant.departments where code = %s", [code]).fetchone()[0]

    def staff(self, code: str, role: str, n: int = 0) -> Actor:
        """The n-th staff member (by email) of a department in a role."""
        row = self.conn.execute(
            "select s.tenant_id, s.staff_id from tenant.staff s join tenant.departments d using (tenant_id) "
            "where d.code = %s and s.staff_role = %s order by s.email offset %s limit 1", [code, role, n]).fetchone()
        return Actor(row[0], row[1], role)

    def act_as(self, actor: Actor, *, conn: psycopg.Connection | None = None, **kwargs):
        return act_as(conn or self.conn, actor, **kwargs)

    def connect_as(self, login: str = "enquiries_app") -> psycopg.Connection:
        """A connection as one of the lab's logins (the application's, by default), as a real
        client would have; the notebook's own connection is the admin's."""
        from psycopg.conninfo import make_conninfo

        conn = database.connect(make_conninfo(self.dsn, user=login), autocommit=True)
        self._extra.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._extra:
            conn.close()
        self.conn.close()
        database.drop_database(self.dsn)


def open_lab(name: str, *, enquiries: int = 2000, departments: int = 5, seed: int = 1) -> Lab:
    """A new database `enqlab_nb_<name>_<random>` on the lab's server, migrated and generated."""
    target = database.target(None)
    prefix = os.environ.get(ENV_PREFIX, "enqlab_nb")
    dsn = with_database(target.dsn, f"{prefix}_{name}_{uuid.uuid4().hex[:6]}")
    database.ensure_database(dsn)
    conn = database.connect(dsn, autocommit=True)
    migrations.migrate(conn)
    generate(conn, Params(enquiries=enquiries, departments=departments, seed=seed), jobs=1)
    conn.execute("set timezone = 'UTC'")
    return Lab(dsn, conn)
