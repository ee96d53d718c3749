"""The casework API: provisioning departments and moving enquiries through the workflow.

Each function runs the statements a real client would, in the caller's context
(`session.act_as`); the database enforces the rules (RLS, workflow, audit), this module
only phrases the requests and turns refusals into one-line errors carrying the SQLSTATE.
No query here filters by tenant: RLS does.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import psycopg

from enquiries_lab.errors import LabError, from_db_error
from enquiries_lab.session import Actor, act_as, as_uuid


@contextmanager
def refusals(what: str) -> Iterator[None]:
    """Turn a database refusal into DatabaseError/ConflictError naming `what`."""
    try:
        yield
    except psycopg.Error as err:
        raise from_db_error(err, what) from None


# Python types are checked before any statement: otherwise a float version is rounded by
# PostgreSQL and commits, teams='Casework' is iterated letter by letter, and None fails as a
# TypeError that names no parameter.
def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _checked_version(version: object, what: str) -> int:
    if isinstance(version, bool) or not isinstance(version, int):
        raise LabError(f"{what}: version must be an integer, got {_shown(version)}")
    return version


def _checked_enquiry_types(enquiry_types: object) -> Mapping[str, int]:
    if not isinstance(enquiry_types, Mapping) or not all(
            isinstance(t, str) and isinstance(days, int) and not isinstance(days, bool)
            for t, days in enquiry_types.items()):
        raise LabError(f"enquiry_types must map type names to SLA days, got {_shown(enquiry_types)}")
    return enquiry_types


def _checked_teams(teams: object) -> Sequence[str]:
    if not isinstance(teams, (list, tuple)) or not all(isinstance(team, str) for team in teams):
        raise LabError(f"teams must be a list of team names, got {_shown(teams)}")
    return teams


# -- provisioning (as the platform's provisioner) -------------------------------------------
def provision_department(
    conn: psycopg.Connection,
    *,
    operator_id: uuid.UUID | str,
    code: str,
    name: str,
    enquiry_types: Mapping[str, int],
    teams: Sequence[str] = ("Casework",),
    tenant_id: uuid.UUID | str | None = None,
) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """Create a department with its enquiry types (type -> SLA days) and teams.

    Returns the tenant id and the team ids by name.
    """
    enquiry_types, teams = _checked_enquiry_types(enquiry_types), _checked_teams(teams)
    tenant = as_uuid(tenant_id, "tenant_id") if tenant_id is not None else uuid.uuid4()
    actor = Actor(tenant, as_uuid(operator_id, "operator_id"), "provisioner")
    with refusals(f"provisioning department {code}"), act_as(conn, actor) as cur:
        cur.execute("insert into tenant.departments (tenant_id, code, name) values (%s, %s, %s)", [tenant, code, name])
        cur.executemany(
            "insert into tenant.department_enquiry_types (tenant_id, enquiry_type, sla_days) values (%s, %s, %s)",
            [(tenant, t, days) for t, days in enquiry_types.items()],
        )
        team_ids = {}
        for team in teams:
            cur.execute("insert into tenant.teams (tenant_id, name) values (%s, %s) returning team_id", [tenant, team])
            team_ids[team] = cur.fetchone()[0]
    return tenant, team_ids


def add_staff(
    conn: psycopg.Connection,
    *,
    operator_id: uuid.UUID | str,
    tenant_id: uuid.UUID | str,
    full_name: str,
    email: str,
    role: str,
    team_id: uuid.UUID | None = None,
) -> Actor:
    """Add a staff member; returns the Actor to act as them."""
    tenant = as_uuid(tenant_id, "tenant_id")
    staff_id = uuid.uuid4()
    Actor(tenant, staff_id, role)  # validates the role
    if role == "provisioner":
        raise LabError("the provisioner is a platform role, not a staff role")
    with refusals(f"adding staff {email}"), act_as(conn, Actor(tenant, as_uuid(operator_id, "operator_id"), "provisioner")) as cur:
        cur.execute(
            "insert into tenant.staff (tenant_id, staff_id, team_id, staff_role, full_name, email) values (%s, %s, %s, %s, %s, %s)",
            [tenant, staff_id, team_id, role, full_name, email],
        )
    return Actor(tenant, staff_id, role)


# -- casework (inside act_as) ------------------------------------------------------------------
def create_contact(cur: psycopg.Cursor, *, full_name: str, email: str | None = None, phone: str | None = None,
                   address_line1: str | None = None, town: str | None = None, postcode: str | None = None) -> uuid.UUID:
    with refusals("creating contact"):
        cur.execute(
            "insert into tenant.contacts (full_name, email, phone, address_line1, town, postcode) "
            "values (%s, %s, %s, %s, %s, %s) returning contact_id",
            [full_name, email, phone, address_line1, town, postcode],
        )
        return cur.fetchone()[0]


def create_enquiry(cur: psycopg.Cursor, *, reference: str, contact_id: uuid.UUID, enquiry_type: str, channel: str,
                   subject: str, body: str, priority: str = "normal") -> uuid.UUID:
    """Record a new enquiry (status 'new', unassigned); returns its id."""
    with refusals(f"creating enquiry {reference}"):
        cur.execute(
            "insert into tenant.enquiries (reference, contact_id, enquiry_type, channel, priority, subject, body, status) "
            "values (%s, %s, %s, %s, %s, %s, %s, "
            "        (select status from core.statuses where is_initial)) returning enquiry_id",
            [reference, contact_id, enquiry_type, channel, priority, subject, body],
        )
        return cur.fetchone()[0]


def _update_enquiry(cur: psycopg.Cursor, enquiry_id: uuid.UUID, version: int, what: str, assignments: str, params: list) -> int:
    version = _checked_version(version, what)
    with refusals(what):
        cur.execute(
            f"update tenant.enquiries set {assignments}, version = %s where enquiry_id = %s returning version",
            [*params, version + 1, as_uuid(enquiry_id, "enquiry_id")],
        )
        row = cur.fetchone()
    if row is None:
        raise LabError(f"{what}: enquiry {enquiry_id} not found in this department")
    return row[0]


def transition(cur: psycopg.Cursor, enquiry_id: uuid.UUID, to_status: str, *, version: int,
               assign_to: uuid.UUID | None = None) -> int:
    """Move an enquiry to `to_status` (optionally assigning it); `version` is the one read.

    Returns the new version. Raises ConflictError (40001) if someone changed it first.
    """
    what = f"moving enquiry {enquiry_id} to {to_status}"
    if assign_to is None:
        return _update_enquiry(cur, enquiry_id, version, what, "status = %s", [to_status])
    return _update_enquiry(cur, enquiry_id, version, what, "status = %s, assigned_to = %s", [to_status, assign_to])


def reassign(cur: psycopg.Cursor, enquiry_id: uuid.UUID, to_staff_id: uuid.UUID, *, version: int) -> int:
    return _update_enquiry(cur, enquiry_id, version, f"reassigning enquiry {enquiry_id}", "assigned_to = %s", [to_staff_id])


def request_escalation(cur: psycopg.Cursor, enquiry_id: uuid.UUID, reason: str) -> uuid.UUID:
    with refusals(f"requesting escalation of {enquiry_id}"):
        cur.execute(
            "insert into tenant.escalations (enquiry_id, reason) values (%s, %s) "
            "returning escalation_id",
            [enquiry_id, reason],
        )
        return cur.fetchone()[0]


def decide_escalation(cur: psycopg.Cursor, escalation_id: uuid.UUID, *, approve: bool, note: str | None = None) -> None:
    if not isinstance(approve, bool):  # truthiness would approve on 'no'
        raise LabError(f"approve must be True or False, got {_shown(approve)}")
    with refusals(f"deciding escalation {escalation_id}"):
        cur.execute(
            "update tenant.escalations set decision = %s, decision_note = %s where escalation_id = %s",
            ["approved" if approve else "rejected", note, escalation_id],
        )
        if cur.rowcount != 1:
            raise LabError(f"escalation {escalation_id} not found in this department")


def add_note(cur: psycopg.Cursor, enquiry_id: uuid.UUID, body: str, *, direction: str = "internal",
             channel: str | None = None) -> uuid.UUID:
    with refusals(f"adding a note to {enquiry_id}"):
        cur.execute(
            "insert into tenant.notes (enquiry_id, direction, channel, body) "
            "values (%s, %s, %s, %s) returning note_id",
            [enquiry_id, direction, channel, body],
        )
        return cur.fetchone()[0]


def place_legal_hold(cur: psycopg.Cursor, enquiry_id: uuid.UUID, reason: str) -> uuid.UUID:
    with refusals(f"placing a legal hold on {enquiry_id}"):
        cur.execute(
            "insert into tenant.legal_holds (enquiry_id, reason) values (%s, %s) "
            "returning legal_hold_id",
            [enquiry_id, reason],
        )
        return cur.fetchone()[0]


def release_legal_hold(cur: psycopg.Cursor, legal_hold_id: uuid.UUID) -> None:
    with refusals(f"releasing legal hold {legal_hold_id}"):
        cur.execute("update tenant.legal_holds set released_at = now() where legal_hold_id = %s", [legal_hold_id])
        if cur.rowcount != 1:  # unknown, or another department's (invisible under RLS)
            raise LabError(f"legal hold {legal_hold_id} not found in this department")


def dispose_enquiry(cur: psycopg.Cursor, enquiry_id: uuid.UUID) -> None:
    with refusals(f"disposing of enquiry {enquiry_id}"):
        cur.execute("select tenant.dispose_enquiry(%s)", [enquiry_id])


def soft_delete_enquiry(cur: psycopg.Cursor, enquiry_id: uuid.UUID, *, version: int) -> int:
    return _update_enquiry(cur, enquiry_id, version, f"soft-deleting enquiry {enquiry_id}", "deleted_at = now()", [])
