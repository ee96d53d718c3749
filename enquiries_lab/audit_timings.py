"""Reconstruction and verification timings on a database's own data (`enquiries-lab audit measure`).

Acts as an auditor of the department with the most rows in the table (the same path an
analyst takes: act_as, RLS, the library functions), and as the superuser for the checks that
span departments. Figures are wall-clock times seen by the client, so they include planning
and the round trip; docs/audit.md lists what they were on this project's machines.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg import sql

from enquiries_lab import audit, seals
from enquiries_lab.errors import LabError
from enquiries_lab.session import Actor, act_as


@dataclass(frozen=True)
class Figure:
    what: str
    value: float
    unit: str
    note: str = ""


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def measure(conn: psycopg.Connection, *, table: str = "enquiries", samples: int = 50,
            with_seal: bool = False) -> list[Figure]:
    """Figures for one record, a department snapshot, diffs, replay, verify (and seal)."""
    name, key = audit.resolve_table(conn, table)
    entries = conn.execute("select count(*) from audit.entries").fetchone()[0]
    found = conn.execute(sql.SQL("""
        select t.tenant_id, d.code, count(*) as n,
               (select s.staff_id from tenant.staff s where s.tenant_id = t.tenant_id and s.staff_role = 'auditor'
                  and s.active and s.deleted_at is null order by s.staff_id limit 1)
        from {} t join tenant.departments d on d.tenant_id = t.tenant_id
        group by t.tenant_id, d.code order by n desc limit 1""").format(audit._table_ident(name))).fetchone()
    if not found or found[3] is None:
        raise LabError(f"no department with rows in {name} and an active auditor to act as")
    tenant, code, rows, auditor = found
    window = conn.execute("select min(occurred_at), max(occurred_at), count(*) from audit.entries "
                          "where tenant_id = %s and table_name = %s", [tenant, name]).fetchone()
    start, end, dept_entries = window
    middle = start + (end - start) / 2
    # A deterministic spread of records, each asked about halfway through its own life.
    picks = conn.execute(sql.SQL("select {key}, created_at + (updated_at - created_at) / 2 from {tbl} "
                                 "where tenant_id = %s order by md5({key}::text) limit %s")
                         .format(key=sql.Identifier(key), tbl=audit._table_ident(name)), [tenant, samples]).fetchall()
    figures = [Figure("audit entries (all departments)", entries, "rows"),
               Figure(f"{name} rows in {code}", rows, "rows", f"{dept_entries:,} entries of that table"),
               ]
    with act_as(conn, Actor(tenant, auditor, "auditor")) as cur:
        audit.state_as_of(cur, name, picks[0][0], picks[0][1])  # warm the catalog caches
        one = [_timed(lambda: audit.state_as_of(cur, name, rid, at))[0] * 1000 for rid, at in picks]
        hist = [_timed(lambda: audit.history(cur, name, rid))[0] * 1000 for rid, _ in picks]
        figures += [
            Figure("one record as of a time (median)", statistics.median(one), "ms", f"{len(one)} records, as an auditor"),
            Figure("one record as of a time (max)", max(one), "ms"),
            Figure("one record's history (median)", statistics.median(hist), "ms"),
        ]
        for label, at in (("halfway through", middle), ("at the end", end)):
            seconds, frame = _timed(lambda: audit.table_as_of(cur, name, at))
            figures.append(Figure(f"department snapshot {label}", seconds, "s", f"{len(frame):,} records, as a DataFrame"))
        seconds, n = _timed(lambda: cur.execute("select count(*) from audit.table_as_of(%s, %s)", [name, end]).fetchone()[0])
        figures.append(Figure("department snapshot at the end, SQL only", seconds, "s", f"{n:,} records (audit.table_as_of)"))
        seconds, frame = _timed(lambda: audit.table_diff(cur, name, middle - timedelta(days=30), middle))
        figures.append(Figure("department diff over 30 days", seconds, "s", f"{frame['record_id'].nunique():,} records changed"))
        seconds, frame = _timed(lambda: audit.replay_mismatches(cur))
        figures.append(Figure("replay check, one department", seconds, "s", f"{len(frame)} mismatches"))
    seconds, frame = _timed(lambda: audit.replay_mismatches(conn))
    figures.append(Figure("replay check, all departments", seconds, "s", f"{len(frame)} mismatches"))
    if with_seal:
        seconds, new = _timed(lambda: seals.seal(conn))
        sealed = sum(s.entry_count for s in new)
        figures.append(Figure("seal", seconds, "s", f"{sealed:,} entries in {len(new)} seal(s)"
                              + (f", {seconds / sealed * 1e6:.1f} us/entry" if sealed else "")))
    seconds, report = _timed(lambda: seals.verify(conn))
    figures.append(Figure("verify", seconds, "s", f"{report.sealed_entries:,} sealed entries"
                          + (f", {seconds / report.sealed_entries * 1e6:.1f} us/entry" if report.sealed_entries else "")
                          + (", TAMPERED" if report.tampered else "")))
    return figures


def write_path(conn: psycopg.Connection, *, rows: int = 5000, rounds: int = 5) -> list[Figure]:
    """What the seals' only write-path addition (the BRIN index on entry ids) costs: audited
    inserts of `rows` notes in one statement, with and without that index, in alternating order,
    inside one transaction that is rolled back (the database is left as it was; ids are consumed).
    The trail is locked meanwhile (DROP INDEX): run it on a lab database, not a busy one."""
    row = conn.execute("""select e.tenant_id, e.enquiry_id, s.staff_id from tenant.enquiries e
                          join tenant.staff s on s.tenant_id = e.tenant_id and s.staff_role = 'caseworker' and s.active
                          where e.disposed_at is null limit 1""").fetchone()
    if row is None:
        raise LabError("no live enquiry with an active caseworker to write notes for")
    tenant, enquiry, caseworker = row
    timings: dict[bool, list[float]] = {True: [], False: []}
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("set local enquiries.tenant_id = {}; set local enquiries.actor_id = {}")
                     .format(sql.Literal(str(tenant)), sql.Literal(str(caseworker))))
        for n in range(rounds):
            for with_index in ((True, False) if n % 2 == 0 else (False, True)):
                with conn.transaction(force_rollback=True):
                    if not with_index:
                        conn.execute("drop index audit.entries_entry_id")
                    conn.execute("set local role enquiries_caseworker")
                    started = time.perf_counter()
                    conn.execute("insert into tenant.notes (enquiry_id, direction, body) "
                                 "select %s, 'internal', 'write path ' || g from generate_series(1, %s) g", [enquiry, rows])
                    timings[with_index].append(time.perf_counter() - started)

    def spread(values: list[float]) -> str:
        return f"median of {rounds}; {rows / max(values):,.0f}-{rows / min(values):,.0f} rows/s"

    with_brin, without = statistics.median(timings[True]), statistics.median(timings[False])
    return [Figure("audited inserts without the BRIN index", rows / without, "rows/s", spread(timings[False])),
            Figure("audited inserts with the BRIN index", rows / with_brin, "rows/s",
                   f"{spread(timings[True])}; {(with_brin / without - 1) * 100:+.1f}% time per insert")]


def report(figures: list[Figure]) -> str:
    width = max(len(f.what) for f in figures)
    lines = []
    for f in figures:
        value = f"{f.value:,.0f}" if f.unit in ("rows", "rows/s") else f"{f.value:,.2f}" if f.unit == "s" else f"{f.value:,.1f}"
        lines.append(f"{f.what:<{width}}  {value:>10} {f.unit:<4}  {f.note}")
    return "\n".join(lines)
