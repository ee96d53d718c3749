"""`enquiries-lab bench audit`: what the audit trail costs on the write path, and in storage.

On a generated dataset (throwaway database), side by side in one run:
  * batched writes: one UPDATE of N enquiries (a non-workflow column) by a supervisor, with
    the audit triggers and with them disabled (a superuser does that in the throwaway copy only);
  * single-row writes: N one-row UPDATEs in one transaction, with and without audit;
  * storage: bytes per update entry as stored (changed columns' new and old values) against
    the naive design that stores full before and after images of the same rows.
Every timed run is rolled back, so each measures the same starting data.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass

import psycopg
from psycopg import sql

from enquiries_lab import migrations
from enquiries_lab.config import with_database
from enquiries_lab.database import connect, drop_database, ensure_database
from enquiries_lab.generator import Params, generate

BATCH = """
update tenant.enquiries e set priority = case e.priority when 'low' then 'normal' else 'low' end, version = e.version + 1
where e.enquiry_id = any(%s)
"""
SINGLE = """
update tenant.enquiries e set priority = case e.priority when 'low' then 'normal' else 'low' end, version = e.version + 1
where e.enquiry_id = %s
"""
AUDIT_TRIGGERS = ["z_audit_insert", "z_audit_update"]


@dataclass
class AuditCell:
    write: str
    audited: bool
    rows: int
    median_ms: float
    rows_per_s: float


def _timed(conn: psycopg.Connection, tenant, supervisor, ids: list, audited: bool, single: bool) -> float:
    with conn.transaction():
        if not audited:
            for trigger in AUDIT_TRIGGERS:
                conn.execute(sql.SQL("alter table tenant.enquiries disable trigger {}").format(sql.Identifier(trigger)))
        conn.execute(sql.SQL("set local role enquiries_supervisor; set local enquiries.tenant_id = {}; "
                             "set local enquiries.actor_id = {}").format(sql.Literal(str(tenant)), sql.Literal(str(supervisor))))
        started = time.perf_counter()
        if single:
            with conn.cursor() as cur:
                for i in ids:
                    cur.execute(SINGLE, [i], prepare=True)
        else:
            conn.execute(BATCH, [ids])
        elapsed = (time.perf_counter() - started) * 1000
        raise _Done(elapsed)


class _Done(Exception):
    def __init__(self, ms: float):
        self.ms = ms


def _measure(conn, *args) -> float:
    try:
        _timed(conn, *args)
    except _Done as d:
        return d.ms
    raise AssertionError("unreachable")


STORAGE = """
with updates as (
    select e.row_data, e.old_values, e.record_id from audit.entries e
    where e.table_name = 'tenant.enquiries' and e.action = 'update'
    order by e.entry_id desc limit 20000
)
select avg(pg_column_size(u.row_data) + pg_column_size(u.old_values))::int as stored_jsonb_bytes,
       avg(pg_column_size(jsonb_build_object('before', to_jsonb(q), 'after', to_jsonb(q))))::int as naive_jsonb_bytes
from updates u join tenant.enquiries q on q.enquiry_id = u.record_id
"""


def run(admin_dsn: str, *, enquiries: int = 20_000, rows: int = 2000, repeats: int = 7) -> tuple[list[AuditCell], dict]:
    dsn = with_database(admin_dsn, f"enqlab_bench_audit_{uuid.uuid4().hex[:8]}")
    ensure_database(dsn)
    try:
        with connect(dsn, autocommit=True) as conn:
            migrations.migrate(conn)
            generate(conn, Params(enquiries=enquiries, departments=4, seed=1), jobs=2, dsn=dsn)
            conn.execute("analyze")
            tenant, = conn.execute("select tenant_id from tenant.enquiries group by 1 order by count(*) desc limit 1").fetchone()
            supervisor, = conn.execute("select staff_id from tenant.staff where tenant_id = %s and staff_role = 'supervisor' "
                                       "limit 1", [tenant]).fetchone()
            ids = [r[0] for r in conn.execute("select enquiry_id from tenant.enquiries where tenant_id = %s and disposed_at is null "
                                              "order by enquiry_id limit %s", [tenant, rows])]
            cells = []
            for write, single, n in (("batched update", False, len(ids)), ("single-row updates", True, min(len(ids), 500))):
                for audited in (True, False):
                    _measure(conn, tenant, supervisor, ids[:n], audited, single)       # warm-up
                timings = {True: [], False: []}
                for _ in range(repeats):                                                # interleaved
                    for audited in (True, False):
                        timings[audited].append(_measure(conn, tenant, supervisor, ids[:n], audited, single))
                for audited in (True, False):
                    med = statistics.median(timings[audited])
                    cells.append(AuditCell(write, audited, n, round(med, 2), round(n / med * 1000)))
            stored, naive = conn.execute(STORAGE).fetchone()
            entry_bytes = conn.execute(
                "select (sum(pg_total_relation_size(c.oid)) / nullif((select count(*) from audit.entries), 0))::int "
                "from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'audit.entries'::regclass"
            ).fetchone()[0]
            meta = {"server_version": conn.execute("show server_version").fetchone()[0], "enquiries": enquiries,
                    "stored_jsonb_bytes_per_update": stored, "naive_jsonb_bytes_per_update": naive,
                    "audit_bytes_per_entry_with_indexes": entry_bytes}
    finally:
        drop_database(dsn)
    return cells, meta


def report(cells: list[AuditCell], meta: dict) -> str:
    lines = [f"PostgreSQL {meta['server_version']}, dataset of {meta['enquiries']:,} generated enquiries",
             f"{'write':<20} {'audited':<8} {'rows':>6} {'median ms':>10} {'rows/s':>9} {'cost':>7}"]
    for c in cells:
        twin = next(x for x in cells if x.write == c.write and not x.audited)
        lines.append(f"{c.write:<20} {str(c.audited):<8} {c.rows:>6} {c.median_ms:>10.2f} {c.rows_per_s:>9,} "
                     f"{c.median_ms / twin.median_ms:>6.2f}x")
    lines.append(f"storage per update entry (jsonb): {meta['stored_jsonb_bytes_per_update']} bytes as stored vs "
                 f"{meta['naive_jsonb_bytes_per_update']} bytes for full before+after images "
                 f"({meta['stored_jsonb_bytes_per_update'] / meta['naive_jsonb_bytes_per_update']:.0%}); "
                 f"audit table incl. indexes: {meta['audit_bytes_per_entry_with_indexes']} bytes per entry")
    return "\n".join(lines)
