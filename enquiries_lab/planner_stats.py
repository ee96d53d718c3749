"""The planner's statistics of a dataset: whether the tables the lab writes were analysed, and
analysing them.

A server may run without autovacuum (this project's CI server does: its conf.d sets
`autovacuum = off`), and autovacuum never analyses a partitioned parent such as
audit.entries. Without statistics the planner estimates from the tables' sizes alone, so a
freshly generated dataset would be queried, and benchmarked, with plans made for no data in
particular. `generate` and `demo` analyse what they wrote; `bench rls --dataset` analyses a
dataset that never was.
"""

from __future__ import annotations

import time

import psycopg

# The department-scoped tables and the audit trail (ANALYZE of the partitioned parent also
# analyses every partition).
TABLES_SQL = """
select format('%I.%I', n.nspname, c.relname)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where (n.nspname = 'tenant' and c.relkind = 'r') or (n.nspname = 'audit' and c.relname = 'entries')
order by 1
"""

# reltuples < 0: never analysed nor vacuumed, so the planner has no statistics for it.
NEVER_ANALYSED_SQL = """
select coalesce(array_agg(format('%I.%I', n.nspname, c.relname) order by n.nspname, c.relname), '{}')
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and c.reltuples < 0 and pg_relation_size(c.oid) > 0
  and (n.nspname = 'tenant' or c.oid in (select inhrelid from pg_inherits where inhparent = 'audit.entries'::regclass))
"""


def never_analysed(conn: psycopg.Connection) -> list[str]:
    """The lab's tables (audit partitions included) that hold rows and were never analysed."""
    return conn.execute(NEVER_ANALYSED_SQL).fetchone()[0]


def tables(conn: psycopg.Connection) -> list[str]:
    """The tables the lab writes: the department-scoped ones and the audit trail (its parent)."""
    return [table for (table,) in conn.execute(TABLES_SQL).fetchall()]


def analyse(conn: psycopg.Connection) -> float:
    """ANALYZE the department-scoped tables and the audit trail; returns the seconds it took."""
    started = time.perf_counter()
    for table in tables(conn):
        conn.execute(f"analyze {table}")
    return time.perf_counter() - started


def audit_entries_estimate(conn: psycopg.Connection) -> int:
    """The audit entries the statistics count (the partitions' reltuples; a parent has none of its
    own), or the exact count when a partition holding rows was never analysed."""
    if any(table.startswith("audit.") for table in never_analysed(conn)):
        return conn.execute("select count(*) from audit.entries").fetchone()[0]
    return conn.execute(
        "select coalesce(sum(c.reltuples) filter (where c.reltuples >= 0), 0)::bigint "
        "from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = 'audit.entries'::regclass").fetchone()[0]
