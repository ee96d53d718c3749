"""`enquiries-lab bench load`: a bounded concurrent casework workload, and the checks after it.

Several client processes (multiprocessing, spawn) log in as the application (`enquiries_app`)
and act as random staff members of random departments: caseworkers, supervisors and auditors
reading queues, dashboards, searches, enquiry details and the audit trail, probing other
departments' ids, moving enquiries along the workflow, adding notes, opening new enquiries,
and deliberately racing each other on a few "hot" enquiries (read, pause, write with the
version read) and on pairs of them (a supervisor reassigning two in one transaction, in random
order, which can deadlock). Each client stops at its operation count or at the deadline,
whichever comes first.

Every write transaction records its transaction id (`pg_current_xact_id()`) and the audit
entries it must produce (one per changed row, by table). Afterwards, as a superuser:

- cross-tenant rows observed by any client: must be 0;
- each client transaction is all or nothing: committed (pg_xact_status) => exactly its expected
  entries under its transaction id; aborted => none; and every entry written during the run
  belongs to one of them (audit entries == committed changes);
- no lost update: no two committed changes of an enquiry started from the same version, and
  the trail's version steps are exactly the committed ones;
- deadlocks (40P01) and serialization failures (40001 in the two-enquiry transaction) are
  retried and counted; nothing is left unhandled;
- the replay check (every live row is the fold of its entries), no entry without its row, every
  status change allowed for the role that made it, no entry crossing departments.

With `kill_every`, the parent also terminates random application backends that are inside a
transaction (pg_terminate_backend) while the clients run; clients reconnect and go on, and
the transactions they were in are resolved by pg_xact_status (a commit whose reply was lost
counts as committed). Throughput and latency percentiles are reported; the checks never look
at timing.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from enquiries_lab import casework
from enquiries_lab.errors import ConflictError, DatabaseError, LabError
from enquiries_lab.session import Actor, act_as

# SQLSTATEs a client meets in normal concurrent operation and handles.
CONFLICT = "40001"
DEADLOCK = "40P01"
CONNECTION_LOST = ("57P01", "57P02", "57P03", "08000", "08003", "08006", None)
# Operation mix (weights): a realistic read-heavy day with racing on a few enquiries.
MIX = {
    "queue": 22, "dashboard": 8, "detail": 14, "search": 6, "probe_other": 6, "audit_trail": 4,
    "work": 20, "note": 8, "new_enquiry": 4, "race": 6, "bulk_reassign": 2,
}
WRITES = {"work", "note", "new_enquiry", "race", "bulk_reassign"}


@dataclass
class Department:
    tenant_id: str
    code: str
    caseworkers: list[str]
    supervisors: list[str]
    auditors: list[str]
    contacts: list[str]
    work: list[str]          # open enquiries to move along
    hot: list[str]           # enquiries raced on (kept between in_progress and awaiting_citizen)


@dataclass
class Plan:
    app_dsn: str
    departments: list[Department]
    rules: dict[str, dict[str, list[str]]]   # staff role -> from status -> [to status], no approval needed


@dataclass
class ClientConfig:
    index: int
    plan: Plan
    seed: int
    deadline: float          # time.time() at which to stop
    max_ops: int
    faults: bool             # backends may be terminated: reconnect instead of failing


@dataclass
class Tx:
    """A write transaction as the client saw it."""
    txid: int | None
    kind: str
    expected: dict[str, int]                  # table -> audit entries it must write
    versions: list[tuple[str, int]]           # (enquiry id, version it started from)
    outcome: str                              # committed | aborted | unknown


@dataclass
class ClientReport:
    index: int
    ops: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    txs: list[Tx] = field(default_factory=list)
    cross_tenant_rows: int = 0
    cross_tenant_examples: list[str] = field(default_factory=list)
    conflicts: int = 0
    deadlocks: int = 0
    retries: int = 0
    refused: Counter = field(default_factory=Counter)
    connection_losses: int = 0
    unhandled: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Retry(Exception):
    """A deadlock or a conflict inside a transaction that is retried as a whole."""


# -- preparing a database -------------------------------------------------------------------------

def as_login(dsn: str, login: str) -> str:
    return make_conninfo(dsn, user=login)


def prepare(dsn: str, *, work_per_department: int = 20, hot_per_department: int = 2, seed: int = 1) -> Plan:
    """Read the departments and staff of a generated lab database (superuser `dsn`) and open fresh
    enquiries to work on: `work_per_department` new ones and `hot_per_department` in progress."""
    rng = random.Random(seed)
    departments = []
    with psycopg.connect(dsn, autocommit=True) as su:
        # deadlocks are part of the workload: detect them quickly
        su.execute(sql.SQL("alter database {} set deadlock_timeout = '100ms'").format(sql.Identifier(su.info.dbname)))
        rules: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for frm, to, role in su.execute("select from_status, to_status, staff_role from core.status_transitions "
                                        "where not requires_approval order by 1, 2, 3"):
            rules[role][frm].append(to)
        for tenant, code in su.execute("select tenant_id, code from tenant.departments order by code").fetchall():
            staff = defaultdict(list)
            for staff_id, role in su.execute("select staff_id, staff_role from tenant.staff where tenant_id = %s and active "
                                             "and deleted_at is null order by staff_id", [tenant]):
                staff[role].append(str(staff_id))
            departments.append(Department(str(tenant), code, staff["caseworker"], staff["supervisor"], staff["auditor"],
                                          [], [], []))
    with psycopg.connect(as_login(dsn, "enquiries_app"), autocommit=True) as app:
        for d in departments:
            for n in range(work_per_department + hot_per_department):
                cw = Actor(d.tenant_id, rng.choice(d.caseworkers), "caseworker")
                with act_as(app, cw) as cur:
                    contact = casework.create_contact(cur, full_name=f"Load Citizen {n}", postcode="SW1A 1AA")
                    enquiry = casework.create_enquiry(cur, reference=f"{d.code}-LOAD-{uuid.uuid4().hex[:8].upper()}",
                                                      contact_id=contact, enquiry_type=_a_type(cur), channel="email",
                                                      subject=f"Load test enquiry {n}", body="Opened for the load run.")
                d.contacts.append(str(contact))
                if n < hot_per_department:
                    with act_as(app, cw) as cur:
                        v = casework.transition(cur, enquiry, "assigned", version=1, assign_to=cw.staff_id)
                        casework.transition(cur, enquiry, "in_progress", version=v)
                    d.hot.append(str(enquiry))
                else:
                    d.work.append(str(enquiry))
    return Plan(as_login(dsn, "enquiries_app"), departments, {r: dict(m) for r, m in rules.items()})


def _a_type(cur: psycopg.Cursor) -> str:
    return cur.execute("select enquiry_type from tenant.department_enquiry_types where deleted_at is null "
                       "order by enquiry_type limit 1").fetchone()[0]


# -- a client ---------------------------------------------------------------------------------------

class Client:
    def __init__(self, config: ClientConfig):
        self.config = config
        self.plan = config.plan
        self.rng = random.Random(config.seed * 1000 + config.index)
        self.report = ClientReport(config.index)
        self.conn: psycopg.Connection | None = None
        self.work = {d.tenant_id: list(d.work) for d in self.plan.departments}
        self.kinds = list(MIX)
        self.weights = [MIX[k] for k in self.kinds]

    # connection handling: in fault mode a terminated backend means reconnect and go on
    def connection(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = psycopg.connect(self.plan.app_dsn, autocommit=True)
        return self.conn

    def run(self) -> ClientReport:
        started = time.perf_counter()
        while self.report.ops.total() < self.config.max_ops and time.time() < self.config.deadline:
            kind = self.rng.choices(self.kinds, self.weights)[0]
            dept = self.rng.choice(self.plan.departments)
            t0 = time.perf_counter()
            try:
                getattr(self, f"op_{kind}")(dept)
            except psycopg.OperationalError as err:
                self.lost(err)
            except (DatabaseError, psycopg.Error) as err:
                state = err.sqlstate
                if state in CONNECTION_LOST and self.config.faults:
                    self.report.connection_losses += 1
                elif state == CONFLICT and isinstance(err, ConflictError):
                    pass  # the other writer won this version; counted where it happened
                elif state and state.startswith("EL"):
                    self.report.refused[state] += 1
                else:
                    self.report.unhandled.append(f"{kind}: {type(err).__name__} {state}: {' '.join(str(err).split())[:200]}")
            except LabError as err:
                self.report.refused[" ".join(str(err).split()[:3])] += 1
            except Exception as err:  # noqa: BLE001 - reported, and the test fails on any
                self.report.unhandled.append(f"{kind}: {type(err).__name__}: {err}")
            self.report.ops[kind] += 1
            self.report.latencies[kind].append((time.perf_counter() - t0) * 1000)
        self.report.seconds = time.perf_counter() - started
        if self.conn is not None:
            self.conn.close()
        self.report.latencies = dict(self.report.latencies)
        return self.report

    def lost(self, err: Exception) -> None:
        if self.config.faults:
            self.report.connection_losses += 1
        else:
            self.report.unhandled.append(f"connection lost: {' '.join(str(err).split())[:200]}")
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    # -- helpers --
    def actor(self, dept: Department, role: str) -> Actor:
        ids = {"caseworker": dept.caseworkers, "supervisor": dept.supervisors, "auditor": dept.auditors}[role]
        return Actor(dept.tenant_id, self.rng.choice(ids), role)

    def observe(self, actor: Actor, rows, what: str) -> None:
        for row in rows:
            if str(row[0]) != str(actor.tenant_id):
                self.report.cross_tenant_rows += 1
                if len(self.report.cross_tenant_examples) < 5:
                    self.report.cross_tenant_examples.append(f"{what}: {actor.role} of {actor.tenant_id} saw {row}")

    def write(self, kind: str, actor: Actor, body) -> None:
        """Run `body(cur) -> (expected entries by table, [(enquiry, from version)])` as one transaction,
        recording its outcome; deadlocks and in-transaction conflicts are retried (bounded)."""
        for attempt in range(6):
            tx = Tx(None, kind, {}, [], "unknown")
            try:
                with act_as(self.connection(), actor) as cur:
                    tx.txid = int(cur.execute("select pg_current_xact_id()::text").fetchone()[0])
                    tx.expected, tx.versions = body(cur)
                tx.outcome = "committed"
                self.report.txs.append(tx)
                return
            except Retry:
                tx.outcome = "aborted"
                self.report.txs.append(tx)
                self.report.retries += 1
                continue
            except (DatabaseError, psycopg.Error) as err:
                broken = self.conn is None or self.conn.broken or self.conn.closed
                tx.outcome = "unknown" if broken else "aborted"
                self.report.txs.append(tx)
                if err.sqlstate == DEADLOCK:
                    self.report.deadlocks += 1
                    self.report.retries += 1
                    time.sleep(self.rng.random() * 0.02)
                    continue
                if err.sqlstate == CONFLICT:
                    self.report.conflicts += 1
                raise
        self.report.refused["gave up after retries"] += 1

    @staticmethod
    def read_enquiry(cur, enquiry: str) -> tuple | None:
        return cur.execute("select tenant_id, status, version, assigned_to from tenant.enquiries where enquiry_id = %s",
                           [enquiry]).fetchone()

    # -- reads --
    def op_queue(self, dept: Department) -> None:
        actor = self.actor(dept, "caseworker")
        with act_as(self.connection(), actor) as cur:
            rows = cur.execute(
                "select e.tenant_id, e.enquiry_id, e.status, e.version from app.enquiries e join core.statuses s using (status) "
                "where e.assigned_to = %s and s.is_open order by e.received_at limit 20", [actor.staff_id]).fetchall()
        self.observe(actor, rows, "queue")

    def op_dashboard(self, dept: Department) -> None:
        actor = self.actor(dept, "supervisor")
        with act_as(self.connection(), actor) as cur:
            rows = cur.execute(
                "select e.tenant_id, e.status, count(*) from app.enquiries e group by 1, 2").fetchall()
        self.observe(actor, rows, "dashboard")

    def op_detail(self, dept: Department) -> None:
        actor = self.actor(dept, self.rng.choice(["caseworker", "supervisor", "auditor"]))
        enquiry = self.rng.choice(self.work[dept.tenant_id] + dept.hot)
        with act_as(self.connection(), actor) as cur:
            rows = cur.execute("select tenant_id, reference, status, version from app.enquiries where enquiry_id = %s",
                               [enquiry]).fetchall()
            rows += cur.execute("select tenant_id, note_id from app.notes where enquiry_id = %s", [enquiry]).fetchall()
            rows += cur.execute("select tenant_id, assignment_id from app.assignments where enquiry_id = %s", [enquiry]).fetchall()
        self.observe(actor, rows, "detail")

    def op_search(self, dept: Department) -> None:
        actor = self.actor(dept, "caseworker")
        word = self.rng.choice(["payment", "load", "tax", "visa", "benefit", "letter"])
        with act_as(self.connection(), actor) as cur:
            rows = cur.execute("select tenant_id, reference from app.enquiries where lower(subject) like %s "
                               "or body ilike %s limit 20", [f"%{word}%", f"%{word}%"]).fetchall()
        self.observe(actor, rows, "search")

    def op_probe_other(self, dept: Department) -> None:
        """Ask for another department's enquiries, notes and contacts by id: nothing comes back."""
        others = [d for d in self.plan.departments if d.tenant_id != dept.tenant_id]
        if not others:
            return
        other = self.rng.choice(others)
        actor = self.actor(dept, self.rng.choice(["caseworker", "supervisor", "auditor"]))
        ids = self.rng.sample(other.hot + self.work[other.tenant_id], 2)
        with act_as(self.connection(), actor) as cur:
            rows = cur.execute("select tenant_id, enquiry_id from tenant.enquiries where enquiry_id = any(%s)", [ids]).fetchall()
            rows += cur.execute("select tenant_id, contact_id from tenant.contacts where contact_id = any(%s::uuid[])",
                                [other.contacts[:5]]).fetchall()
            rows += cur.execute("select tenant_id, enquiry_id from tenant.enquiries where tenant_id = %s limit 5",
                                [other.tenant_id]).fetchall()
        self.observe(actor, rows, "probe_other")

    def op_audit_trail(self, dept: Department) -> None:
        actor = self.actor(dept, "auditor")
        enquiry = self.rng.choice(dept.hot)
        with act_as(self.connection(), actor) as cur:
            rows = cur.execute("select tenant_id, entry_id, action from audit.entries where record_id = %s "
                               "order by occurred_at desc, entry_id desc limit 20", [enquiry]).fetchall()
        self.observe(actor, rows, "audit_trail")

    # -- writes --
    def op_work(self, dept: Department) -> None:
        """Move one of the department's open enquiries along a transition the role may make."""
        role = self.rng.choice(["caseworker", "caseworker", "supervisor"])
        actor = self.actor(dept, role)
        queue = self.work[dept.tenant_id]
        enquiry = self.rng.choice(queue)

        def body(cur):
            row = self.read_enquiry(cur, enquiry)
            self.observe(actor, [row] if row else [], "work")
            _, status, version, assigned_to = row
            options = [s for s in self.plan.rules.get(role, {}).get(status, []) if s != "reopened" or role == "supervisor"]
            if not options:  # terminal for this role: retire it from the queue
                if status in ("closed", "withdrawn") and enquiry in queue and len(queue) > 5:
                    queue.remove(enquiry)
                return {}, []
            to = self.rng.choice(options)
            assignee = None
            if to == "assigned":
                assignee = actor.staff_id if role == "caseworker" else self.rng.choice(dept.caseworkers)
            casework.transition(cur, enquiry, to, version=version, assign_to=assignee)
            expected = {"tenant.enquiries": 1}
            if assignee is not None and str(assignee) != str(assigned_to):
                expected["tenant.assignments"] = 1
            return expected, [(enquiry, version)]

        self.write("work", actor, body)

    def op_note(self, dept: Department) -> None:
        actor = self.actor(dept, self.rng.choice(["caseworker", "supervisor"]))
        enquiry = self.rng.choice(self.work[dept.tenant_id] + dept.hot)

        def body(cur):
            casework.add_note(cur, enquiry, f"Load note {self.rng.random():.6f}", direction="internal")
            return {"tenant.notes": 1}, []

        self.write("note", actor, body)

    def op_new_enquiry(self, dept: Department) -> None:
        actor = self.actor(dept, "caseworker")
        created = []

        def body(cur):
            contact = casework.create_contact(cur, full_name="New Load Citizen", postcode="SW1A 2AA")
            reference = f"{dept.code}-LN-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:10].upper()}"
            created.append(casework.create_enquiry(cur, reference=reference, contact_id=contact,
                                                   enquiry_type=_a_type(cur), channel="web_form",
                                                   subject="A new enquiry during the load run", body="New."))
            return {"tenant.contacts": 1, "tenant.enquiries": 1}, []

        self.write("new_enquiry", actor, body)
        if created:
            self.work[dept.tenant_id].append(str(created[0]))

    def op_race(self, dept: Department) -> None:
        """Read a hot enquiry, pause, then flip it between in_progress and awaiting_citizen with the
        version read: when another client got there first, the database says 40001 (ConflictError)."""
        actor = self.actor(dept, self.rng.choice(["caseworker", "supervisor"]))
        enquiry = self.rng.choice(dept.hot)
        with act_as(self.connection(), actor) as cur:
            row = self.read_enquiry(cur, enquiry)
        self.observe(actor, [row], "race")
        _, status, version, _ = row
        to = {"in_progress": "awaiting_citizen", "awaiting_citizen": "in_progress"}.get(status)
        if to is None:
            return
        time.sleep(self.rng.random() * 0.02)

        def body(cur):
            casework.transition(cur, enquiry, to, version=version)
            return {"tenant.enquiries": 1}, [(enquiry, version)]

        try:
            self.write("race", actor, body)
        except ConflictError:
            pass  # the other client won this version: counted in write()

    def op_bulk_reassign(self, dept: Department) -> None:
        """A supervisor reassigns two hot enquiries in one transaction, in random order: two such
        transactions can deadlock (40P01); a version moved on meanwhile is a conflict (40001). Both
        are retried with fresh reads."""
        actor = self.actor(dept, "supervisor")
        pair = self.rng.sample(dept.hot, 2) if len(dept.hot) >= 2 else list(dept.hot)

        def body(cur):
            expected: dict[str, int] = defaultdict(int)
            versions = []
            for n, enquiry in enumerate(pair):
                _, status, version, assigned_to = self.read_enquiry(cur, enquiry)
                choices = [c for c in dept.caseworkers if c != str(assigned_to)] or dept.caseworkers
                target = self.rng.choice(choices)
                try:
                    casework.reassign(cur, enquiry, target, version=version)
                except ConflictError:
                    self.report.conflicts += 1
                    raise Retry() from None
                expected["tenant.enquiries"] += 1
                if target != str(assigned_to):
                    expected["tenant.assignments"] += 1
                versions.append((enquiry, version))
                if n == 0:
                    time.sleep(self.rng.random() * 0.01)
            return dict(expected), versions

        self.write("bulk_reassign", actor, body)


def _client_main(config: ClientConfig) -> ClientReport:
    return Client(config).run()


# -- running and checking ---------------------------------------------------------------------------

@dataclass
class LoadResult:
    clients: int
    seconds: float
    ops: dict[str, int]
    latency_ms: dict[str, dict[str, float]]   # kind -> p50/p95/p99/max/n
    committed_txs: int
    aborted_txs: int
    unknown_resolved: dict[str, int]          # outcome -> count, for transactions whose reply was lost
    conflicts: int
    deadlocks: int
    retries: int
    refused: dict[str, int]
    connection_losses: int
    kills: int
    kills_in_transaction: int
    audit_entries_written: int
    problems: dict[str, list]                 # check -> offending items (all empty: passed)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    @property
    def throughput(self) -> float:
        return sum(self.ops.values()) / self.seconds if self.seconds else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return {"n": len(ordered), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def run(dsn: str, plan: Plan, *, clients: int = 4, duration: float = 15.0, max_ops: int = 20_000, seed: int = 1,
        kill_every: float | None = None) -> LoadResult:
    """Run the workload against the prepared lab database `dsn` (superuser) and check it."""
    with psycopg.connect(dsn, autocommit=True) as su:
        start_entry = su.execute("select coalesce(max(entry_id), 0) from audit.entries").fetchone()[0]
    deadline = time.time() + duration
    configs = [ClientConfig(i, plan, seed, deadline, max_ops, kill_every is not None) for i in range(clients)]
    kills = kills_in_tx = 0
    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(clients) as pool:
        pending = pool.map_async(_client_main, configs)
        if kill_every:
            rng = random.Random(seed)
            with psycopg.connect(dsn, autocommit=True) as su:
                dbname = su.info.dbname
                while not pending.ready() and time.time() < deadline + 30:
                    pending.wait(kill_every * (0.5 + rng.random()))
                    if pending.ready():
                        break
                    victims = su.execute(
                        "select pid, xact_start is not null from pg_stat_activity where datname = %s "
                        "and usename = 'enquiries_app' and pid <> pg_backend_pid() order by pid", [dbname]).fetchall()
                    in_tx = [v for v in victims if v[1]]
                    if victims:
                        pid, busy = rng.choice(in_tx or victims)
                        if su.execute("select pg_terminate_backend(%s)", [pid]).fetchone()[0]:
                            kills += 1
                            kills_in_tx += busy
        reports: list[ClientReport] = pending.get(timeout=duration + 300)
    seconds = time.perf_counter() - started
    return check(dsn, reports, start_entry, seconds, kills, kills_in_tx)


def check(dsn: str, reports: list[ClientReport], start_entry: int, seconds: float, kills: int = 0,
          kills_in_tx: int = 0) -> LoadResult:
    problems: dict[str, list] = {}
    txs = [tx for r in reports for tx in r.txs]
    problems["unhandled_errors"] = [u for r in reports for u in r.unhandled]
    problems["cross_tenant_rows_observed"] = [e for r in reports for e in r.cross_tenant_examples] + (
        [f"{sum(r.cross_tenant_rows for r in reports)} rows in all"] if any(r.cross_tenant_rows for r in reports) else [])
    resolved: Counter = Counter()
    with psycopg.connect(dsn, autocommit=True) as su:
        entries = defaultdict(Counter)
        for txid, table, n in su.execute(
                "select transaction_id::text::bigint, table_name, count(*) from audit.entries where entry_id > %s "
                "group by 1, 2", [start_entry]):
            entries[txid][table] = n
        statuses = _xact_statuses(su, [tx.txid for tx in txs if tx.txid is not None])
        committed_versions: list[tuple[str, int]] = []
        mismatched = []
        seen_txids = set()
        for tx in txs:
            if tx.txid is None:
                continue  # killed before it had a transaction id: it wrote nothing
            seen_txids.add(tx.txid)
            status = statuses.get(tx.txid)
            if tx.outcome == "unknown":
                resolved[status or "none"] += 1
            elif tx.outcome == "committed" and status != "committed":
                mismatched.append(f"{tx.kind} {tx.txid}: the client saw a commit, the server says {status}")
            got = dict(entries.get(tx.txid, {}))
            want = {t: n for t, n in tx.expected.items() if n} if status == "committed" else {}
            if got != want:
                mismatched.append(f"{tx.kind} {tx.txid} ({status}): entries {got}, expected {want}")
            if status == "committed":
                committed_versions += tx.versions
        problems["transactions_not_all_or_nothing"] = mismatched
        problems["entries_of_no_client_transaction"] = [f"{t}: {dict(c)}" for t, c in entries.items() if t not in seen_txids]
        dup = [k for k, n in Counter(committed_versions).items() if n > 1]
        problems["lost_updates"] = [f"enquiry {e} changed twice from version {v}" for e, v in dup]
        trail_steps = Counter(
            (str(e), int(v)) for e, v in su.execute(
                "select record_id, (old_values ->> 'version')::int from audit.entries "
                "where entry_id > %s and table_name = 'tenant.enquiries' and old_values ? 'version'", [start_entry]))
        problems["version_steps_not_matching_commits"] = sorted(
            f"{e} from v{v}: trail {trail_steps.get((e, v), 0)}, clients {n}"
            for (e, v), n in (Counter(committed_versions) | trail_steps).items()
            if trail_steps.get((e, v), 0) != Counter(committed_versions).get((e, v), 0))[:20]
        from enquiries_lab.bench import trail_checks

        for name, rows in trail_checks.all_problems(su, start_entry).items():
            problems[name] = rows[:20]
        written = su.execute("select count(*) from audit.entries where entry_id > %s", [start_entry]).fetchone()[0]
    ops: Counter = Counter()
    latencies: dict[str, list[float]] = defaultdict(list)
    for r in reports:
        ops.update(r.ops)
        for kind, values in r.latencies.items():
            latencies[kind] += values
    latency = {kind: percentiles(v) for kind, v in sorted(latencies.items())}
    latency["all reads"] = percentiles([x for k, v in latencies.items() if k not in WRITES for x in v])
    latency["all writes"] = percentiles([x for k, v in latencies.items() if k in WRITES for x in v])
    refused: Counter = Counter()
    for r in reports:
        refused.update(r.refused)
    return LoadResult(
        clients=len(reports), seconds=seconds, ops=dict(ops), latency_ms=latency,
        committed_txs=sum(1 for tx in txs if tx.txid is not None and statuses.get(tx.txid) == "committed"),
        aborted_txs=sum(1 for tx in txs if tx.txid is not None and statuses.get(tx.txid) != "committed"),
        unknown_resolved=dict(resolved), conflicts=sum(r.conflicts for r in reports),
        deadlocks=sum(r.deadlocks for r in reports), retries=sum(r.retries for r in reports), refused=dict(refused),
        connection_losses=sum(r.connection_losses for r in reports), kills=kills, kills_in_transaction=kills_in_tx,
        audit_entries_written=written, problems=problems)


def _xact_statuses(su: psycopg.Connection, txids: list[int]) -> dict[int, str | None]:
    """pg_xact_status of each transaction id, waiting briefly for any still in progress (a
    terminated backend finishes its rollback asynchronously)."""
    out: dict[int, str | None] = {}
    for _ in range(50):
        rows = su.execute("select t, pg_xact_status(t::text::xid8) from unnest(%s::bigint[]) t", [txids]).fetchall()
        out = {t: s for t, s in rows}
        if "in progress" not in out.values():
            break
        time.sleep(0.1)
    return out


def report(result: LoadResult) -> str:
    lines = [f"load: {result.clients} clients, {result.seconds:.1f} s, {sum(result.ops.values()):,} operations "
             f"({result.throughput:,.0f} ops/s), {result.committed_txs:,} committed write transactions "
             f"({result.committed_txs / result.seconds:,.0f}/s), {result.audit_entries_written:,} audit entries",
             f"contention: {result.conflicts} conflicts (40001), {result.deadlocks} deadlocks (40P01), "
             f"{result.retries} retries, {result.aborted_txs} aborted transactions"
             + (f"; refused by rules: {result.refused}" if result.refused else "")]
    if result.kills:
        lines.append(f"faults: {result.kills} backends terminated ({result.kills_in_transaction} inside a transaction), "
                     f"{result.connection_losses} connection losses seen by clients, in-flight transactions resolved "
                     f"as {result.unknown_resolved}")
    lines.append(f"{'latency (ms)':<16}{'n':>8}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}")
    for kind, p in result.latency_ms.items():
        if p.get("n"):
            lines.append(f"{kind:<16}{p['n']:>8}{p['p50']:>9.2f}{p['p95']:>9.2f}{p['p99']:>9.2f}{p['max']:>9.1f}")
    bad = {k: v for k, v in result.problems.items() if v}
    lines.append("checks: all passed" if not bad else "checks FAILED: " + json.dumps(bad, default=str)[:2000])
    return "\n".join(lines)


def as_dict(result: LoadResult) -> dict:
    return asdict(result) | {"throughput": result.throughput, "ok": result.ok}


if __name__ == "__main__":  # python -m enquiries_lab.bench.load ...
    from enquiries_lab.bench.load_cli import load

    sys.exit(load.main(standalone_mode=True))
