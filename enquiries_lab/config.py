"""Which database the lab talks to.

Resolution order, the same for every command: an explicit `--dsn`, else the
`ENQUIRIES_LAB_DSN` environment variable, else `DATABASE_URL`, else the embedded
PostgreSQL 18 server that the lab starts on demand (see `enquiries_lab.embedded`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from enquiries_lab.errors import ConfigError

DEFAULT_DATABASE = "enquiries_lab"
ENV_DSN = "ENQUIRIES_LAB_DSN"
ENV_DATABASE_URL = "DATABASE_URL"


@dataclass(frozen=True)
class DsnChoice:
    """A resolved DSN and where it came from (for messages)."""

    dsn: str | None  # None means: use the embedded server
    source: str  # "--dsn", "ENQUIRIES_LAB_DSN", "DATABASE_URL" or "embedded"

    @property
    def embedded(self) -> bool:
        return self.dsn is None


def resolve_dsn(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> DsnChoice:
    """Pick the DSN by the documented order; empty values count as unset."""
    env = os.environ if environ is None else environ
    if explicit:
        return DsnChoice(explicit, "--dsn")
    for name in (ENV_DSN, ENV_DATABASE_URL):
        if env.get(name):
            return DsnChoice(env[name], name)
    return DsnChoice(None, "embedded")


def parse_dsn(dsn: str) -> dict[str, str]:
    """Parse a URI or key=value DSN, with a one-line error when it is malformed."""
    try:
        return conninfo_to_dict(dsn)
    except Exception as err:  # psycopg raises ProgrammingError with libpq's text
        raise ConfigError(f"malformed DSN {redact(dsn)!r}: {' '.join(str(err).split())}") from None


# `password=...` in a key=value DSN or a URI query string (quoted values may hold spaces).
_PASSWORD_PARAM = re.compile(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|[^\s&]*)", re.IGNORECASE)


def redact(dsn: str) -> str:
    """The DSN with any password replaced by `***`, safe to print."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        # Unparseable: mask any password= parameter, and hide everything between
        # '://user:' and '@' if it looks like a URI.
        dsn = _PASSWORD_PARAM.sub(r"\1***", dsn)
        if "://" in dsn and "@" in dsn:
            scheme, rest = dsn.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}" if ":" in creds else dsn
        return dsn
    if "password" in params:
        params["password"] = "***"
    return make_conninfo(**params)


def with_database(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    params = parse_dsn(dsn)
    params["dbname"] = dbname
    return make_conninfo(**params)


def database_name(dsn: str) -> str:
    """The database a DSN names (libpq defaults to the user name)."""
    params = parse_dsn(dsn)
    return params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE") or os.environ.get("USER", "postgres")
