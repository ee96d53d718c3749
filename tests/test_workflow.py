"""The enquiry workflow (sql/003, sql/009): status transitions, roles, escalation approval,
assignment history, derived timestamps and optimistic concurrency, on a real server.

Every refusal asserts the exact SQLSTATE and that nothing was written: the row is unchanged
and audit.entries (counted as superuser) has no new rows.

The tests share one copy of the two-department world per module (`w`); each works on
enquiries (and staff) of its own, so they do not depend on each other or on order.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from datetime import timedelta

import psycopg
import pytest
from dbtools import _new_name, create_db, drop_db
from world import OPERATOR, load_world

from enquiries_lab import casework
from enquiries_lab.errors import ConflictError, DatabaseError
from enquiries_lab.session import Actor, act_as

REFUSALS = (DatabaseError, psycopg.Error)
_references = iter(range(1, 10**6))




# -- helpers --------------------------------------------------------------------------------------
def audit_count(su) -> int:
    return su.execute("select count(*) from audit.entries").fetchone()[0]


def row_of(su, table: str, key: str, value) -> dict:
    cur = su.execute(f"select * from tenant.{table} where {key} = %s", [value])
    row = cur.fetchone()
    assert row is not None, (table, value)
    return dict(zip([d.name for d in cur.description], row))


def enquiry_row(su, enquiry_id) -> dict:
    return row_of(su, "enquiries", "enquiry_id", enquiry_id)


def refuse(conn, actor, action, sqlstate: str, su, *, enquiry_id=None):
    """Run `action(cur)` as `actor`; assert it fails with `sqlstate` and writes nothing."""
    before_audit = audit_count(su)
    before_row = enquiry_row(su, enquiry_id) if enquiry_id is not None else None
    with pytest.raises(REFUSALS) as e:
        with act_as(conn, actor) as cur:
            action(cur)
    assert e.value.sqlstate == sqlstate, f"expected {sqlstate}, got {e.value.sqlstate}: {e.value}"
    assert audit_count(su) == before_audit, "a refused change wrote audit entries"
    if enquiry_id is not None:
        assert enquiry_row(su, enquiry_id) == before_row, "a refused change altered the enquiry"
    return e.value


def new_enquiry(conn, actor: Actor, contact_id, *, priority: str = "normal", enquiry_type: str = "general") -> uuid.UUID:
    with act_as(conn, actor) as cur:
        return casework.create_enquiry(cur, reference=f"WF-{next(_references):06d}", contact_id=contact_id,
                                       enquiry_type=enquiry_type, channel="web_form", subject="A question",
                                       body="Some text.", priority=priority)


def in_progress(conn, dept, *, approved: bool = False) -> tuple[uuid.UUID, int]:
    """A new enquiry, taken by the caseworker and started (like the world's own enquiry);
    with `approved`, it also has one approved escalation not yet used."""
    cw = dept.actor("caseworker")
    enquiry = new_enquiry(conn, cw, dept.contact_id)
    with act_as(conn, cw) as cur:
        v = casework.transition(cur, enquiry, "assigned", version=1, assign_to=cw.staff_id)
        v = casework.transition(cur, enquiry, "in_progress", version=v)
    if approved:
        approve_escalation(conn, dept, enquiry)
    return enquiry, v


def approve_escalation(conn, dept, enquiry) -> uuid.UUID:
    with act_as(conn, dept.actor("caseworker")) as cur:
        escalation = casework.request_escalation(cur, enquiry, "needs a senior decision")
    with act_as(conn, dept.actor("supervisor")) as cur:
        casework.decide_escalation(cur, escalation, approve=True)
    return escalation


def status_version(su, enquiry_id) -> tuple[str, int]:
    row = enquiry_row(su, enquiry_id)
    return row["status"], row["version"]


def load_workflow(su) -> tuple[list[str], str, dict[tuple[str, str], dict]]:
    """Statuses, the initial status and the transitions {(from, to): {roles, requires_approval}} from the DB."""
    statuses = [s for s, in su.execute("select status from core.statuses order by sort_order")]
    initial, = su.execute("select status from core.statuses where is_initial").fetchone()
    rules: dict[tuple[str, str], dict] = {}
    for frm, to, role, approval in su.execute(
            "select from_status, to_status, staff_role, requires_approval from core.status_transitions"):
        rule = rules.setdefault((frm, to), {"roles": set(), "requires_approval": False})
        rule["roles"].add(role)
        rule["requires_approval"] |= approval
    return statuses, initial, rules


def path_to(rules, initial: str, target: str) -> list[tuple[str, str]]:
    """A shortest legal path initial -> target (BFS over core.status_transitions)."""
    previous = {initial: None}
    queue = deque([initial])
    while queue:
        here = queue.popleft()
        for frm, to in sorted(rules):
            if frm == here and to not in previous:
                previous[to] = here
                queue.append(to)
    assert target in previous, f"no legal path from {initial} to {target}"
    path, node = [], target
    while previous[node] is not None:
        path.append((previous[node], node))
        node = previous[node]
    return path[::-1]


def walk_to(conn, su, dept, rules, initial: str, target: str, enquiry_id) -> int:
    """Move a new enquiry along legal transitions to `target` (a caseworker where allowed,
    else a supervisor; an approved escalation where needed); returns its version."""
    cw, sup = dept.actor("caseworker"), dept.actor("supervisor")
    version = 1
    for frm, to in path_to(rules, initial, target):
        rule = rules[(frm, to)]
        actor = cw if "caseworker" in rule["roles"] else sup
        assert actor.role in rule["roles"], (frm, to)
        if rule["requires_approval"]:
            approve_escalation(conn, dept, enquiry_id)
        with act_as(conn, actor) as cur:
            if frm == initial:  # taken: the caseworker self-assigns
                version = casework.transition(cur, enquiry_id, to, version=version, assign_to=cw.staff_id)
            else:
                version = casework.transition(cur, enquiry_id, to, version=version)
    assert status_version(su, enquiry_id) == (target, version)
    return version


# -- every illegal transition -------------------------------------------------------------------
# The statuses as shipped in sql/003; test_status_list_matches_database checks this list against
# the database, so a status added there cannot go untested here.
STATUSES = ["new", "assigned", "in_progress", "awaiting_citizen", "escalated", "resolved", "closed", "reopened",
            "withdrawn"]


@pytest.mark.req("REQ-WF-1")
def test_status_list_matches_database(su):
    statuses, initial, rules = load_workflow(su)
    assert sorted(statuses) == sorted(STATUSES)
    assert initial == "new"
    assert not any(to == initial for _, to in rules), "a transition leads into the initial status"
    for status in statuses:  # every status is reachable, so every from-status below is tested
        path = path_to(rules, initial, status)
        assert path == [] if status == initial else path[-1][1] == status
        assert all(step in rules for step in path)


@pytest.mark.parametrize("from_status", STATUSES)
@pytest.mark.req("REQ-WF-1")
def test_every_illegal_transition_is_refused(w, su, conn, from_status):
    statuses, initial, rules = load_workflow(su)
    illegal = [to for to in statuses if to != from_status and (from_status, to) not in rules]
    assert illegal, from_status
    a = w.a
    enquiry = new_enquiry(conn, a.actor("caseworker"), a.contact_id)
    version = walk_to(conn, su, a, rules, initial, from_status, enquiry)
    # an approved, unused escalation, so a missing approval is never the reason for a refusal
    approve_escalation(conn, a, enquiry)
    for to in illegal:
        for role in ("caseworker", "supervisor"):
            err = refuse(conn, a.actor(role), lambda cur: casework.transition(cur, enquiry, to, version=version),
                         "EL100", su, enquiry_id=enquiry)
            assert f"{from_status} -> {to}" in str(err)
    assert status_version(su, enquiry) == (from_status, version)


def assert_refused_as_owner_and_superuser(su, sqlstate: str, statements: list[str]) -> None:
    """Each statement fails with `sqlstate`, run by the superuser and as the owner."""
    for as_owner in (False, True):
        for statement in statements:
            with pytest.raises(psycopg.Error) as err:
                with su.transaction():
                    if as_owner:
                        su.execute("set local role enquiries_owner")
                    su.execute(statement)
            assert err.value.sqlstate == sqlstate, (statement, as_owner, err.value)


@pytest.mark.req("REQ-WF-1")
def test_a_workflow_status_is_never_deleted_or_renamed(w, su, conn):
    """sql/003 dropped the status foreign key (the workflow trigger checks every status): no
    status can disappear from under the enquiries and audit entries that name it, whether
    enquiries hold it ('in_progress') or not, for the owner and a superuser alike."""
    enquiry, _ = in_progress(conn, w.a)
    assert status_version(su, enquiry)[0] == "in_progress"
    before = su.execute("select array_agg(s order by status) from core.statuses s").fetchone()[0]
    assert_refused_as_owner_and_superuser(su, "EL207", [
        "delete from core.statuses where status = 'in_progress'",
        "delete from core.statuses",
        "update core.statuses set status = 'working' where status = 'in_progress'",
        "truncate core.statuses cascade"])
    # describing a status is still allowed (and rolled back here: the world is shared)
    with su.transaction(force_rollback=True):
        assert su.execute("update core.statuses set label = 'Being worked on' where status = 'in_progress'").rowcount == 1
    assert su.execute("select array_agg(s order by status) from core.statuses s").fetchone()[0] == before


def test_a_channel_or_priority_is_never_deleted_or_renamed(w, su):
    """sql/004 replaced the foreign keys into core.channels and core.priorities by types compiled
    from them: no value may disappear from under the rows and audit entries that name it, in
    use or not, for the owner and a superuser alike."""
    before = su.execute("select (select array_agg(c order by channel) from core.channels c)::text, "
                        "(select array_agg(p order by priority) from core.priorities p)::text").fetchone()
    assert_refused_as_owner_and_superuser(su, "EL207", [
        "delete from core.channels where channel = 'email'",
        "delete from core.channels",
        "update core.channels set channel = 'e_mail' where channel = 'email'",
        "truncate core.channels cascade",
        "delete from core.priorities where priority = 'low'",
        "update core.priorities set priority = 'routine' where priority = 'normal'",
        "truncate core.priorities cascade"])
    with su.transaction(force_rollback=True):   # describing one is still allowed
        assert su.execute("update core.channels set label = 'E-mail' where channel = 'email'").rowcount == 1
        assert su.execute("update core.priorities set sla_factor = 0.9 where priority = 'normal'").rowcount == 1
    assert su.execute("select (select array_agg(c order by channel) from core.channels c)::text, "
                      "(select array_agg(p order by priority) from core.priorities p)::text").fetchone() == before


def test_channels_and_priorities_are_checked_by_types_compiled_from_their_tables(world):
    """Every column naming a channel or a priority refuses a value its table does not hold
    (23514 naming the type), and a row added to the table is accepted from the next statement,
    also in a session that checked values before (the compiled check is a catalog change)."""
    a = world.a
    cw = a.actor("caseworker")

    def attempts(channel: str, priority: str) -> dict[str, object]:
        """What writing `channel` / `priority` in each column gives: None, or the refusal."""
        out = {}
        writes = {
            "contacts.preferred_channel": lambda cur: cur.execute(
                "insert into tenant.contacts (full_name, preferred_channel) values ('A Citizen', %s)", [channel]),
            "enquiries.channel": lambda cur: new_enquiry_with(cur, channel=channel, priority="normal"),
            "enquiries.priority": lambda cur: new_enquiry_with(cur, channel="email", priority=priority),
            "notes.channel": lambda cur: casework.add_note(cur, a.enquiry_id, "Replied.", direction="outbound",
                                                           channel=channel),
        }
        for column, write in writes.items():
            try:
                with act_as(conn, cw) as cur:
                    write(cur)
                out[column] = None
            except (psycopg.Error, DatabaseError) as err:
                out[column] = (err.sqlstate, str(err))
        return out

    def new_enquiry_with(cur, *, channel: str, priority: str):
        return casework.create_enquiry(cur, reference=f"WF-{next(_references):06d}", contact_id=a.contact_id,
                                       enquiry_type="general", channel=channel, subject="A question",
                                       body="Some text.", priority=priority)

    with world.connect() as conn:
        assert set(attempts("email", "normal").values()) == {None}
        refused = attempts("sms", "whenever")
        for column, refusal in refused.items():
            domain = "core.priority" if column.endswith("priority") else "core.channel"
            assert refusal is not None and refusal[0] == "23514" and domain in refusal[1], (column, refusal)
        with psycopg.connect(world.dsn, autocommit=True) as su:
            su.execute("insert into core.channels (channel, label) values ('sms', 'Text message')")
            after_channel = attempts("sms", "whenever")
            assert {c for c, refusal in after_channel.items() if refusal} == {"enquiries.priority"}, after_channel
            su.execute("insert into core.priorities (priority, label, sla_factor, sort_order) "
                       "values ('whenever', 'Whenever', 3, 50)")
        assert attempts("sms", "whenever") == dict.fromkeys(refused)


# -- the compiled workflow (sql/003) ------------------------------------------------------------------
@pytest.mark.req("REQ-WF-1")
def test_the_compiled_workflow_answers_what_the_tables_say(su):
    """The trigger asks generated functions, not the tables: for every pair of statuses and every
    role (and no role), they must give the table's answer."""
    statuses, initial, _ = load_workflow(su)
    roles = dict(su.execute("select staff_role, db_role from core.staff_roles"))
    table = {(f, t, r): a for f, t, r, a in su.execute(
        "select from_status, to_status, staff_role, requires_approval from core.status_transitions")}
    assert len(table) > 20 and any(table.values())
    for frm in statuses:
        for to in statuses:
            for role in [*roles, None]:
                if (frm, to, role) in table:
                    expected = "needs_approval" if table[(frm, to, role)] else "allowed"
                elif any((frm, to) == (f, t) for f, t, _ in table):
                    expected = "other_role"
                else:
                    expected = None
                got = su.execute("select core.workflow_step(%s, %s, %s)", [frm, to, role]).fetchone()[0]
                assert got == expected, (frm, to, role)
    for status, terminal in su.execute("select status, is_terminal from core.statuses"):
        assert su.execute("select core.workflow_is_terminal(%s)", [status]).fetchone()[0] is terminal, status
    assert su.execute("select core.workflow_initial_status()").fetchone()[0] == initial
    for role, may in su.execute("select staff_role, may_assign_others from core.staff_roles"):
        assert su.execute("select core.workflow_may_assign_others(%s)", [role]).fetchone()[0] is may, role
    with su.transaction(force_rollback=True):
        for role, db_role in roles.items():
            su.execute(f"set local role {db_role}")
            assert su.execute("select core.current_staff_role()").fetchone()[0] == role
            su.execute("reset role")
        assert su.execute("select core.current_staff_role()").fetchone()[0] is None  # a superuser is no staff role


@pytest.mark.req("REQ-WF-1")
def test_a_change_to_the_workflow_tables_takes_effect_at_the_next_statement(world):
    """Rules live in the tables: a session that already ran the trigger (its plans cached) meets
    a committed change at its next statement, in both directions, and a rolled-back change
    leaves the functions as they were."""
    a = world.a
    cw = a.actor("caseworker")
    with world.connect() as conn, psycopg.connect(world.dsn, autocommit=True) as owner:
        first, v1 = in_progress(conn, a)
        second, v2 = in_progress(conn, a)
        rule = "from_status = 'in_progress' and to_status = 'awaiting_citizen' and staff_role = 'caseworker'"
        with owner.transaction(force_rollback=True):
            owner.execute("set local role enquiries_owner")
            owner.execute(f"delete from core.status_transitions where {rule}")
            assert owner.execute("select core.workflow_step('in_progress', 'awaiting_citizen', 'caseworker')"
                                 ).fetchone()[0] == "other_role"
        # rolled back: the caseworker's move is still allowed
        with act_as(conn, cw) as cur:
            v1 = casework.transition(cur, first, "awaiting_citizen", version=v1)
        owner.execute(f"delete from core.status_transitions where {rule}")
        try:
            with pytest.raises(REFUSALS) as err:
                with act_as(conn, cw) as cur:
                    casework.transition(cur, second, "awaiting_citizen", version=v2)
            assert err.value.sqlstate == "EL101"
        finally:
            owner.execute("insert into core.status_transitions (from_status, to_status, staff_role, description) "
                          "values ('in_progress', 'awaiting_citizen', 'caseworker', 'Information requested from the citizen')")
        with act_as(conn, cw) as cur:
            assert casework.transition(cur, second, "awaiting_citizen", version=v2) == v2 + 1


# -- wrong role -------------------------------------------------------------------------------------
@pytest.mark.req("REQ-WF-1")
def test_caseworker_cannot_return_an_escalated_enquiry(w, su, conn):
    a = w.a
    enquiry, v = in_progress(conn, a, approved=True)
    with act_as(conn, a.actor("caseworker")) as cur:
        v = casework.transition(cur, enquiry, "escalated", version=v)
    for to in ("in_progress", "resolved"):  # supervisor-only moves out of escalated
        refuse(conn, a.actor("caseworker"), lambda cur: casework.transition(cur, enquiry, to, version=v),
               "EL101", su, enquiry_id=enquiry)
    with act_as(conn, a.actor("supervisor")) as cur:
        assert casework.transition(cur, enquiry, "in_progress", version=v) == v + 1


@pytest.mark.req("REQ-WF-1")
def test_caseworker_cannot_reopen_a_closed_enquiry(w, su, conn):
    _, initial, rules = load_workflow(su)
    a = w.a
    enquiry = new_enquiry(conn, a.actor("caseworker"), a.contact_id)
    v = walk_to(conn, su, a, rules, initial, "closed", enquiry)
    refuse(conn, a.actor("caseworker"), lambda cur: casework.transition(cur, enquiry, "reopened", version=v),
           "EL101", su, enquiry_id=enquiry)
    with act_as(conn, a.actor("supervisor")) as cur:
        assert casework.transition(cur, enquiry, "reopened", version=v) == v + 1


@pytest.mark.req("REQ-WF-1")
def test_auditor_cannot_change_status(w, su, conn):
    # The auditor holds no UPDATE privilege on tenant.enquiries: refused before any trigger.
    a = w.a
    enquiry, v = in_progress(conn, a, approved=True)
    for to in ("awaiting_citizen", "escalated", "resolved", "withdrawn"):
        refuse(conn, a.actor("auditor"), lambda cur: casework.transition(cur, enquiry, to, version=v),
               "42501", su, enquiry_id=enquiry)


@pytest.mark.req("REQ-WF-1")
def test_retention_officer_cannot_change_status(w, su, conn):
    # The retention officer holds UPDATE (for disposal). The workflow trigger
    # (b_enforce_workflow) runs before the retention trigger (c_enforce_retention), so a
    # status change is refused as a wrong-role transition, EL101, not EL303.
    a = w.a
    enquiry, v = in_progress(conn, a, approved=True)
    for to in ("awaiting_citizen", "escalated", "resolved", "withdrawn"):
        refuse(conn, a.actor("retention_officer"), lambda cur: casework.transition(cur, enquiry, to, version=v),
               "EL101", su, enquiry_id=enquiry)
    # a move no role may make is EL100 for the retention officer too
    refuse(conn, a.actor("retention_officer"), lambda cur: casework.transition(cur, enquiry, "closed", version=v),
           "EL100", su, enquiry_id=enquiry)


# -- new enquiries --------------------------------------------------------------------------------
INSERT_ENQUIRY = ("insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status, "
                  "assigned_to, version) values (%s, %s, 'general', 'email', 's', 'b', %s, %s, %s) returning enquiry_id")


def count_reference(su, reference: str) -> int:
    return su.execute("select count(*) from tenant.enquiries where reference = %s", [reference]).fetchone()[0]


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "new"])
@pytest.mark.req("REQ-WF-1")
def test_new_enquiry_must_start_in_the_initial_status(w, su, conn, status):
    a = w.a
    for actor in (a.actor("caseworker"), a.actor("supervisor")):
        refuse(conn, actor, lambda cur: cur.execute(INSERT_ENQUIRY, ["WF-BADSTART", a.contact_id, status, None, 1]),
               "EL100", su)
    assert count_reference(su, "WF-BADSTART") == 0


@pytest.mark.req("REQ-WF-1")
def test_new_enquiry_must_start_unassigned(w, su, conn):
    a = w.a
    for actor in (a.actor("caseworker"), a.actor("supervisor")):
        refuse(conn, actor,
               lambda cur: cur.execute(INSERT_ENQUIRY, ["WF-ASSIGNED", a.contact_id, "new", actor.staff_id, 1]),
               "EL100", su)
    assert count_reference(su, "WF-ASSIGNED") == 0


@pytest.mark.req("REQ-WF-1")
def test_new_enquiry_version_starts_at_one_whatever_the_client_says(w, su, conn):
    a = w.a
    with act_as(conn, a.actor("caseworker")) as cur:
        enquiry, = cur.execute(
            "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status, version, "
            "escalation_count, resolved_at, closed_at) values ('WF-VERSION', %s, 'general', 'email', 's', 'b', 'new', 42, "
            "7, now(), now()) returning enquiry_id", [a.contact_id]).fetchone()
    row = enquiry_row(su, enquiry)
    assert (row["status"], row["version"], row["assigned_to"], row["escalation_count"]) == ("new", 1, None, 0)
    assert row["closed_at"] is None and row["resolved_at"] is None


@pytest.mark.parametrize("priority, enquiry_type, days", [
    ("urgent", "general", 5),    # 20 days * 0.25
    ("urgent", "complaint", 3),  # 10 days * 0.25 = 2.5, rounded up
    ("normal", "general", 20),   # 20 days * 1.00
    ("low", "complaint", 15),    # 10 days * 1.50
])
@pytest.mark.req("REQ-WF-1")
def test_due_at_is_received_at_plus_sla_days_times_priority_factor(w, su, conn, priority, enquiry_type, days):
    a = w.a
    sla, = su.execute("select sla_days from tenant.department_enquiry_types where tenant_id = %s and enquiry_type = %s",
                      [a.tenant_id, enquiry_type]).fetchone()
    factor, = su.execute("select sla_factor from core.priorities where priority = %s", [priority]).fetchone()
    assert math.ceil(sla * factor) == days  # the expectation agrees with the data
    with act_as(conn, a.actor("caseworker")) as cur:
        # a client-supplied due_at is ignored
        enquiry, = cur.execute(
            "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, priority, subject, body, "
            "status, due_at) values (%s, %s, %s, 'email', %s, 's', 'b', 'new', '2000-01-01') returning enquiry_id",
            [f"WF-DUE-{priority.upper()}-{enquiry_type.upper()}", a.contact_id, enquiry_type, priority]).fetchone()
        received, due, created, exact = cur.execute(
            "select received_at, due_at, created_at, due_at = received_at + make_interval(days => %s) "
            "from tenant.enquiries where enquiry_id = %s", [days, enquiry]).fetchone()
    assert exact, (received, due, days)
    assert received == created
    assert abs((due - received) - timedelta(days=days)) <= timedelta(hours=1)  # whatever the session's TimeZone


# -- escalation approval ------------------------------------------------------------------------
def escalation_row(su, escalation_id) -> dict:
    return row_of(su, "escalations", "escalation_id", escalation_id)


@pytest.mark.req("REQ-WF-2")
def test_escalating_without_approved_escalation_is_refused(w, su, conn):
    a = w.a
    cw, sup = a.actor("caseworker"), a.actor("supervisor")
    enquiry, v = in_progress(conn, a)
    for actor in (cw, sup):
        refuse(conn, actor, lambda cur: casework.transition(cur, enquiry, "escalated", version=v), "EL102",
               su, enquiry_id=enquiry)
    # a pending request is not an approval either
    with act_as(conn, cw) as cur:
        casework.request_escalation(cur, enquiry, "please")
    for actor in (cw, sup):
        refuse(conn, actor, lambda cur: casework.transition(cur, enquiry, "escalated", version=v), "EL102",
               su, enquiry_id=enquiry)


@pytest.mark.req("REQ-WF-2")
def test_escalating_with_approved_escalation_counts_it(w, su, conn):
    a = w.a
    enquiry, v = in_progress(conn, a, approved=True)
    assert enquiry_row(su, enquiry)["escalation_count"] == 0
    with act_as(conn, a.actor("caseworker")) as cur:
        assert casework.transition(cur, enquiry, "escalated", version=v) == v + 1
    row = enquiry_row(su, enquiry)
    assert (row["status"], row["version"], row["escalation_count"]) == ("escalated", v + 1, 1)


@pytest.mark.req("REQ-WF-2")
def test_an_approval_cannot_be_used_twice(w, su, conn):
    a = w.a
    cw, sup = a.actor("caseworker"), a.actor("supervisor")
    enquiry, v = in_progress(conn, a, approved=True)
    with act_as(conn, cw) as cur:
        v = casework.transition(cur, enquiry, "escalated", version=v)
    with act_as(conn, sup) as cur:
        v = casework.transition(cur, enquiry, "in_progress", version=v)
    for actor in (cw, sup):
        refuse(conn, actor, lambda cur: casework.transition(cur, enquiry, "escalated", version=v), "EL102",
               su, enquiry_id=enquiry)
    # a second approval allows a second escalation
    approve_escalation(conn, a, enquiry)
    with act_as(conn, cw) as cur:
        casework.transition(cur, enquiry, "escalated", version=v)
    assert enquiry_row(su, enquiry)["escalation_count"] == 2


@pytest.mark.req("REQ-WF-2")
def test_a_rejected_escalation_does_not_count(w, su, conn):
    a = w.a
    cw, sup = a.actor("caseworker"), a.actor("supervisor")
    enquiry, v = in_progress(conn, a)
    with act_as(conn, cw) as cur:
        escalation = casework.request_escalation(cur, enquiry, "please")
    with act_as(conn, sup) as cur:
        casework.decide_escalation(cur, escalation, approve=False, note="not needed")
    assert escalation_row(su, escalation)["decision"] == "rejected"
    for actor in (cw, sup):
        refuse(conn, actor, lambda cur: casework.transition(cur, enquiry, "escalated", version=v), "EL102",
               su, enquiry_id=enquiry)
    assert enquiry_row(su, enquiry)["escalation_count"] == 0


def pending_escalation(conn, dept, requester: Actor) -> uuid.UUID:
    enquiry, _ = in_progress(conn, dept)
    with act_as(conn, requester) as cur:
        return casework.request_escalation(cur, enquiry, "needs a decision")


@pytest.mark.parametrize("role", ["caseworker", "auditor", "retention_officer"])
@pytest.mark.req("REQ-WF-2")
def test_only_a_supervisor_can_decide_an_escalation(w, su, conn, role):
    # No UPDATE privilege on tenant.escalations for the caseworker and the auditor: 42501 before
    # any trigger. The retention officer holds UPDATE since sql/037, only to anonymise a disposed
    # enquiry's escalations: anything else is EL303.
    a = w.a
    escalation = pending_escalation(conn, a, a.caseworker2)
    before = escalation_row(su, escalation)
    for approve in (True, False):
        refuse(conn, a.actor(role), lambda cur: casework.decide_escalation(cur, escalation, approve=approve),
               "EL303" if role == "retention_officer" else "42501", su)
    assert escalation_row(su, escalation) == before


@pytest.mark.req("REQ-WF-2")
def test_an_escalation_is_requested_pending(w, su, conn):
    a = w.a
    enquiry, _ = in_progress(conn, a)
    for actor, decider in ((a.actor("caseworker"), a.actor("supervisor")), (a.actor("supervisor"), a.caseworker2)):
        refuse(conn, actor, lambda cur: cur.execute(
            "insert into tenant.escalations (enquiry_id, reason, decision, decided_by, decided_at) "
            "values (%s, 'x', 'approved', %s, now())", [enquiry, decider.staff_id]), "EL105", su)
    assert su.execute("select count(*) from tenant.escalations where enquiry_id = %s", [enquiry]).fetchone()[0] == 0


@pytest.mark.req("REQ-WF-2")
def test_supervisor_cannot_decide_own_request(w, su, conn):
    a = w.a
    sup = a.actor("supervisor")
    escalation = pending_escalation(conn, a, sup)
    before = escalation_row(su, escalation)
    assert before["requested_by"] == sup.staff_id
    for approve in (True, False):
        refuse(conn, sup, lambda cur: casework.decide_escalation(cur, escalation, approve=approve), "EL105", su)
    assert escalation_row(su, escalation) == before


@pytest.mark.parametrize("first, second", [(True, False), (False, True)])
@pytest.mark.req("REQ-WF-2")
def test_an_escalation_decision_is_final(w, su, conn, first, second):
    a = w.a
    sup = a.actor("supervisor")
    escalation = pending_escalation(conn, a, a.actor("caseworker"))
    with act_as(conn, sup) as cur:
        casework.decide_escalation(cur, escalation, approve=first)
    before = escalation_row(su, escalation)
    refuse(conn, sup, lambda cur: casework.decide_escalation(cur, escalation, approve=second), "EL105", su)
    # back to pending is a change of decision too
    refuse(conn, sup, lambda cur: cur.execute(
        "update tenant.escalations set decision = 'pending', decided_by = null, decided_at = null "
        "where escalation_id = %s", [escalation]), "EL105", su)
    assert escalation_row(su, escalation) == before


@pytest.mark.req("REQ-WF-2")
def test_decided_by_and_decided_at_are_stamped_from_context(w, su, conn):
    a = w.a
    sup, cw = a.actor("supervisor"), a.actor("caseworker")
    escalation = pending_escalation(conn, a, cw)
    with act_as(conn, sup) as cur:
        cur.execute("update tenant.escalations set decision = 'approved', decided_by = %s, decided_at = '2001-01-01', "
                    "requested_by = %s, requested_at = '2001-01-01' where escalation_id = %s",
                    [a.caseworker2.staff_id, sup.staff_id, escalation])
        now, = cur.execute("select now()").fetchone()
    row = escalation_row(su, escalation)
    assert row["decision"] == "approved"
    assert row["decided_by"] == sup.staff_id
    assert row["decided_at"] == now == row["updated_at"]
    assert row["requested_by"] == cw.staff_id  # the request is not rewritable either
    assert row["requested_at"] == row["created_at"]
    # after the decision, a later update cannot rewrite the stamps
    with act_as(conn, sup) as cur:
        cur.execute("update tenant.escalations set decided_by = %s, decided_at = '2001-01-01', decision_note = 'n' "
                    "where escalation_id = %s", [a.caseworker2.staff_id, escalation])
    later = escalation_row(su, escalation)
    assert (later["decided_by"], later["decided_at"], later["decision_note"]) == (sup.staff_id, now, "n")


# -- assignment -------------------------------------------------------------------------------------
def assignments_of(su, enquiry_id) -> list[tuple]:
    return su.execute("select from_staff_id, to_staff_id, assigned_by, assigned_at from tenant.assignments "
                      "where enquiry_id = %s order by assigned_at, created_at", [enquiry_id]).fetchall()


@pytest.mark.req("REQ-WF-3")
def test_caseworker_may_self_assign_a_new_enquiry(w, su, conn):
    a = w.a
    cw = a.actor("caseworker")
    enquiry = new_enquiry(conn, cw, a.contact_id)
    with act_as(conn, cw) as cur:
        casework.transition(cur, enquiry, "assigned", version=1, assign_to=cw.staff_id)
    assert enquiry_row(su, enquiry)["assigned_to"] == cw.staff_id
    assert [r[:3] for r in assignments_of(su, enquiry)] == [(None, cw.staff_id, cw.staff_id)]


@pytest.mark.req("REQ-WF-3")
def test_caseworker_cannot_assign_to_someone_else(w, su, conn):
    a = w.a
    cw = a.actor("caseworker")
    enquiry = new_enquiry(conn, cw, a.contact_id)
    for to in (a.caseworker2.staff_id, a.actor("supervisor").staff_id):
        refuse(conn, cw, lambda cur: casework.transition(cur, enquiry, "assigned", version=1, assign_to=to),
               "EL103", su, enquiry_id=enquiry)
        refuse(conn, cw, lambda cur: casework.reassign(cur, enquiry, to, version=1), "EL103", su, enquiry_id=enquiry)
    assert assignments_of(su, enquiry) == []


@pytest.mark.req("REQ-WF-3")
def test_caseworker_cannot_reassign(w, su, conn):
    a = w.a
    cw, cw2 = a.actor("caseworker"), a.caseworker2
    enquiry, v = in_progress(conn, a)
    before = assignments_of(su, enquiry)
    # give it away
    refuse(conn, cw, lambda cur: casework.reassign(cur, enquiry, cw2.staff_id, version=v), "EL103",
           su, enquiry_id=enquiry)
    # take it over from a colleague
    refuse(conn, cw2, lambda cur: casework.reassign(cur, enquiry, cw2.staff_id, version=v), "EL103",
           su, enquiry_id=enquiry)
    assert assignments_of(su, enquiry) == before


@pytest.mark.req("REQ-WF-3")
def test_supervisor_reassignment_is_recorded(w, su, conn):
    a = w.a
    cw, cw2, sup = a.actor("caseworker"), a.caseworker2, a.actor("supervisor")
    enquiry, v = in_progress(conn, a)
    before = assignments_of(su, enquiry)
    with act_as(conn, sup) as cur:
        casework.reassign(cur, enquiry, cw2.staff_id, version=v)
        now, = cur.execute("select now()").fetchone()
    after = assignments_of(su, enquiry)
    assert after[:len(before)] == before
    assert after[len(before):] == [(cw.staff_id, cw2.staff_id, sup.staff_id, now)]
    assert enquiry_row(su, enquiry)["assigned_to"] == cw2.staff_id


@pytest.mark.req("REQ-WF-3")
def test_assignment_history_is_complete_after_several_reassignments(w, su, conn):
    a = w.a
    cw, cw2, sup = a.actor("caseworker"), a.caseworker2, a.actor("supervisor")
    enquiry = new_enquiry(conn, cw, a.contact_id)
    with act_as(conn, sup) as cur:  # a supervisor assigns it first
        v = casework.transition(cur, enquiry, "assigned", version=1, assign_to=cw.staff_id)
    chain = [cw2.staff_id, sup.staff_id, cw.staff_id, cw2.staff_id]
    for to in chain:
        with act_as(conn, sup) as cur:
            v = casework.reassign(cur, enquiry, to, version=v)
    # an update that keeps the assignee records nothing
    with act_as(conn, sup) as cur:
        v = casework.reassign(cur, enquiry, cw2.staff_id, version=v)
    with act_as(conn, cw2) as cur:
        v = casework.transition(cur, enquiry, "in_progress", version=v)
    history = assignments_of(su, enquiry)
    owners = [cw.staff_id] + chain
    assert [(f, t, by) for f, t, by, _ in history] == (
        [(None, cw.staff_id, sup.staff_id)] + [(owners[i], owners[i + 1], sup.staff_id) for i in range(len(chain))])
    times = [at for *_, at in history]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert enquiry_row(su, enquiry)["assigned_to"] == cw2.staff_id


@pytest.mark.req("REQ-WF-3")
def test_unassigning_is_refused(w, su, conn):
    a = w.a
    enquiry, v = in_progress(conn, a)
    for actor in (a.actor("supervisor"), a.actor("caseworker")):
        refuse(conn, actor, lambda cur: casework.reassign(cur, enquiry, None, version=v), "EL103",
               su, enquiry_id=enquiry)


@pytest.mark.parametrize("assignee", ["auditor", "retention_officer", "other_department", "unknown", "inactive",
                                      "soft_deleted"])
@pytest.mark.req("REQ-WF-3")
def test_assignee_must_be_an_active_caseworker_or_supervisor_of_the_department(w, su, conn, assignee):
    # The workflow trigger (BEFORE) checks the assignee before the composite foreign key
    # (checked after the row is written) could report 23503, so every case is EL104.
    a = w.a
    if assignee == "other_department":
        target = w.b.actor("caseworker").staff_id
    elif assignee == "unknown":
        target = uuid.uuid4()
    elif assignee in ("inactive", "soft_deleted"):
        with psycopg.connect(w.loader_dsn, autocommit=True) as loader:
            staff = casework.add_staff(loader, operator_id=OPERATOR, tenant_id=a.tenant_id, full_name=assignee,
                                       email=f"{assignee}-{uuid.uuid4().hex[:8]}@aaa.example.gov.uk", role="caseworker")
            change = "active = false" if assignee == "inactive" else "deleted_at = now()"
            with act_as(loader, Actor(a.tenant_id, OPERATOR, "provisioner")) as cur:
                cur.execute(f"update tenant.staff set {change} where staff_id = %s", [staff.staff_id])
        target = staff.staff_id
    else:
        target = a.actor(assignee).staff_id
    enquiry, v = in_progress(conn, a)
    new = new_enquiry(conn, a.actor("caseworker"), a.contact_id)
    before = assignments_of(su, enquiry)
    refuse(conn, a.actor("supervisor"), lambda cur: casework.reassign(cur, enquiry, target, version=v),
           "EL104", su, enquiry_id=enquiry)
    refuse(conn, a.actor("supervisor"),
           lambda cur: casework.transition(cur, new, "assigned", version=1, assign_to=target),
           "EL104", su, enquiry_id=new)
    assert assignments_of(su, enquiry) == before and assignments_of(su, new) == []


@pytest.mark.parametrize("role", ["caseworker", "supervisor"])
@pytest.mark.req("REQ-WF-3")
def test_assignments_cannot_be_inserted_directly(w, su, conn, role):
    # The insert policy passes only inside a trigger (pg_trigger_depth() > 0): a direct
    # INSERT is a row-level security violation, 42501.
    a = w.a
    actor = a.actor(role)
    enquiry, _ = in_progress(conn, a)
    before = assignments_of(su, enquiry)
    refuse(conn, actor, lambda cur: cur.execute(
        "insert into tenant.assignments (enquiry_id, from_staff_id, to_staff_id, assigned_at, assigned_by) "
        "values (%s, %s, %s, now(), %s)", [enquiry, a.actor("caseworker").staff_id, a.caseworker2.staff_id, actor.staff_id]),
        "42501", su, enquiry_id=enquiry)
    assert assignments_of(su, enquiry) == before


# -- storage of workflow steps (sql/005) --------------------------------------------------------------
@pytest.mark.req("REQ-WF-1")
def test_a_step_that_keeps_the_assignee_and_closure_writes_no_index_entry(world):
    """No index of tenant.enquiries has the status as a key, and pages keep room, so starting
    work, waiting on the citizen or resolving is a HOT update (the new version on the same page,
    no index entry); a step that changes the assignee still updates the indexes."""
    a = world.a
    cw, sup = a.actor("caseworker"), a.actor("supervisor")
    counts = ("select pg_stat_get_xact_tuples_hot_updated('tenant.enquiries'::regclass), "
              "pg_stat_get_xact_tuples_updated('tenant.enquiries'::regclass)")
    with world.connect() as conn:
        enquiry, v = in_progress(conn, a)
        # the counters hold the session's changes not yet reported, so compare within one transaction
        for to in ("awaiting_citizen", "in_progress", "resolved"):
            with act_as(conn, cw) as cur:
                hot, updated = cur.execute(counts).fetchone()
                v = casework.transition(cur, enquiry, to, version=v)
                assert cur.execute(counts).fetchone() == (hot + 1, updated + 1), to
        with act_as(conn, sup) as cur:
            hot, updated = cur.execute(counts).fetchone()
            v = casework.transition(cur, enquiry, "in_progress", version=v)
            casework.transition(cur, enquiry, "in_progress", version=v, assign_to=sup.staff_id)
            assert cur.execute(counts).fetchone() == (hot + 1, updated + 2)


def test_enquiry_text_is_checked_when_written_not_at_every_step(world):
    """The reference's format and the subject's and body's lengths are the rules of their types
    (sql/004), so a workflow step, which writes none of them, does not check them again (a
    table CHECK would, on every UPDATE), and writing one does, on UPDATE as on INSERT."""
    a = world.a
    cw = a.actor("caseworker")
    with world.connect() as conn:
        enquiry, v = in_progress(conn, a)
        with psycopg.connect(world.dsn, autocommit=True) as su:
            # a rule no stored value meets, not validated against the rows already stored
            for domain in ("enquiry_reference", "enquiry_subject", "enquiry_body"):
                su.execute(f"alter domain core.{domain} add constraint nothing_stored_passes check (value = '!') not valid")
        with act_as(conn, cw) as cur:
            v = casework.transition(cur, enquiry, "awaiting_citizen", version=v)
        for column in ("reference", "subject", "body"):
            with pytest.raises(psycopg.errors.CheckViolation, match=f"core.enquiry_{column}"):
                with act_as(conn, cw) as cur:
                    cur.execute(f"update tenant.enquiries set {column} = {column} || 'X', version = %s "
                                "where enquiry_id = %s", [v + 1, enquiry])
        with pytest.raises(DatabaseError, match="23514.*core.enquiry_reference.*nothing_stored_passes"):
            new_enquiry(conn, cw, a.contact_id)
        with act_as(conn, cw) as cur:
            assert cur.execute("select status, version from tenant.enquiries where enquiry_id = %s",
                               [enquiry]).fetchone() == ("awaiting_citizen", v)


# -- derived timestamps --------------------------------------------------------------------------
@pytest.mark.req("REQ-WF-5")
def test_resolving_sets_resolved_at_closing_sets_closed_at_reopening_clears_it(w, su, conn):
    a = w.a
    cw, sup = a.actor("caseworker"), a.actor("supervisor")
    enquiry, v = in_progress(conn, a)
    with act_as(conn, cw) as cur:
        v = casework.transition(cur, enquiry, "resolved", version=v)
        resolved_at, = cur.execute("select now()").fetchone()
    row = enquiry_row(su, enquiry)
    assert row["resolved_at"] == resolved_at and row["closed_at"] is None
    with act_as(conn, cw) as cur:
        # client-supplied closed_at/resolved_at are ignored
        cur.execute("update tenant.enquiries set status = 'closed', closed_at = '2001-01-01', resolved_at = null, "
                    "version = %s where enquiry_id = %s", [v + 1, enquiry])
        v += 1
        closed_at, = cur.execute("select now()").fetchone()
    row = enquiry_row(su, enquiry)
    assert (row["status"], row["closed_at"], row["resolved_at"]) == ("closed", closed_at, resolved_at)
    assert closed_at > resolved_at
    with act_as(conn, sup) as cur:
        v = casework.transition(cur, enquiry, "reopened", version=v)
    row = enquiry_row(su, enquiry)
    assert (row["status"], row["closed_at"], row["version"]) == ("reopened", None, v)
    # nor can a client set closed_at on an open enquiry
    with act_as(conn, sup) as cur:
        v = casework.transition(cur, enquiry, "in_progress", version=v)
        cur.execute("update tenant.enquiries set closed_at = now(), version = %s where enquiry_id = %s", [v + 1, enquiry])
    assert enquiry_row(su, enquiry)["closed_at"] is None


@pytest.mark.req("REQ-WF-5")
def test_withdrawing_sets_closed_at(w, su, conn):
    a = w.a
    enquiry = new_enquiry(conn, a.actor("caseworker"), a.contact_id)
    with act_as(conn, a.actor("caseworker")) as cur:
        casework.transition(cur, enquiry, "withdrawn", version=1)
        now, = cur.execute("select now()").fetchone()
    row = enquiry_row(su, enquiry)
    assert (row["status"], row["closed_at"], row["resolved_at"]) == ("withdrawn", now, None)


# -- optimistic concurrency -------------------------------------------------------------------------
def entries_for(su, record_id) -> list[tuple]:
    return su.execute("select action, changed_columns, row_data from audit.entries where record_id = %s "
                      "order by occurred_at, entry_id", [record_id]).fetchall()


def read_version(conn, actor, enquiry_id) -> int:
    with act_as(conn, actor) as cur:
        return cur.execute("select version from app.enquiries where enquiry_id = %s", [enquiry_id]).fetchone()[0]


@pytest.mark.req("REQ-WF-4")
def test_stale_version_is_a_conflict(w, su):
    a = w.a
    cw, cw2 = a.actor("caseworker"), a.caseworker2
    with w.connect() as first, w.connect() as second:
        enquiry, v = in_progress(first, a)
        v1, v2 = read_version(first, cw, enquiry), read_version(second, cw2, enquiry)
        assert v1 == v2 == v
        before = entries_for(su, enquiry)
        with act_as(first, cw) as cur:
            casework.transition(cur, enquiry, "awaiting_citizen", version=v1)
        after_first = enquiry_row(su, enquiry)
        err = refuse(second, cw, lambda cur: casework.transition(cur, enquiry, "resolved", version=v2),
                     "40001", su, enquiry_id=enquiry)
        assert isinstance(err, ConflictError)
    assert (after_first["status"], after_first["version"]) == ("awaiting_citizen", v + 1)
    new_entries = entries_for(su, enquiry)[len(before):]
    assert len(new_entries) == 1 and new_entries[0][2]["status"] == "awaiting_citizen"


@pytest.mark.parametrize("set_version", ["version", "version + 2", "version - 1", "null"])
@pytest.mark.req("REQ-WF-4")
def test_every_change_must_be_based_on_the_current_version(w, su, conn, set_version):
    a = w.a
    enquiry, _ = in_progress(conn, a)
    refuse(conn, a.actor("caseworker"), lambda cur: cur.execute(
        f"update tenant.enquiries set status = 'resolved', version = {set_version} where enquiry_id = %s", [enquiry]),
        "40001", su, enquiry_id=enquiry)
    # without a status change too: version is required for any change
    refuse(conn, a.actor("caseworker"), lambda cur: cur.execute(
        f"update tenant.enquiries set subject = 'changed', version = {set_version} where enquiry_id = %s", [enquiry]),
        "40001", su, enquiry_id=enquiry)


@pytest.mark.req("REQ-WF-4")
def test_concurrent_change_blocks_then_conflicts(w, su):
    a = w.a
    cw, sup = a.actor("caseworker"), a.actor("supervisor")
    outcome: dict = {}

    with w.connect() as first, w.connect() as second:
        enquiry, v = in_progress(first, a)
        before_entries = entries_for(su, enquiry)

        def second_change():
            try:
                with act_as(second, sup) as cur:
                    outcome["version"] = casework.transition(cur, enquiry, "resolved", version=v)
            except Exception as exc:  # noqa: BLE001 - handed to the main thread
                outcome["error"] = exc

        thread = threading.Thread(target=second_change, daemon=True)
        with act_as(first, cw) as cur:
            assert casework.transition(cur, enquiry, "awaiting_citizen", version=v) == v + 1
            thread.start()
            deadline = time.monotonic() + 10
            while True:  # until the second connection waits for the first one's row lock
                blocked, = su.execute("select %s = any(pg_blocking_pids(%s))",
                                      [first.info.backend_pid, second.info.backend_pid]).fetchone()
                if blocked:
                    break
                assert thread.is_alive(), f"the second change did not block: {outcome}"
                assert time.monotonic() < deadline, "the second change never blocked"
                time.sleep(0.01)
        thread.join(10)
        assert not thread.is_alive()
    err = outcome.get("error")
    assert isinstance(err, ConflictError), outcome
    assert err.sqlstate == "40001"
    row = enquiry_row(su, enquiry)
    assert (row["status"], row["version"], row["updated_by"]) == ("awaiting_citizen", v + 1, cw.staff_id)
    new_entries = entries_for(su, enquiry)[len(before_entries):]
    assert len(new_entries) == 1
    action, _, data = new_entries[0]
    assert action == "update" and data["status"] == "awaiting_citizen" and data["version"] == v + 1


@pytest.mark.req("REQ-WF-1")
def test_received_at_cannot_be_after_recording_or_backdated_beyond_a_fortnight(world, refused):
    a = world.a
    with world.connect() as conn:
        for received in ("now() + interval '1 hour'", "now() - interval '15 days'"):
            with refused("EL107"):
                with act_as(conn, a.actor("caseworker")) as cur:
                    cur.execute(
                        "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status, "
                        f"received_at) values ('LATE-1', %s, 'general', 'email', 's', 'b', 'new', {received})",
                        [a.contact_id])
        with act_as(conn, a.actor("caseworker")) as cur:
            cur.execute(
                "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, subject, body, status, "
                "received_at) values ('LATE-2', %s, 'general', 'email', 's', 'b', 'new', now() - interval '13 days') "
                "returning due_at - received_at", [a.contact_id])
            assert cur.fetchone()[0].days == 20  # SLA runs from receipt
