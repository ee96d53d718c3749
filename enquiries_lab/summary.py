"""What `enquiries-lab demo` prints: the server, the installed schema and its data."""

from __future__ import annotations

import psycopg


def render(conn: psycopg.Connection) -> str:
    version = conn.execute("show server_version").fetchone()[0]
    lines = [f"server: PostgreSQL {version}"]
    return "\n".join(lines)
