"""Query results as pandas DataFrames (for the notebooks and the profile)."""

from __future__ import annotations

import pandas as pd
import psycopg


def frame(conn: psycopg.Connection, query: str, params: list | dict | None = None) -> pd.DataFrame:
    """Run a query and return its rows as a DataFrame with the query's column names."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [c.name for c in cur.description] if cur.description else []
        return pd.DataFrame(cur.fetchall(), columns=columns)
