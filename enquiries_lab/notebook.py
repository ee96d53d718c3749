"""What the notebooks need: a database to look at, and small helpers.

    lab = open_lab("tour", enquiries=2000)      # a fresh seeded throwaway database on the lab's server
    lab = open_lab("tour", dsn="postgresql://...")   # or your own (what `demo`/`generate` filled)
    lab.frame("select ...")                      # a DataFrame, read as the admin
    pd.read_sql(text("select ..."), lab.engine)  # the same through SQLAlchemy (also what %%sql uses)
    with lab.act_as(lab.staff("DWP", "caseworker")) as cur: ...
    lab.close()                                  # drops a throwaway database; leaves yours alone

A throwaway database is named `enqlab_nb_<notebook>_<random>` and generated from the seed up
to the fixed simulation clock (`NOW`), so outputs are deterministic. It is dropped by
`close()`, and also when the kernel stops without it (shutdown, restart, SIGTERM, an
exception that ends the run): a finaliser runs at interpreter exit. Only a kernel killed
outright (SIGKILL, a crash) leaves one behind; `enquiries-lab notebooks list|clean` finds
and removes those by their prefix and the lab's marker.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

import pandas as pd
import psycopg

from enquiries_lab import database, migrations, planner_stats
from enquiries_lab.config import database_name, with_database
from enquiries_lab.errors import LabError
from enquiries_lab.frames import frame
from enquiries_lab.generator import Params, generate
from enquiries_lab.session import Actor, act_as

NOW = datetime(2026, 6, 30, tzinfo=timezone.utc)   # the generator's default simulation clock
PREFIX = "enqlab_nb"                                # every throwaway notebook database starts with it
ENV_PREFIX = "ENQUIRIES_LAB_NB_PREFIX"             # set by the test suite to clean up after itself
# The whole shape of a throwaway's name, <prefix>_<notebook>_<6 hex digits> (the prefix
# PREFIX, or PREFIX and letters and digits, as the test suite sets it), so that a database of
# the user's that merely starts with the prefix (enqlab_nb50k) is never listed or dropped.
THROWAWAY_NAME = f"^{PREFIX}[a-z0-9]*_[a-z0-9_]+_[0-9a-f]{{6}}$"

pd.set_option("display.width", 200)
pd.set_option("display.expand_frame_repr", False)   # a wide table stays one table in text form
pd.set_option("display.max_columns", 20)
pd.set_option("display.max_colwidth", 80)


def _drop(dsn: str, conns: list[psycopg.Connection], engine_box: list) -> None:
    """Close everything the lab opened, then drop its database (idempotent)."""
    for conn in conns:
        try:
            conn.close()
        except Exception:
            pass
    for engine in engine_box:
        engine.dispose()
    try:
        database.drop_database(dsn)
    except Exception:   # at interpreter exit there is nobody left to tell
        pass


@dataclass
class Lab:
    dsn: str
    conn: psycopg.Connection
    throwaway: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        self._extra: list[psycopg.Connection] = []
        self._engines: list = []
        self._finalizer = None
        if self.throwaway:
            self._finalizer = weakref.finalize(self, _drop, self.dsn, [self.conn, *self._extra], self._engines)
            self._finalizer.atexit = True
            _drop_on_sigterm()

    @cached_property
    def departments(self) -> pd.DataFrame:
        return self.frame("select tenant_id, code, name from tenant.departments order by code")

    @property
    def database(self) -> str:
        return database_name(self.dsn)

    def describe(self) -> str:
        """One line: which database this is, how much data, which departments."""
        enquiries = self.conn.execute("select count(*) from tenant.enquiries").fetchone()[0]
        what = f"throwaway, generated from seed {self.seed}" if self.throwaway else "yours, read as the admin"
        return (f"database {self.database} ({what}): {enquiries:,} enquiries in "
                f"{len(self.departments)} departments ({', '.join(self.departments.code)})")

    def frame(self, query: str, params=None) -> pd.DataFrame:
        return frame(self.conn, query, params)

    @cached_property
    def engine(self):
        """A SQLAlchemy engine on this database, for `pandas.read_sql` and `%%sql` (jupysql)."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        dsn = self.dsn
        engine = create_engine("postgresql+psycopg://", poolclass=NullPool,   # no pooled sessions left open
                               creator=lambda: database.connect(dsn, options="-c timezone=UTC"))
        self._engines.append(engine)
        return engine

    def tenant(self, code: str) -> uuid.UUID:
        """A department's id by its code; a code the dataset does not hold is named, with those it does."""
        row = self.conn.execute("select tenant_id from tenant.departments where code = %s", [code]).fetchone()
        if row is None:
            codes = [c for c, in self.conn.execute("select code from tenant.departments order by code")]
            raise LabError(f"department {code!r} is not in {self.database} (it holds {', '.join(codes) or 'none'}); "
                           f"set the notebook's DEPARTMENT parameter to one of those")
        return row[0]

    def staff(self, code: str, role: str, n: int = 0) -> Actor:
        """The n-th staff member (by email) of a department in a role."""
        self.tenant(code)   # an unknown department is named as such
        row = self.conn.execute(
            "select s.tenant_id, s.staff_id from tenant.staff s join tenant.departments d using (tenant_id) "
            "where d.code = %s and s.staff_role = %s order by s.email offset %s limit 1", [code, role, n]).fetchone()
        if row is None:
            raise LabError(f"no {role} #{n} in department {code!r} of {self.database}")
        return Actor(row[0], row[1], role)

    def staff_names(self) -> dict:
        """staff_id (as text, as the audit trail holds it) -> full name, so tables show people, not ids."""
        return {str(k): v for k, v in self.conn.execute("select staff_id, full_name from tenant.staff").fetchall()}

    def act_as(self, actor: Actor, *, conn: psycopg.Connection | None = None, **kwargs):
        return act_as(conn or self.conn, actor, **kwargs)

    def connect_as(self, login: str = "enquiries_app") -> psycopg.Connection:
        """A connection as one of the lab's logins (the application's, by default), as a real
        client would have; the notebook's own connection is the admin's."""
        from psycopg.conninfo import make_conninfo

        conn = database.connect(make_conninfo(self.dsn, user=login), autocommit=True)
        self._extra.append(conn)
        if self._finalizer is not None:   # the finaliser closes it too
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _drop, self.dsn, [self.conn, *self._extra], self._engines)
        return conn

    def close(self) -> None:
        """Close the connections; drop the database if it is a throwaway one."""
        if self._finalizer is not None:
            self._finalizer()
            return
        for conn in self._extra:
            conn.close()
        for engine in self._engines:
            engine.dispose()
        self.conn.close()


_sigterm_installed = False


def _drop_on_sigterm() -> None:
    """A kernel stopped with SIGTERM runs no atexit hooks by default: run the finalisers, then
    die of the signal as before. Only installed where nobody else handles SIGTERM."""
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum, frame):
        weakref.finalize._exitfunc()      # the same hooks interpreter exit runs
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, handler)
    _sigterm_installed = True


def setup_plots() -> None:
    """Deterministic, readable plots: the inline backend (Agg), DejaVu Sans (shipped with
    matplotlib), fixed size and dpi, and no software version in the PNG metadata."""
    import matplotlib
    import matplotlib.pyplot as plt   # noqa: F401  (activates the inline backend and its rc first)

    matplotlib.rcParams.update({
        "font.family": "DejaVu Sans", "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
        "figure.figsize": (10, 4), "figure.dpi": 100, "savefig.dpi": 100,
        "axes.grid": True, "grid.alpha": 0.3, "svg.hashsalt": "enquiries-lab",
        "legend.frameon": False,
    })
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png", metadata={"Software": None}, bbox_inches="tight")
    except Exception:   # not in IPython: nothing to configure
        pass


def open_lab(name: str, *, dsn: str | None = None, enquiries: int = 2000, departments: int = 5,
             seed: int = 1, quiet: bool = False) -> Lab:
    """Your database (`dsn`: a lab database that `demo`/`generate` filled; left as it is), or
    by default a new throwaway `enqlab_nb_<name>_<random>` on the lab's server, migrated and
    generated from the seed. Prints one line saying which."""
    if dsn:
        conn = database.connect(dsn, autocommit=True)
        if not conn.execute("select to_regclass('tenant.enquiries') is not null").fetchone()[0]:
            conn.close()
            raise LabError(f"{database_name(dsn)!r} is not a lab database (no tenant.enquiries): "
                           f"fill it with `enquiries-lab generate --dsn ...` first")
        conn.execute("set timezone = 'UTC'")
        lab = Lab(dsn, conn, throwaway=False)
    else:
        target = database.target(None)
        prefix = os.environ.get(ENV_PREFIX, PREFIX)
        throwaway = with_database(target.dsn, f"{prefix}_{name}_{uuid.uuid4().hex[:6]}")
        database.ensure_database(throwaway)
        try:
            conn = database.connect(throwaway, autocommit=True)
        except Exception:
            database.drop_database(throwaway)
            raise
        lab = Lab(throwaway, conn, throwaway=True, seed=seed)   # from here on the finaliser drops it
        migrations.migrate(conn)
        generate(conn, Params(enquiries=enquiries, departments=departments, seed=seed), jobs=1)
        planner_stats.analyse(conn)   # plans made for the data there is, autovacuum or not
        conn.execute("set timezone = 'UTC'")
    setup_plots()
    if not quiet:
        print(lab.describe())
    return lab


def leftovers(admin_dsn: str) -> pd.DataFrame:
    """Throwaway notebook databases on a server (name prefix and the lab's marker), with their
    size and how many sessions are connected to each (0: nobody is using it)."""
    with database.connect(with_database(admin_dsn, "postgres"), autocommit=True) as conn:
        return frame(conn, """
            select d.datname as database, pg_size_pretty(pg_database_size(d.oid)) as size,
                   (select count(*) from pg_stat_activity a where a.datid = d.oid)::int as sessions
            from pg_database d
            where d.datname ~ %s and shobj_description(d.oid, 'pg_database') = %s
            order by d.datname""", [THROWAWAY_NAME, database.LAB_MARKER])
