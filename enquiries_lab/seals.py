"""Tamper evidence: seal the audit trail in batches and verify the chain (sql/013).

    sealed = seals.seal(conn)            # chained SHA-256 seals over every unsealed entry
    report = seals.verify(conn)          # recompute them; report.problems names entries and seals
    report.tampered                      # True if anything sealed changed

Sealing runs off the write path (the capture triggers never hash), as a superuser: both
functions read every department's entries, which forced RLS shows to no other role. A seal
hash kept outside the database (`Seal.anchor`, printed by `enquiries-lab audit seal`) also
catches a superuser who rewrote an entry and recomputed every seal after it:
`verify(conn, anchors=["12:9f86d0..."])`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Iterable

import psycopg

from enquiries_lab.errors import LabError, from_db_error

ANCHOR = re.compile(r"^(?P<seal_id>\d+):(?P<hash>[0-9a-f]{64})$")
TAMPER_PROBLEMS = {"entry_changed", "entry_missing", "entry_added", "seal_changed", "chain_broken", "anchor_mismatch"}


@dataclass(frozen=True)
class Seal:
    seal_id: int
    first_entry_id: int
    last_entry_id: int
    entry_count: int
    seal_hash: str

    @property
    def anchor(self) -> str:
        """`seal_id:hash`, to keep outside the database and pass to verify(anchors=...)."""
        return f"{self.seal_id}:{self.seal_hash}"


@dataclass(frozen=True)
class Problem:
    problem: str          # entry_changed | entry_missing | entry_added | seal_changed | chain_broken | anchor_mismatch | unsealed
    seal_id: int | None
    entry_id: int | None
    detail: str

    @property
    def is_tampering(self) -> bool:
        return self.problem in TAMPER_PROBLEMS

    def line(self) -> str:
        where = []
        if self.entry_id is not None:
            where.append(f"entry {self.entry_id}")
        if self.seal_id is not None:
            where.append(f"seal {self.seal_id}")
        return f"{self.problem}: {', '.join(where) or '-'}: {self.detail}"


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    seals: int = 0
    sealed_entries: int = 0
    seconds: float = 0.0

    @property
    def tampering(self) -> list[Problem]:
        return [p for p in self.problems if p.is_tampering]

    @property
    def tampered(self) -> bool:
        return bool(self.tampering)

    @property
    def unsealed(self) -> list[Problem]:
        """One row per entry-id block with entries after its last seal (one block on a single node)."""
        return [p for p in self.problems if p.problem == "unsealed"]


def seal(conn: psycopg.Connection, *, max_entries: int = 100_000, wait_s: float = 30.0) -> list[Seal]:
    """Seal every committed, unsealed entry (seals of at most `max_entries` consecutive ids); returns the new seals.

    Waits up to `wait_s` for transactions that were writing when it started (EL501 after that).
    """
    if max_entries < 1:
        raise LabError("max_entries must be at least 1")
    try:
        with conn.transaction():
            rows = conn.execute("select * from audit.seal(%s, make_interval(secs => %s))", [max_entries, wait_s]).fetchall()
    except psycopg.Error as err:
        raise from_db_error(err, "sealing the audit trail") from None
    return [Seal(*r) for r in rows]


def head(conn: psycopg.Connection) -> Seal | None:
    """The newest seal, or None before the first."""
    row = conn.execute("select seal_id, first_entry_id, last_entry_id, entry_count, encode(seal_hash, 'hex') "
                       "from audit.seals order by seal_id desc limit 1").fetchone()
    return Seal(*row) if row else None


def parse_anchor(text: str) -> tuple[int, str]:
    match = ANCHOR.match(text.strip().lower())
    if not match:
        raise LabError(f"an anchor is SEAL_ID:SHA256_HEX (as `enquiries-lab audit seal` prints it), got {text!r}")
    return int(match["seal_id"]), match["hash"]


def verify(conn: psycopg.Connection, *, anchors: Iterable[str] = (), from_seal: int = 1) -> VerifyReport:
    """Recompute the seal chain from the stored entries (from `from_seal` on, trusting the seal
    before it) and check the given anchors; every problem names its entry or seal."""
    parsed = [parse_anchor(a) for a in anchors]
    started = time.perf_counter()
    report = VerifyReport()
    try:
        with conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            report.problems = [Problem(*r) for r in conn.execute("select * from audit.verify(%s)", [from_seal])]
            report.seals, report.sealed_entries = conn.execute(
                "select count(*), coalesce(sum(entry_count), 0) from audit.seals").fetchone()
            for seal_id, expected in parsed:
                row = conn.execute("select encode(seal_hash, 'hex') from audit.seals where seal_id = %s", [seal_id]).fetchone()
                if row is None or row[0] != expected:
                    report.problems.append(Problem(
                        "anchor_mismatch", seal_id, None,
                        "the seal kept outside the database " + ("no longer exists" if row is None else
                                                                  f"had hash {expected[:16]}..., it is now {row[0][:16]}...")))
    except psycopg.Error as err:
        raise from_db_error(err, "verifying the audit trail") from None
    report.seconds = time.perf_counter() - started
    return report
