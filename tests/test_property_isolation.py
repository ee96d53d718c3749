"""Property-based isolation: random sequences of operations by random users of both departments,
against a real database, with the invariants checked after every step.

A hypothesis RuleBasedStateMachine drives the casework API (and raw SQL attacks) as every staff
member of the two-department world (tests/world.py), over every tenant table: reads, inserts,
workflow transitions, reassignments, escalations, legal holds, soft deletes and restores,
disposals, and attempts on the other department's ids (deletes, moves, blind updates). Each
example provisions two fresh departments (as tests/world.py builds them) in the test's
database, so a failing example replays exactly and shrinks to a minimal sequence; the
departments of earlier examples stay as bystanders. After every step, as a superuser:

- the acting user sees only their own department in every table and view they may read;
- rows are never physically removed;
- the step changed nothing, or (if it committed) every changed row has exactly one new audit
  entry with the acting user, their department and role, and the exact before/after values;
  no entry appears without a changed row; every changed row is in the user's department;
- audit entries written before the step are unchanged (a digest of every field);
- every status change in the trail is allowed by core.status_transitions for the role that made it;
- the fold of each record's entries rebuilds its live row (the replay check).

ENQUIRIES_LAB_LONG=1 runs many more and longer sequences.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from invariants import (TENANT_TABLES, create_db, drop_db, key_columns, max_entry_id, new_name, replay_mismatches,
                        scalar, snapshot, trail_digest, workflow_violations)
from psycopg import sql
from world import _department as build_department
from world import as_login

from enquiries_lab import casework
from enquiries_lab.errors import DatabaseError, LabError
from enquiries_lab.session import Actor, act_as

LONG = os.environ.get("ENQUIRIES_LAB_LONG") == "1"
SETTINGS = settings(max_examples=200 if LONG else 25, stateful_step_count=30 if LONG else 10, deadline=None,
                    derandomize=True, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
STATUSES = ["new", "assigned", "in_progress", "awaiting_citizen", "escalated", "resolved", "closed", "reopened", "withdrawn"]
# What a refusal may look like: the database's own rules and the API's one-line errors.
EXPECTED_SQLSTATE_PREFIXES = ("22", "23", "40001", "42501", "EL", "0A000")
RARELY = st.sampled_from([False, False, False, True])  # shrinks to False
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=0, max_size=60)


class Casework(RuleBasedStateMachine):
    """One example: two fresh departments (built like tests/world.py's, through the API) in the
    test's database, and a sequence of steps by their staff. Departments of earlier examples stay in
    the database as bystanders that must never be seen or touched."""

    dsn: str = ""
    examples = 0

    def __init__(self) -> None:
        super().__init__()
        Casework.examples += 1
        self.su = psycopg.connect(self.dsn, autocommit=True)
        with psycopg.connect(as_login(self.dsn, "enquiries_loader"), autocommit=True) as loader:
            a = build_department(loader, f"P{Casework.examples:06d}A")
            b = build_department(loader, f"P{Casework.examples:06d}B")
        self.departments = (a, b)
        self.tenants = [a.tenant_id, b.tenant_id]
        self.app = psycopg.connect(as_login(self.dsn, "enquiries_app"), autocommit=True)
        self.users: list[Actor] = [d.actor(r) for d in (a, b)
                                   for r in ("caseworker", "supervisor", "auditor", "retention_officer")]
        self.users += [a.caseworker2, b.caseworker2]
        self.keys = key_columns(self.su)
        self.readable = {u.role: self._readable(u.db_role) for u in self.users}
        self.state = snapshot(self.su, self.tenants)
        # ids by table in creation order (department a's first), so a draw picks the same row on replay
        self.ids: dict[str, list[str]] = {t: [] for t in TENANT_TABLES}
        for d in (a, b):
            for (table, rid), row in sorted(self.state.items(), key=lambda kv: (
                    kv[1].get("created_at") or "", kv[0][0], str(kv[1].get("enquiry_type") or kv[1].get("email") or ""))):
                if row["tenant_id"] == str(d.tenant_id):
                    self.ids[table.removeprefix("tenant.")].append(rid)
        self.last_entry = max_entry_id(self.su)
        self.digest = trail_digest(self.su, self.last_entry, self.tenants)
        self.entries_before = scalar(self.su, "select count(*) from audit.entries where entry_id <= %s", [self.last_entry])
        self.references = 0
        self.workflow = set(self.su.execute("select from_status, to_status, staff_role from core.status_transitions").fetchall())
        self.staff_roles = dict(self.su.execute("select db_role::text, staff_role from core.staff_roles").fetchall())
        self.transitions: dict[str, list[str]] = {}
        for frm, to in self.su.execute("select distinct from_status, to_status from core.status_transitions order by 1, 2"):
            self.transitions.setdefault(frm, []).append(to)
        self.outcome: tuple | None = None

    def teardown(self) -> None:
        for conn in (self.app, self.su):
            conn.close()

    def _readable(self, db_role: str) -> list[str]:
        candidates = [f"tenant.{t}" for t in TENANT_TABLES] + [f"app.{t}" for t in TENANT_TABLES] + [
            "app.disposal_candidates", "audit.entries", "audit.entry_states"]
        return [c for c in candidates
                if self.su.execute("select has_table_privilege(%s, %s, 'SELECT')", [db_role, c]).fetchone()[0]]

    # -- performing a step ----------------------------------------------------------------------
    def act(self, user: int, what: str, fn) -> None:
        """Run `fn(cur)` as user `user` in one transaction, then check every invariant of the step."""
        actor = self.users[user]
        try:
            with act_as(self.app, actor) as cur:
                fn(cur)
            committed, error = True, None
        except DatabaseError as err:
            committed, error = False, err
            assert err.sqlstate is None or err.sqlstate.startswith(EXPECTED_SQLSTATE_PREFIXES), f"{what}: {err}"
        except psycopg.Error as err:
            committed, error = False, err
            assert err.sqlstate and err.sqlstate.startswith(EXPECTED_SQLSTATE_PREFIXES), f"{what}: {err.sqlstate} {err}"
        except LabError as err:
            committed, error = False, err
        self.outcome = (what, actor.role, committed, error)
        self.check_step(actor, committed, what)

    def check_step(self, actor: Actor, committed: bool, what: str) -> None:
        before, after = self.state, snapshot(self.su, self.tenants)
        removed = [k for k in before if k not in after]
        assert removed == [], f"{what}: rows physically removed: {removed}"
        changed = {k: (before.get(k), row) for k, row in after.items() if before.get(k) != row}
        entries = self.su.execute(
            """select entry_id, table_name, record_id::text, tenant_id, actor_id, db_role::text, login_role::text, action,
                      changed_columns, row_data, old_values
               from audit.entries where entry_id > %s order by entry_id""", [self.last_entry]).fetchall()
        if not committed:
            assert changed == {} and entries == [], f"{what} was refused but wrote {list(changed)} / {len(entries)} entries"
        by_record = {}
        for e in entries:
            assert (e[1], e[2]) not in by_record, f"{what}: two entries for one changed row {e[1]} {e[2]}"
            by_record[(e[1], e[2])] = e
        assert set(by_record) == set(changed), f"{what}: entries {sorted(by_record)} vs changed rows {sorted(changed)}"
        for key, (old, new) in changed.items():
            _, _, _, tenant, acting, db_role, login, action, columns, row_data, old_values = by_record[key]
            assert new["tenant_id"] == str(actor.tenant_id), f"{what} changed a row of another department: {key}"
            assert (tenant, acting, db_role, login) == (actor.tenant_id, actor.staff_id, actor.db_role, "enquiries_app"), key
            if old is None:
                assert (action, columns, row_data, old_values) == ("insert", [], new, None), key
            else:
                differing = sorted(c for c in new if new[c] != old.get(c))
                assert action in ("update", "soft_delete", "restore", "dispose") and columns == differing, (key, columns)
                assert row_data == {c: new[c] for c in differing} and old_values == {c: old.get(c) for c in differing}, key
        # nothing before this step changed, the workflow held, and the changed rows replay exactly
        # (the others did not change, nor did their entries)
        assert trail_digest(self.su, self.last_entry, self.tenants) == self.digest, f"{what}: an earlier audit entry changed"
        assert scalar(self.su, "select count(*) from audit.entries where entry_id <= %s", [self.last_entry]) == self.entries_before
        for e in entries:
            if e[1] == "tenant.enquiries" and e[7] != "insert" and "status" in e[8]:
                move = (e[10]["status"], e[9]["status"], self.staff_roles.get(e[5]))
                assert move in self.workflow, f"{what}: status change {move} is not in core.status_transitions"
        touched: dict[str, list] = {}
        for table, rid in changed:
            touched.setdefault(table.removeprefix("tenant."), []).append(rid)
        assert replay_mismatches(self.su, self.tenants, touched) == [], what
        for key in after:
            if key not in before:
                self.ids[key[0].removeprefix("tenant.")].append(key[1])
        self.state = after
        self.last_entry = max_entry_id(self.su)
        self.digest = trail_digest(self.su, self.last_entry, self.tenants)
        self.entries_before = scalar(self.su, "select count(*) from audit.entries where entry_id <= %s", [self.last_entry])
        self.check_isolation(actor)

    def check_isolation(self, actor: Actor) -> None:
        """The acting user reads every relation they may read: their own department only."""
        other = self.tenants[1] if actor.tenant_id == self.tenants[0] else self.tenants[0]
        with act_as(self.app, actor) as cur:
            for relation in self.readable[actor.role]:
                seen = {r[0] for r in cur.execute(f"select distinct tenant_id from {relation}")}
                assert seen <= {actor.tenant_id}, f"{actor.role} of {actor.tenant_id} saw {seen} in {relation}"
                n = cur.execute(f"select count(*) from {relation} where tenant_id = %s", [other]).fetchone()[0]
                assert n == 0, relation

    # -- what a step may pick ---------------------------------------------------------------------
    def pick(self, data, table: str, user: int, foreign: bool = False) -> str:
        """A row id of `table`: of the user's own department, or (foreign) of any department. Draws
        shrink towards the user's own department and the oldest rows."""
        tenant = str(self.users[user].tenant_id)
        own = [i for i in self.ids[table] if self.state[(f"tenant.{table}", i)]["tenant_id"] == tenant]
        return data.draw(st.sampled_from(self.ids[table] if foreign or not own else own), label=table)

    def row(self, table: str, record: str) -> dict:
        return self.state[(f"tenant.{table}", record)]

    def assignee(self, data, user: int, foreign: bool) -> str:
        tenant = str(self.users[user].tenant_id)
        candidates = [i for i in self.ids["staff"] if foreign or (self.row("staff", i)["tenant_id"] == tenant
                                                                  and self.row("staff", i)["staff_role"] in ("caseworker", "supervisor"))]
        return data.draw(st.sampled_from(candidates), label="assignee")

    # -- rules ------------------------------------------------------------------------------------
    users_ = st.integers(min_value=0, max_value=9)

    @rule(user=users_)
    def look(self, user):
        self.act(user, "look", lambda cur: cur.execute("select count(*) from app.enquiries"))

    @rule(user=users_, name=TEXT, postcode=st.sampled_from(["SW1A 1AA", None, "not a postcode"]))
    def create_contact(self, user, name, postcode):
        self.act(user, "create_contact", lambda cur: casework.create_contact(cur, full_name=name or "A Citizen",
                                                                            postcode=postcode))

    @rule(user=users_, data=st.data(), foreign=RARELY, enquiry_type=st.sampled_from(["general", "complaint", "appeal"]),
          channel=st.sampled_from(["email", "phone", "web_form", "carrier pigeon"]),
          priority=st.sampled_from(["normal", "urgent", "low"]), subject=TEXT)
    def create_enquiry(self, user, data, foreign, enquiry_type, channel, priority, subject):
        contact = self.pick(data, "contacts", user, foreign)
        self.references += 1
        reference = f"PROP-{self.references:06d}"
        self.act(user, "create_enquiry", lambda cur: casework.create_enquiry(
            cur, reference=reference, contact_id=contact, enquiry_type=enquiry_type, channel=channel,
            subject=subject or "An enquiry", body="Property-based test.", priority=priority))

    @rule(user=users_, data=st.data(), foreign=RARELY, illegal=RARELY, stale=RARELY)
    def transition(self, user, data, foreign, illegal, stale):
        """Mostly a move the workflow allows from the enquiry's status (for some role); sometimes any
        status, a stale version, or another department's enquiry."""
        enquiry = self.pick(data, "enquiries", user, foreign)
        current = self.row("enquiries", enquiry)
        allowed = self.transitions.get(current["status"], [])
        to_status = data.draw(st.sampled_from(STATUSES if illegal or not allowed else allowed), label="to_status")
        assignee = self.assignee(data, user, foreign) if to_status == "assigned" else None
        version = current["version"] - (1 if stale else 0)
        self.act(user, f"transition {current['status']} -> {to_status}", lambda cur: casework.transition(
            cur, enquiry, to_status, version=version, assign_to=assignee))

    @rule(user=users_, data=st.data(), foreign=RARELY, stale=RARELY)
    def reassign(self, user, data, foreign, stale):
        enquiry = self.pick(data, "enquiries", user, foreign)
        assignee = self.assignee(data, user, foreign)
        version = self.row("enquiries", enquiry)["version"] - (1 if stale else 0)
        self.act(user, "reassign", lambda cur: casework.reassign(cur, enquiry, assignee, version=version))

    @rule(user=users_, data=st.data(), foreign=RARELY, body=TEXT,
          direction=st.sampled_from(["internal", "inbound", "outbound", "sideways"]))
    def add_note(self, user, data, foreign, body, direction):
        enquiry = self.pick(data, "enquiries", user, foreign)
        self.act(user, "add_note", lambda cur: casework.add_note(cur, enquiry, body or "-", direction=direction))

    @rule(user=users_, data=st.data(), foreign=RARELY, reason=TEXT)
    def request_escalation(self, user, data, foreign, reason):
        enquiry = self.pick(data, "enquiries", user, foreign)
        self.act(user, "request_escalation", lambda cur: casework.request_escalation(cur, enquiry, reason or "-"))

    @rule(user=users_, data=st.data(), foreign=RARELY, approve=st.booleans())
    def decide_escalation(self, user, data, foreign, approve):
        escalation = self.pick(data, "escalations", user, foreign)
        self.act(user, "decide_escalation", lambda cur: casework.decide_escalation(cur, escalation, approve=approve))

    @rule(user=users_, data=st.data(), foreign=RARELY, release=st.booleans())
    def legal_hold(self, user, data, foreign, release):
        if release:
            hold = self.pick(data, "legal_holds", user, foreign)
            self.act(user, "release_legal_hold", lambda cur: casework.release_legal_hold(cur, hold))
        else:
            enquiry = self.pick(data, "enquiries", user, foreign)
            self.act(user, "place_legal_hold", lambda cur: casework.place_legal_hold(cur, enquiry, "Property test."))

    @rule(user=users_, data=st.data(), foreign=RARELY, restore=st.booleans())
    def soft_delete_enquiry(self, user, data, foreign, restore):
        enquiry = self.pick(data, "enquiries", user, foreign)
        version = self.row("enquiries", enquiry)["version"]
        if restore:
            self.act(user, "restore_enquiry", lambda cur: cur.execute(
                "update tenant.enquiries set deleted_at = null, version = %s where enquiry_id = %s", [version + 1, enquiry]))
        else:
            self.act(user, "soft_delete_enquiry", lambda cur: casework.soft_delete_enquiry(cur, enquiry, version=version))

    @rule(user=users_, data=st.data(), foreign=RARELY, restore=st.booleans())
    def soft_delete_note(self, user, data, foreign, restore):
        note = self.pick(data, "notes", user, foreign)
        value = "null" if restore else "now()"
        self.act(user, "soft_delete_note", lambda cur: cur.execute(
            f"update tenant.notes set deleted_at = {value} where note_id = %s", [note]))

    @rule(user=users_, data=st.data(), foreign=RARELY)
    def dispose(self, user, data, foreign):
        enquiry = self.pick(data, "enquiries", user, foreign)
        self.act(user, "dispose", lambda cur: casework.dispose_enquiry(cur, enquiry))

    @rule(user=users_, data=st.data(), table=st.sampled_from(TENANT_TABLES),
          attack=st.sampled_from(["delete", "move", "blind_update", "plant"]))
    def attack(self, user, data, table, attack):
        """Raw SQL at any row of any department: physical delete, moving it to the other department,
        an update of a row the user cannot see, an insert stamped with the other department."""
        if not self.ids[table]:
            return
        key = self.keys[table]
        target = self.pick(data, table, user, foreign=True)
        actor = self.users[user]
        other = self.tenants[1] if actor.tenant_id == self.tenants[0] else self.tenants[0]
        statement = {
            "delete": sql.SQL("delete from tenant.{t} where {k} = %(id)s"),
            "move": sql.SQL("update tenant.{t} set tenant_id = %(other)s where {k} = %(id)s"),
            "blind_update": sql.SQL("update tenant.{t} set tenant_id = tenant_id where {k} = %(id)s"),
            "plant": sql.SQL("insert into tenant.{t} select * from tenant.{t} where {k} = %(id)s"),
        }[attack].format(t=sql.Identifier(table), k=sql.Identifier(key))
        self.act(user, f"{attack} on {table}", lambda cur: cur.execute(statement, {"id": target, "other": other}))



@pytest.fixture
def property_db(admin_dsn, migrated_template):
    name = new_name("prop")
    dsn = create_db(admin_dsn, name, template=migrated_template)
    try:
        yield dsn
    finally:
        drop_db(admin_dsn, name)


@pytest.mark.req("REQ-ATK-1")
def test_random_operations_by_random_users_keep_every_invariant(property_db):
    Casework.dsn, Casework.examples = property_db, 0
    started = datetime.now(timezone.utc)
    run_state_machine_as_test(Casework, settings=SETTINGS)
    with psycopg.connect(property_db) as conn:  # the whole database, every example's departments
        assert replay_mismatches(conn) == [] and workflow_violations(conn) == []
    print(f"property run: {Casework.examples} examples (up to {SETTINGS.stateful_step_count} steps each) "
          f"in {(datetime.now(timezone.utc) - started).total_seconds():.1f} s")
