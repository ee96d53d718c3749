"""One enquiry's life, simulated: the events a department's staff perform on it, in order.

Interprets the department's Behaviour (profiles.py) over the workflow the database holds
(core.status_transitions, passed in as `rules`): the next status is drawn from the
profile's weights, and who makes the move is decided by which roles the database allows.
Every random draw comes from the enquiry's own Random, so one enquiry's changes never shift
another's.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime, timedelta, timezone

from enquiries_lab.generator.profiles import Behaviour

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RETENTION = timedelta(days=7 * 365 + 2)   # the database's rule is '7 years'; leave a margin for leap days


def time_ordered_uuid(at: datetime, bits: int) -> uuid.UUID:
    """UUID version 7, as core.time_ordered_uuid(at, random_bits) in sql/005: `at` in Unix
    milliseconds in the first 48 bits, then the low 80 bits of `bits` with the version (7)
    and variant bits set."""
    ms = (at - UNIX_EPOCH) // timedelta(milliseconds=1)   # exact, as the database computes it
    value = (ms << 80) | (bits & ((1 << 80) - 1))
    value = (value & ~(0xF << 76)) | (0x7 << 76)     # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)     # variant 10 (RFC 9562)
    return uuid.UUID(int=value)


def new_uuid(rng: random.Random, at: datetime) -> uuid.UUID:
    """A time-ordered key of `at` over bits drawn from `rng`. Recent records stay together at
    the right of every index they are keyed in (random keys cost a third of a million-enquiry
    run's buffer misses, docs/benchmarks.md)."""
    return time_ordered_uuid(at, rng.getrandbits(128))   # the same draw as ever, so no other value moves


@dataclass
class Event:
    kind: str            # create | transition | note | esc_request | esc_decide | soft_delete | legal_hold | dispose
    at: datetime
    role: str
    actor: uuid.UUID
    data: dict = field(default_factory=dict)


@dataclass
class Staffing:
    caseworkers: list[uuid.UUID]
    supervisors: list[uuid.UUID]
    retention_officers: list[uuid.UUID]


def _delay(rng: random.Random, median_days: float, sigma: float) -> timedelta:
    return timedelta(days=median_days * math.exp(rng.gauss(0.0, sigma)))


def _pick(rng: random.Random, weights: dict[str, float]) -> str | None:
    """A weighted choice; the key "" means "stays where it is" (None)."""
    r = rng.random() * sum(weights.values())
    for key, w in weights.items():
        r -= w
        if r < 0:
            return key or None
    return None


def _dwell(rng: random.Random, b: Behaviour, status: str, at: datetime, queue: Callable[[datetime], timedelta]) -> timedelta:
    """How long an enquiry stays in `status` entered at `at`: the handling time of the status,
    plus its share of the department's queue wait at that moment (workload.py)."""
    share = b.queue_share.get(status, 0.0)
    waited = queue(at) * (share * math.exp(rng.gauss(0.0, b.queue_sigma))) if share else timedelta(0)
    return _delay(rng, b.median_days[status], b.sigma) + waited


def simulate(rng: random.Random, enquiry_id: uuid.UUID, arrival: datetime, staff: Staffing,
             behaviour: Behaviour, rules: dict[tuple[str, str], set[str]], create: dict,
             queue: Callable[[datetime], timedelta]) -> list[Event]:
    """The events of one enquiry's whole life, from arrival until it settles (disposal
    included), in time order; `queue(t)` is the department's queue wait at t.

    The life does not depend on the simulation clock: the caller keeps the events up to its
    end. So the events up to one end are exactly the first events of the life up to any later
    end, and a dataset grown to a later end continues each open enquiry from where it was
    (run.py, growth.py)."""
    b = behaviour
    intake = rng.choice(staff.caseworkers)
    events = [Event("create", arrival, "caseworker", intake, create)]
    t = arrival
    version = 1
    status = "new"
    assignee: uuid.UUID | None = None
    closed_at: datetime | None = None
    escalation_count = 0

    def mover(frm: str, to: str) -> tuple[str, uuid.UUID]:
        allowed = rules[(frm, to)]
        if "caseworker" in allowed:
            return "caseworker", assignee or intake
        return "supervisor", rng.choice(staff.supervisors)

    if rng.random() < b.duplicate_rate:
        t += timedelta(minutes=5 + rng.random() * 600)
        version += 1
        events.append(Event("soft_delete", t, "supervisor", rng.choice(staff.supervisors), {"version": version}))
        dispose_at = t + RETENTION + timedelta(days=rng.random() * 60)   # retention runs from deletion
        events.append(Event("dispose", dispose_at, "retention_officer", rng.choice(staff.retention_officers),
                            {"version": version + 1}))
        return events

    while True:
        weights = dict(b.next_status.get(status, {}))
        if status == "in_progress" and escalation_count >= 2:
            weights.pop("escalated", None)
        target = _pick(rng, weights)
        if target is None:
            break
        previous = t
        t += _dwell(rng, b, status, t, queue)
        if status in ("in_progress", "awaiting_citizen", "escalated", "reopened"):
            # correspondence while the case is worked, between the last move and the next
            for _ in range(int(rng.expovariate(1.0 / b.note_rate))):
                note_at = previous + (t - previous) * rng.random()
                direction = rng.choice(["internal", "outbound", "inbound"])
                events.append(Event("note", note_at, "caseworker", assignee or intake,
                                    {"note_id": new_uuid(rng, note_at), "direction": direction, "seed": rng.getrandbits(32)}))
            if assignee and rng.random() < b.reassignment_rate and len(staff.caseworkers) > 1:
                new = rng.choice([c for c in staff.caseworkers if c != assignee])
                t += timedelta(hours=1 + rng.random() * 20)
                version += 1
                events.append(Event("transition", t, "supervisor", rng.choice(staff.supervisors),
                                    {"status": status, "assign_to": new, "version": version}))
                assignee = new
                t += timedelta(hours=1)
        if target == "escalated":
            # at the clock's end a request may be undecided, or approved with the move still to
            # come: live work, as on any day
            escalation_id = new_uuid(rng, t)
            events.append(Event("esc_request", t, "caseworker", assignee, {"escalation_id": escalation_id}))
            t += timedelta(hours=2 + rng.random() * 46)
            approve = rng.random() >= b.escalation_rejection_rate
            deciders = staff.supervisors
            events.append(Event("esc_decide", t, "supervisor", rng.choice(deciders),
                                {"escalation_id": escalation_id, "approve": approve}))
            t += timedelta(hours=1 + rng.random() * 5)
            if not approve:
                escalation_count += 1   # do not ask for ever
                continue
            escalation_count += 1
        if target == "assigned":
            chosen = rng.choice(staff.caseworkers)
            if rng.random() < b.supervisor_assigns_rate:
                role, actor = "supervisor", rng.choice(staff.supervisors)
            else:
                role, actor = "caseworker", chosen
            assignee = chosen
            version += 1
            events.append(Event("transition", t, role, actor, {"status": target, "assign_to": chosen, "version": version}))
        else:
            role, actor = mover(status, target)
            version += 1
            events.append(Event("transition", t, role, actor, {"status": target, "assign_to": assignee, "version": version}))
        status = target
        if status in ("closed", "withdrawn"):
            closed_at = t
        elif status == "reopened":
            closed_at = None

    if status in ("closed", "withdrawn") and closed_at is not None:
        held = status == "closed" and rng.random() < b.legal_hold_rate
        if held:
            hold_at = closed_at + timedelta(days=1 + rng.random() * 90)
            events.append(Event("legal_hold", hold_at, "supervisor", rng.choice(staff.supervisors),
                                {"legal_hold_id": new_uuid(rng, hold_at)}))
        dispose_at = closed_at + RETENTION + timedelta(days=rng.random() * 60)
        if not held:
            version += 1
            events.append(Event("dispose", dispose_at, "retention_officer", rng.choice(staff.retention_officers),
                                {"version": version}))
    events.sort(key=lambda e: e.at)
    return events
