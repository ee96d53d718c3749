"""Planning, provisioning and batch loading: the generator's engine."""

from __future__ import annotations


import contextlib
import hashlib
import json
import logging
import math
import random
import time
import uuid
import weakref
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator

import psycopg
from psycopg import sql

from enquiries_lab import seals
from enquiries_lab.errors import LabError
from enquiries_lab.generator import lifecycle, profiles, texts
from enquiries_lab.generator.calendar import DEFAULT_END, DEFAULT_START, ArrivalCalendar
from enquiries_lab.generator.growth import Chain, Stream, as_stored, chain_for
from enquiries_lab.generator.workload import Workload
from enquiries_lab.session import Actor, act_as

NAMESPACE = uuid.UUID("2b0c8a8e-6a55-4b1e-9d3c-5c1f3f8f6a01")
OPERATOR = uuid.uuid5(NAMESPACE, "generator-operator")
# Returning citizens are drawn from the same block of enquiries, and batches hold whole
# blocks, so the data does not depend on the batch size.
CONTACT_BLOCK = 50
PROVISIONING_LEAD = timedelta(days=30)   # departments and staff exist this long before the first enquiry
MAX_JOBS = 32   # worker processes; each holds one batch and one connection
CHANNELS = {"web_form": 0.45, "email": 0.3, "phone": 0.15, "letter": 0.07, "in_person": 0.03}

class _AbandonedPipeline(logging.Filter):
    """psycopg warns when a batch's pipeline is abandoned because the connection died; the
    generator says so itself, in one line (_Engine.run), so the warning is only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        pipeline = bool(record.args) and type(record.args[0]).__name__ == "Pipeline"
        return not (pipeline and str(record.msg).startswith("error ignored terminating"))


logging.getLogger("psycopg").addFilter(_AbandonedPipeline())

BOOKKEEPING = """
create schema if not exists lab_meta;
create table if not exists lab_meta.generation_runs (
    run_key     text primary key,
    params      jsonb not null,
    started_at  timestamptz not null default now(),
    finished_at timestamptz
);
create table if not exists lab_meta.generation_batches (
    run_key      text not null references lab_meta.generation_runs on delete cascade,
    department   text not null,
    batch_no     integer not null,
    enquiries    integer not null,
    events       integer not null,
    committed_at timestamptz not null default clock_timestamp(),
    primary key (run_key, department, batch_no)
);
-- A batch commits round by round (see _load_batch); until its last round it is listed here.
create table if not exists lab_meta.batches_in_progress (
    run_key      text not null references lab_meta.generation_runs on delete cascade,
    department   text not null,
    batch_no     integer not null,
    enquiries    integer not null,
    rounds_done  integer not null check (rounds_done >= 1),
    primary key (run_key, department, batch_no)
);
"""


@dataclass(frozen=True)
class Params:
    enquiries: int
    departments: int = 6
    seed: int = 1
    start: datetime = DEFAULT_START
    end: datetime = DEFAULT_END
    skew: float = 1.1
    batch_size: int = 0          # 0: per department, from its staffing (auto_batch_size)

    def validate(self) -> None:
        if self.enquiries < 1:
            raise LabError(f"--enquiries must be at least 1, got {self.enquiries}")
        if self.enquiries > 50_000_000:
            raise LabError(f"--enquiries must be at most 50,000,000, got {self.enquiries}")
        if not 1 <= self.departments <= len(profiles.DEPARTMENTS):
            raise LabError(f"--departments must be between 1 and {len(profiles.DEPARTMENTS)}, got {self.departments}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise LabError("--start and --end must carry a time zone")
        if self.end <= self.start + timedelta(days=1):
            raise LabError(f"--end ({self.end:%Y-%m-%d}) must be more than a day after --start ({self.start:%Y-%m-%d})")
        if not 0 <= self.skew <= 5:
            raise LabError(f"--skew must be between 0 (even sizes) and 5, got {self.skew}")
        if not 0 <= self.batch_size <= 100_000:
            raise LabError(f"--batch-size must be between 1 and 100000 (or 0 for automatic), got {self.batch_size}")

    def key(self) -> str:
        """Identifies the dataset: the same key means the same business data."""
        data = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items() if k != "batch_size"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class StaffMember:
    staff_id: uuid.UUID
    role: str
    full_name: str
    email: str
    team: int


@dataclass
class DepartmentPlan:
    index: int
    code: str
    name: str
    tenant_id: uuid.UUID
    enquiries: int
    types: dict[str, int]
    teams: list[tuple[uuid.UUID, str]]
    staff: list[StaffMember] = field(default_factory=list)

    def staffing(self) -> lifecycle.Staffing:
        by_role = defaultdict(list)
        for s in self.staff:
            by_role[s.role].append(s.staff_id)
        return lifecycle.Staffing(by_role["caseworker"], by_role["supervisor"], by_role["retention_officer"])


def _sizes(total: int, count: int, skew: float) -> list[int]:
    """Zipf-like department sizes summing to `total` (largest remainder rounding)."""
    weights = [1.0 / (k + 1) ** skew for k in range(count)]
    exact = [total * w / sum(weights) for w in weights]
    sizes = [int(x) for x in exact]
    for k in sorted(range(count), key=lambda k: exact[k] - sizes[k], reverse=True)[: total - sum(sizes)]:
        sizes[k] += 1
    for k in range(count):              # no department left empty when there are enough enquiries
        if sizes[k] == 0 and total >= count:
            sizes[sizes.index(max(sizes))] -= 1
            sizes[k] = 1
    return sizes


def _blocks(first_block: int, enquiries: int) -> range:
    """The blocks of CONTACT_BLOCK enquiries a batch starting at `first_block` covers."""
    return range(first_block, first_block + math.ceil(enquiries / CONTACT_BLOCK))


def auto_batch_size(plan: "DepartmentPlan") -> int:
    """Enquiries per batch when --batch-size is automatic: about 300 per caseworker.

    A batch is applied one statement per (round, kind, acting staff member), and each
    statement costs ~1 ms before its first row (triggers, audit partitions, RLS), so the
    rows per statement, not the batch size itself, decide the speed: the more staff a
    department has, the larger its batches must be for the same rows per statement.
    300 per caseworker was ~10% faster than 100 on a slice of a million-enquiry plan
    (docs/benchmarks.md); memory still grows with the batch, never with the run."""
    caseworkers = sum(1 for s in plan.staff if s.role == "caseworker")
    return min(20_000, max(2_000, 300 * caseworkers))


def plan_departments(params: Params, pools: texts.Pools) -> list[DepartmentPlan]:
    rng = random.Random(f"{params.seed}:departments")
    provisioned = params.start - PROVISIONING_LEAD
    plans = []
    for index, ((code, name), size) in enumerate(zip(profiles.DEPARTMENTS, _sizes(params.enquiries, params.departments, params.skew))):
        tenant_id = uuid.uuid5(NAMESPACE, f"{params.seed}:{code}")
        years = (params.end - params.start).days / 365.25
        caseworkers = min(150, max(3, round(size / years / profiles.CASEWORKER_ENQUIRIES_PER_YEAR)))
        supervisors = max(2, math.ceil(caseworkers / 8))
        teams = [(lifecycle.new_uuid(rng, provisioned), f"Casework team {t + 1}") for t in range(supervisors)]
        plan = DepartmentPlan(index, code, name, tenant_id, size, profiles.TYPE_MIXES[index % len(profiles.TYPE_MIXES)], teams)
        domain = f"{code.lower()}.example.gov.uk"
        roles = (["supervisor"] * supervisors + ["caseworker"] * caseworkers
                 + ["auditor"] * max(1, caseworkers // 30) + ["retention_officer"] * (1 + caseworkers // 60))
        for n, role in enumerate(roles):
            first, last = texts.person(rng, pools)
            plan.staff.append(StaffMember(lifecycle.new_uuid(rng, provisioned), role, f"{first} {last}",
                                          f"{first}.{last}.{n}@{domain}".lower().replace(" ", "").replace("'", ""),
                                          n % supervisors))
        plans.append(plan)
    return plans


def _provision(conn: psycopg.Connection, plan: DepartmentPlan, at: datetime) -> None:
    if conn.execute("select exists (select 1 from tenant.departments where tenant_id = %s)", [plan.tenant_id]).fetchone()[0]:
        return  # resumed run: provisioned before
    with act_as(conn, Actor(plan.tenant_id, OPERATOR, "provisioner"), business_time=at) as cur:
        cur.execute("insert into tenant.departments (tenant_id, code, name) values (%s, %s, %s)",
                    [plan.tenant_id, plan.code, plan.name])
        cur.executemany(
            "insert into tenant.department_enquiry_types (department_enquiry_type_id, enquiry_type, sla_days) values (%s, %s, %s)",
            [(uuid.uuid5(plan.tenant_id, t), t, days) for t, days in plan.types.items()])
        cur.executemany("insert into tenant.teams (team_id, name) values (%s, %s)", plan.teams)
        cur.executemany(
            "insert into tenant.staff (staff_id, team_id, staff_role, full_name, email) values (%s, %s, %s, %s, %s)",
            [(s.staff_id, plan.teams[s.team][0], s.role, s.full_name, s.email) for s in plan.staff])


@dataclass
class SimulatedEnquiry:
    enquiry_id: uuid.UUID
    contact_id: uuid.UUID
    new_contact: dict | None
    events: list[lifecycle.Event]


@dataclass(frozen=True)
class Unit:
    """What a batch belongs to: a stream's enquiries of one department, either added by this run
    (`since` None: their lives up to the end) or continued by it from the previous end."""

    stream: Stream
    plan: DepartmentPlan
    since: datetime | None

    @property
    def label(self) -> str:
        """The unit's name in the run's bookkeeping (a base run's: the department's code, as ever)."""
        return self.plan.code if self.since is None else f"{self.plan.code}<{self.stream.number}"

    @property
    def enquiries(self) -> int:
        return self.stream.sizes[self.plan.index]


def _simulate_batch(seed: int, unit: Unit, end: datetime, first: int, count: int, calendar: ArrivalCalendar,
                    pools: texts.Pools, rules: dict[tuple[str, str], set[str]], load: Workload) -> list[SimulatedEnquiry]:
    """The batch's enquiries with their events in (unit.since, end]: a continued enquiry's
    creation and contact were written by an earlier run, so only its later events are kept."""
    plan, stream = unit.plan, unit.stream
    staffing = plan.staffing()
    types = list(plan.types)
    type_weights = [profiles.TYPE_WEIGHTS[t] for t in types]
    channels, channel_weights = list(CHANNELS), list(CHANNELS.values())
    contacts: list[uuid.UUID] = []
    out = []
    for i in range(first, first + count):
        if i % CONTACT_BLOCK == 0:
            contacts = []
        rng = random.Random(stream.rng_seed(seed, plan.code, i))
        arrival = calendar.arrival(i, unit.enquiries, rng.random(), rng.random())
        enquiry_id = lifecycle.new_uuid(rng, arrival)
        if contacts and rng.random() < profiles.DEFAULT_BEHAVIOUR.repeat_contact_rate:
            contact_id, new_contact = rng.choice(contacts), None
        else:
            contact_id = lifecycle.new_uuid(rng, arrival)
            new_contact = texts.contact(rng, pools)
            new_contact["preferred_channel"] = rng.choices(channels, channel_weights)[0]
            contacts.append(contact_id)
        enquiry_type = rng.choices(types, type_weights)[0]
        reference = f"{plan.code}-{arrival.year}-{stream.offsets[plan.index] + i + 1:07d}"
        r = rng.random()
        b = profiles.DEFAULT_BEHAVIOUR
        priority = "urgent" if r < b.urgent_rate else "high" if r < b.urgent_rate + b.high_rate else \
            "low" if r > 1 - b.low_rate else "normal"
        signature = new_contact["full_name"] if new_contact else "A returning correspondent"
        subject, body = texts.correspondence(rng, pools, enquiry_type, reference, arrival, signature)
        create = {"enquiry_id": enquiry_id, "reference": reference, "contact_id": contact_id, "type": enquiry_type,
                  "channel": rng.choices(channels, channel_weights)[0], "priority": priority,
                  "subject": subject, "body": body}
        life = lifecycle.simulate(rng, enquiry_id, arrival, staffing, b, rules, create, load.wait_at)
        if unit.since is None:
            out.append(SimulatedEnquiry(enquiry_id, contact_id, new_contact, [e for e in life if e.at <= end]))
        elif later := [e for e in life if unit.since < e.at <= end]:
            out.append(SimulatedEnquiry(enquiry_id, contact_id, None, later))
    return out


# -- loading -------------------------------------------------------------------------------------
# Columns go as binary arrays (%b): as text, psycopg quotes and escapes every string element
# (a regular expression per element) and the server parses every element back; binary was 15%
# faster at 100,000 enquiries, the client's CPU down by a third (docs/benchmarks.md).
INSERT_CONTACTS = """
insert into tenant.contacts (contact_id, full_name, email, phone, address_line1, town, postcode, preferred_channel, created_at)
select * from unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
"""
INSERT_ENQUIRIES = """
insert into tenant.enquiries (enquiry_id, reference, contact_id, enquiry_type, channel, priority, subject, body, status,
                              received_at, created_at)
select v.id, v.ref, v.contact, v.type, v.channel, v.priority, v.subject, v.body,
       (select status from core.statuses where is_initial), v.at, v.at
from unnest(%b::uuid[], %b::text[], %b::uuid[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
     as v(id, ref, contact, type, channel, priority, subject, body, at)
"""
UPDATE_ENQUIRIES = """
update tenant.enquiries e set status = v.status, assigned_to = v.assign_to, version = v.version, updated_at = v.at
from unnest(%b::uuid[], %b::text[], %b::uuid[], %b::int[], %b::timestamptz[]) as v(id, status, assign_to, version, at)
where e.enquiry_id = v.id
"""
INSERT_NOTES = """
insert into tenant.notes (note_id, enquiry_id, direction, channel, body, created_at)
select * from unnest(%b::uuid[], %b::uuid[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])
"""
INSERT_ESCALATIONS = """
insert into tenant.escalations (escalation_id, enquiry_id, reason, created_at)
select * from unnest(%b::uuid[], %b::uuid[], %b::text[], %b::timestamptz[])
"""
DECIDE_ESCALATIONS = """
update tenant.escalations x set decision = v.decision, decision_note = v.note, updated_at = v.at
from unnest(%b::uuid[], %b::text[], %b::text[], %b::timestamptz[]) as v(id, decision, note, at)
where x.escalation_id = v.id
"""
SOFT_DELETE_ENQUIRIES = """
update tenant.enquiries e set deleted_at = v.at, version = v.version, updated_at = v.at
from unnest(%b::uuid[], %b::int[], %b::timestamptz[]) as v(id, version, at)
where e.enquiry_id = v.id
"""
INSERT_LEGAL_HOLDS = """
insert into tenant.legal_holds (legal_hold_id, enquiry_id, reason, created_at)
select * from unnest(%b::uuid[], %b::uuid[], %b::text[], %b::timestamptz[])
"""
DISPOSE_ENQUIRIES = """
update tenant.enquiries e set disposed_at = v.at, version = v.version, updated_at = v.at
from unnest(%b::uuid[], %b::int[], %b::timestamptz[]) as v(id, version, at)
where e.enquiry_id = v.id
"""
KIND_ORDER = ["contact", "create", "transition", "soft_delete", "note", "esc_request", "esc_decide", "legal_hold", "dispose"]
ESCALATION_REASONS = ["Complex case needing a senior decision.", "Citizen has asked for a manager.",
                      "Possible policy exception.", "MP interest in the case.", "Risk of complaint to the Ombudsman."]


# On Citus (docs/scale-out.md) an INSERT ... SELECT from unnest() is planned on the coordinator,
# which COPYs the rows into the shards, and COPY is refused under RLS: the inserts go as
# multi-row VALUES (Citus routes them as INSERTs), the updates name the department's tenant_id
# as a literal so that each is one router query on the department's shard, unnest() included.
PARAMS_PER_STATEMENT = 60000  # under PostgreSQL's 65535 bind parameters


def _citus_statements(statement: str, columns: list[list], tenant_id, initial_status: str) -> Iterator[tuple[str, list]]:
    text = statement.strip()
    if text.startswith("update"):
        alias = text.split()[2]
        yield text.replace("where ", f"where {alias}.tenant_id = %s and ", 1), [*columns, tenant_id]
        return
    head = text[:text.index(")") + 1]
    rows = list(zip(*columns))
    if statement is INSERT_ENQUIRIES:
        rows = [(*r[:8], initial_status, r[8], r[8]) for r in rows]
    width = len(rows[0]) if rows else 1
    per = max(1, PARAMS_PER_STATEMENT // width)
    row_sql = "(" + ", ".join(["%s"] * width) + ")"
    for i in range(0, len(rows), per):
        chunk = rows[i:i + per]
        yield head + " values " + ", ".join([row_sql] * len(chunk)), [v for r in chunk for v in r]


def _columns(rows: list[tuple]) -> list[list]:
    return [list(col) for col in zip(*rows)]


def _statements(kind: str, items: list[tuple[SimulatedEnquiry, lifecycle.Event]]) -> Iterator[tuple[str, list]]:
    if kind == "contact":
        yield INSERT_CONTACTS, _columns([(s.contact_id, c["full_name"], c["email"], c["phone"], c["address_line1"],
                                          c["town"], c["postcode"], c["preferred_channel"], e.at)
                                         for s, e in items if (c := s.new_contact)])
    elif kind == "create":
        d = [e.data for _, e in items]
        yield INSERT_ENQUIRIES, _columns([(x["enquiry_id"], x["reference"], x["contact_id"], x["type"], x["channel"],
                                           x["priority"], x["subject"], x["body"], e.at) for x, (_, e) in zip(d, items)])
    elif kind == "transition":
        yield UPDATE_ENQUIRIES, _columns([(s.enquiry_id, e.data["status"], e.data["assign_to"], e.data["version"], e.at)
                                          for s, e in items])
    elif kind == "note":
        yield INSERT_NOTES, _columns([(e.data["note_id"], s.enquiry_id, e.data["direction"],
                                       None if e.data["direction"] == "internal" else "email",
                                       texts.note(e.data["seed"], e.data["direction"]), e.at) for s, e in items])
    elif kind == "esc_request":
        yield INSERT_ESCALATIONS, _columns([(e.data["escalation_id"], s.enquiry_id,
                                             ESCALATION_REASONS[e.data["escalation_id"].int % len(ESCALATION_REASONS)], e.at)
                                            for s, e in items])
    elif kind == "esc_decide":
        yield DECIDE_ESCALATIONS, _columns([(e.data["escalation_id"], "approved" if e.data["approve"] else "rejected",
                                             "Agreed." if e.data["approve"] else "Not needed at this stage.", e.at)
                                            for s, e in items])
    elif kind == "soft_delete":
        yield SOFT_DELETE_ENQUIRIES, _columns([(s.enquiry_id, e.data["version"], e.at) for s, e in items])
    elif kind == "legal_hold":
        yield INSERT_LEGAL_HOLDS, _columns([(e.data["legal_hold_id"], s.enquiry_id, "Litigation: preserve all records.", e.at) for s, e in items])
    elif kind == "dispose":
        # notes and the contact follow by the database's cascade (sql/010_retention)
        yield DISPOSE_ENQUIRIES, _columns([(s.enquiry_id, e.data["version"], e.at) for s, e in items])
    else:  # pragma: no cover - lifecycle only emits the kinds above
        raise LabError(f"generator: unknown event kind {kind}")


def _load_batch(conn: psycopg.Connection, key: str, unit: Unit, batch_no: int, count: int,
                sims: list[SimulatedEnquiry], start_round: int = 0) -> int:
    """Apply a batch's events round by round (the r-th event of every enquiry), one statement per
    (kind, acting staff member), one transaction per round, from `start_round` (the rounds an
    interrupted run committed are not applied again); returns the number of events applied.

    A transaction per round, not per batch, because PostgreSQL re-checks every foreign key of a
    row updated in the transaction that inserted it (or last updated it), changed or not: a
    batch-long transaction made each enquiry's ~5 workflow updates re-check its contact, type,
    channel and priority every time (17% of the server's instructions). Within a round each
    enquiry changes at most once."""
    rounds: dict[int, list] = defaultdict(list)
    for s in sims:
        for r, e in enumerate(s.events):
            rounds[r].append((s, e))
    plan, label = unit.plan, unit.label
    total = sum(len(s.events) + bool(s.new_contact) for s in sims)
    # On Citus a transaction acts as one role: Citus opens each worker connection as the role
    # current at the time and replays the transaction's SET LOCAL ROLEs on it, which a staff role
    # may not follow. There a round is split into one step per acting role (within a round each
    # enquiry has one event, and a new contact goes with its enquiry's creator, so the order
    # between roles does not matter); the bookkeeping counts steps ("rounds_done").
    with conn.cursor() as probe:
        on_citus = plan_citus_initial_status(probe) is not None
    steps = []
    for r in sorted(rounds):
        if on_citus:
            roles = sorted({e.role for _, e in rounds[r]})
            steps += [[(s, e) for s, e in rounds[r] if e.role == role] for role in roles]
        else:
            steps.append(rounds[r])
    last = len(steps) - 1   # -1: continued enquiries that had all settled
    events = 0
    if last < 0:
        conn.execute("insert into lab_meta.generation_batches (run_key, department, batch_no, enquiries, events) "
                     "values (%s, %s, %s, %s, 0)", [key, label, batch_no, count])
        return 0
    # Pipeline mode: a round's statements go out back to back and the server reports at its
    # commit; the first refusal aborts that round's transaction, and nothing after it is sent.
    with conn.pipeline():
        for r, step in enumerate(steps):
            if r < start_round:
                continue
            with conn.transaction(), conn.cursor() as cur:
                events += _apply_round(cur, plan, step)
                # the bookkeeping commits with the round it describes
                if r == last:
                    cur.execute("delete from lab_meta.batches_in_progress where run_key = %s and department = %s "
                                "and batch_no = %s", [key, label, batch_no])
                    cur.execute("insert into lab_meta.generation_batches (run_key, department, batch_no, enquiries, events) "
                                "values (%s, %s, %s, %s, %s)",
                                [key, label, batch_no, count, total])
                else:
                    cur.execute("insert into lab_meta.batches_in_progress (run_key, department, batch_no, enquiries, rounds_done) "
                                "values (%s, %s, %s, %s, %s) on conflict (run_key, department, batch_no) "
                                "do update set rounds_done = excluded.rounds_done",
                                [key, label, batch_no, count, r + 1])
    return events


_CITUS: "weakref.WeakKeyDictionary[psycopg.Connection, str | None]" = weakref.WeakKeyDictionary()


def plan_citus_initial_status(cur: psycopg.Cursor) -> str | None:
    """None on plain PostgreSQL; on a database whose tenant tables Citus distributes, the
    workflow's initial status (the VALUES form of the inserts names it). Asked once per connection."""
    key = cur.connection
    if key not in _CITUS:
        distributed = cur.connection.execute(
            "select exists (select 1 from pg_extension where extname = 'citus')").fetchone()[0]
        _CITUS[key] = cur.connection.execute(
            "select status from core.statuses where is_initial").fetchone()[0] if distributed else None
    return _CITUS[key]


def _apply_round(cur: psycopg.Cursor, plan: DepartmentPlan, events: list[tuple[SimulatedEnquiry, lifecycle.Event]]) -> int:
    """One round's events in the department's context, one statement per (kind, acting staff
    member); ends back in the session's own role. Returns the number of events applied (a new
    contact counts as one, as in the batch's bookkeeping)."""
    applied = 0
    # SET LOCAL, not set_config(): no lab role may call set_config (sql/036), which would let a
    # statement change its role or actor between its rows
    cur.execute(sql.SQL("set local enquiries.tenant_id = {}").format(sql.Literal(str(plan.tenant_id))))
    cur.execute("set local enquiries.business_time = 'per_row'")
    groups: dict[tuple, list] = defaultdict(list)
    for s, e in events:
        groups[(KIND_ORDER.index(e.kind), e.role, e.actor)].append((s, e))
        if e.kind == "create" and s.new_contact:  # every new contact of the round goes in first
            groups[(KIND_ORDER.index("contact"), e.role, e.actor)].append((s, e))
    for (kind_no, role, actor), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        cur.execute(sql.SQL("set local role {}").format(sql.Identifier(f"enquiries_{role}")))
        cur.execute(sql.SQL("set local enquiries.actor_id = {}").format(sql.Literal(str(actor))))
        for statement, columns in _statements(KIND_ORDER[kind_no], items):
            if plan_citus_initial_status(cur) is None:
                cur.execute(statement, columns)
            else:
                for text, params in _citus_statements(statement, columns, plan.tenant_id, plan_citus_initial_status(cur)):
                    cur.execute(text, params)
        applied += len(items)
    cur.execute("set local role none")
    return applied


@dataclass
class RunSummary:
    run_key: str
    enquiries: int
    events: int
    batches: int
    skipped_batches: int
    seconds: float
    departments: list[tuple[str, int]]
    seal_seconds: float = 0.0   # of `seconds`: sealing the trail at the end

    @property
    def rate(self) -> float:
        return self.enquiries / self.seconds if self.seconds else 0.0


def _rules(conn: psycopg.Connection) -> dict[tuple[str, str], set[str]]:
    rules: dict[tuple[str, str], set[str]] = defaultdict(set)
    for frm, to, role in conn.execute("select from_status, to_status, staff_role from core.status_transitions"):
        rules[(frm, to)].add(role)
    return dict(rules)


# (unit, first block, first enquiry, count, first round to apply); in a base run the units are
# the departments, in order
Job = tuple[int, int, int, int, int]


class _Engine:
    """Everything a batch needs, rebuilt identically in every worker process from the chain of
    runs (growth.py): departments and staff from the base run, one stream per run."""

    def __init__(self, chain: Chain | Params, rules: dict[tuple[str, str], set[str]]):
        chain = chain if isinstance(chain, Chain) else Chain((chain,))
        base = chain.base
        self.params = params = chain.current
        self.key = chain.key()
        self.rules = rules
        self.pools = texts.Pools.build(base.seed)
        self.plans = plan_departments(base, self.pools)
        demand = Workload.demand(base.start, params.end)
        self.workloads = [Workload(base.seed, plan.code, base.start, demand) for plan in self.plans]
        streams = chain.streams(lambda n: _sizes(n, base.departments, base.skew))
        self.calendars = {s.number: ArrivalCalendar(base.start, s.end) for s in streams}
        self.units = [Unit(streams[-1], plan, None) for plan in self.plans]
        if chain.previous_end is not None and params.end > chain.previous_end:
            self.units += [Unit(s, plan, chain.previous_end) for s in streams[:-1] for plan in self.plans
                           if s.sizes[plan.index]]

    def jobs(self, done: dict[str, set[int]] | None = None,
             in_progress: dict[tuple[str, int], tuple[int, int]] | None = None) -> list[Job]:
        """(unit, first block, first enquiry, count, first round) for every batch still to do,
        in time order across departments so parallel workers fill the audit partitions together.

        Batches are runs of whole blocks of CONTACT_BLOCK enquiries; `done` holds the blocks
        already committed per unit label, so a run resumes with any batch size. A batch an
        interrupted run left part-way, `in_progress[(label, first block)] = (enquiries,
        rounds done)`, is finished as it was cut, from its next round."""
        done, in_progress = done or {}, in_progress or {}
        out = []
        for number, unit in enumerate(self.units):
            per_batch = math.ceil((self.params.batch_size or auto_batch_size(unit.plan)) / CONTACT_BLOCK)
            taken = set(done.get(unit.label, set()))
            for (label, first_block), (count, rounds_done) in sorted(in_progress.items()):
                if label == unit.label:
                    out.append((number, first_block, first_block * CONTACT_BLOCK, count, rounds_done))
                    taken.update(_blocks(first_block, count))
            blocks = [b for b in range(math.ceil(unit.enquiries / CONTACT_BLOCK)) if b not in taken]
            run: list[int] = []
            for b in blocks + [None]:
                if run and (b is None or b != run[-1] + 1 or len(run) == per_batch):
                    first = run[0] * CONTACT_BLOCK
                    out.append((number, run[0], first, min((run[-1] + 1) * CONTACT_BLOCK, unit.enquiries) - first, 0))
                    run = []
                if b is not None:
                    run.append(b)
        return sorted(out, key=lambda j: (j[2] / max(self.units[j[0]].enquiries, 1), j[0]))

    def simulate(self, job: Job) -> list[SimulatedEnquiry]:
        number, _, first, count, _ = job
        unit = self.units[number]
        return _simulate_batch(self.params.seed, unit, self.params.end, first, count,
                               self.calendars[unit.stream.number], self.pools, self.rules,
                               self.workloads[unit.plan.index])

    def load(self, conn: psycopg.Connection, job: Job, sims: list[SimulatedEnquiry]) -> tuple[int, int]:
        number, batch_no, first, count, start_round = job   # batch_no: the batch's first block
        unit = self.units[number]
        plan = unit.plan
        try:
            events = _load_batch(conn, self.key, unit, batch_no, count, sims, start_round)
        except psycopg.Error as err:
            from enquiries_lab.errors import describe_db_error

            # The server went away (terminated backend 57P0x, connection failure 08xxx, a dead
            # socket): not a refusal. Each round and its bookkeeping commit together, so a
            # re-run resumes whether or not the last commit got through.
            if conn.broken or conn.closed or (err.sqlstate or "").startswith(("08", "57P0")):
                raise LabError(f"lost the connection to the server in batch {batch_no} of {plan.code} "
                               f"({describe_db_error(err)}); run the same command again to resume") from None
            raise LabError(f"generator bug: batch {batch_no} of {plan.code} was refused by the database "
                           f"({describe_db_error(err)}); nothing of that round of the batch was written") from None
        return (count if start_round == 0 and unit.since is None else 0), events

    def run(self, conn: psycopg.Connection, jobs: Iterable[Job]) -> Iterator[tuple[int, int]]:
        """(enquiries, events) of each job, in order. Simulating the next batch in a thread
        while this one loads was tried and was slower (docs/benchmarks.md, fifth pass): the
        client's Python and the loading contend for one interpreter, and the cores were busy."""
        for job in jobs:
            yield self.load(conn, job, self.simulate(job))


def _worker(dsn: str, params: Chain, rules: dict, todo: "multiprocessing.Queue", done: "multiprocessing.Queue") -> None:
    """A job process: takes jobs from `todo` until its None and reports each job's result, then
    "finished", on `done`; a LabError is reported as its message (the one line the user sees)."""
    try:
        try:
            conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as err:
            from enquiries_lab.errors import describe_db_error

            raise LabError(f"a generator process could not connect ({describe_db_error(err)})") from None
        with conn:
            for result in _Engine(params, rules).run(conn, _while_the_parent_lives(todo)):
                done.put(("result", result))
    except LabError as err:
        done.put(("error", str(err)))
        return
    done.put(("finished", None))


def _while_the_parent_lives(todo: "multiprocessing.Queue") -> Iterator[Job]:
    """The jobs of the queue until its None, or until the process that started this one is gone
    (killed: the queue still holds the jobs it put there, and nobody would see their results)."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    while (job := todo.get()) is not None:
        if parent is not None and not parent.is_alive():
            return
        yield job


def _in_processes(dsn: str, params: Chain, rules: dict, todo: list[Job], jobs: int) -> Iterator[tuple[int, int]]:
    """Results of `todo` run by `jobs` processes that take the next job as they become free."""
    import multiprocessing
    import queue

    ctx = multiprocessing.get_context("spawn")
    jobs_q, done_q = ctx.Queue(), ctx.Queue()
    for job in todo:
        jobs_q.put(job)
    for _ in range(jobs):
        jobs_q.put(None)   # one each: a process stops taking jobs after its first None
    workers = [ctx.Process(target=_worker, args=(dsn, params, rules, jobs_q, done_q), daemon=True) for _ in range(jobs)]
    for w in workers:
        w.start()
    try:
        finished = 0
        while finished < jobs:
            try:
                kind, value = done_q.get(timeout=0.5)
            except queue.Empty:
                kind = None
            if any(w.exitcode not in (None, 0) for w in workers):
                # killed, or a bug (its traceback is above): its batch in flight rolled back
                raise LabError("a generator process ended unexpectedly; the batches it committed are complete, "
                               "run the same command again to resume")
            if kind is None:
                continue
            if kind == "error":
                raise LabError(value)
            if kind == "finished":
                finished += 1
            else:
                yield value
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
        for w in workers:
            w.join()
        # jobs nobody will take any more must not keep this process from exiting (a large run's
        # queue holds more than a pipe's buffer)
        jobs_q.cancel_join_thread()


def generate(conn: psycopg.Connection, params: Params, *, progress: Callable[[int, int], None] | None = None,
             jobs: int = 1, dsn: str | None = None, stage: Callable[[str], None] | None = None) -> RunSummary:
    """Generate (or resume) the dataset for `params` on an autocommit admin connection to a
    migrated lab database, or grow the dataset it holds to `params` (growth.py).
    `progress(enquiries_done, events_done)` is called after each batch, `stage(what)` when the
    batches are done and the trail is sealed (a quarter of the time at a million enquiries).

    With `jobs` > 1, batches run in that many worker processes connecting to `dsn` (the same
    database); the data is the same whatever the number of jobs."""
    params.validate()
    if not conn.autocommit:
        raise LabError("generate() needs an autocommit connection (each round of a batch is its own transaction)")
    if not 1 <= jobs <= MAX_JOBS:
        raise LabError(f"--jobs must be between 1 and {MAX_JOBS}, got {jobs}")
    if jobs > 1 and not dsn:
        raise LabError("parallel generation needs the DSN for its worker connections")
    started = time.perf_counter()
    conn.execute(BOOKKEEPING)
    recorded = conn.execute("select params, finished_at is not null from lab_meta.generation_runs "
                            "order by coalesce((params ->> 'generation')::int, 0)").fetchall()
    if not recorded and conn.execute("select exists (select 1 from tenant.departments)").fetchone()[0]:
        raise LabError("this database already holds other data (departments no generation run made); "
                       "run `enquiries-lab reset` first or use another database")
    chain = chain_for(recorded, params)
    key = chain.key()
    conn.execute("insert into lab_meta.generation_runs (run_key, params) values (%s, %s) on conflict do nothing",
                 [key, json.dumps({**as_stored(params), "generation": len(chain.runs) - 1})])
    done: dict[str, set[int]] = defaultdict(set)
    for department, first_block, count in conn.execute(
            "select department, batch_no, enquiries from lab_meta.generation_batches where run_key = %s", [key]):
        done[department].update(_blocks(first_block, count))
    in_progress = {(department, first_block): (count, rounds_done) for department, first_block, count, rounds_done in conn.execute(
        "select department, batch_no, enquiries, rounds_done from lab_meta.batches_in_progress where run_key = %s", [key])}
    conn.execute("select audit.ensure_partitions(%s, %s)", [(params.start - timedelta(days=62)).date(), params.end.date()])

    rules = _rules(conn)
    profiles.validate_against_workflow(profiles.DEFAULT_BEHAVIOUR, set(rules))
    engine = _Engine(chain, rules)
    for plan in engine.plans:
        _provision(conn, plan, params.start - PROVISIONING_LEAD)
    todo = engine.jobs(done, in_progress)
    added = {u.label: u.enquiries for u in engine.units if u.since is None}   # continued ones are not new
    already = (len(chain.runs) > 1 and chain.runs[-2].enquiries) + sum(
        min(len(blocks) * CONTACT_BLOCK, added[label]) for label, blocks in done.items() if label in added) \
        + sum(count for (label, _), (count, _) in in_progress.items() if label in added)
    skipped = sum(1 for _ in conn.execute("select 1 from lab_meta.generation_batches where run_key = %s", [key]))
    if progress and already:
        progress(already, 0)

    total_enquiries = total_events = 0
    results = engine.run(conn, todo) if jobs == 1 else _in_processes(dsn, chain, rules, todo, jobs)
    with contextlib.closing(results):
        for count, events in results:
            total_enquiries += count
            total_events += events
            if progress:
                progress(count, events)
    conn.execute("update lab_meta.generation_runs set finished_at = now() where run_key = %s and finished_at is null", [key])
    # Seal what was written (and anything before it): an unsealed trail can be rewritten by a
    # superuser without the seals noticing, and the audit_trail_sealed check expects it sealed.
    sealing = time.perf_counter()
    if stage:
        stage("sealing the audit trail (one hash chain over every entry not sealed yet)")
    seals.seal(conn)
    finished = time.perf_counter()
    return RunSummary(key, total_enquiries, total_events, len(todo), skipped, finished - started,
                      [(u.plan.code, u.enquiries) for u in engine.units if u.since is None], finished - sealing)


# A multiset digest in two levels: each row's md5, those sorted and hashed per bucket (the first
# three hex digits), then the buckets' digests in order. One string holding every row, as a
# single string_agg would build, passes PostgreSQL's 1 GB limit near a million enquiries;
# here the largest string is one bucket's row hashes (~2 MB at a million enquiries).
# Ordering by hashes ("C" collation) makes the digest independent of the server's collation.
DIGEST = """
select md5(coalesce(string_agg(b.h, '' order by b.k), ''))
from (select left(r.h, 3) as k, md5(string_agg(r.h, '' order by r.h)) as h
      from (select md5({row}) collate "C" as h from {source}) r
      group by 1) b
"""
AUDIT_ROW = """jsonb_build_array(table_name, record_id, occurred_at, action, actor_id, db_role, backdated,
                                 changed_columns, row_data, old_values)::text"""


def dataset_digest(conn: psycopg.Connection) -> str:
    """A digest of the business data: every tenant row and every audit entry's business fields
    (not entry ids, wall-clock times, transaction ids or login), so two runs with the same seed
    and parameters give the same digest on any server."""
    with conn.transaction():
        conn.execute("set local timezone = 'UTC'")  # timestamps render the same on every server
        return _digest(conn)


def _digest(conn: psycopg.Connection) -> str:
    parts = []
    tables = [r[0] for r in conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'tenant' and c.relkind = 'r' order by 1")]
    for table in tables:
        parts.append(conn.execute(sql.SQL(DIGEST).format(
            row=sql.SQL("to_jsonb(x)::text"), source=sql.SQL("tenant.{} x").format(sql.Identifier(table)))).fetchone()[0])
    parts.append(conn.execute(sql.SQL(DIGEST).format(row=sql.SQL(AUDIT_ROW), source=sql.SQL("audit.entries"))).fetchone()[0])
    return hashlib.sha256("".join(parts).encode()).hexdigest()
