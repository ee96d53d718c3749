"""A small two-department world for the schema tests, built through the real API.

Department A and department B each get one staff member per role, a contact, an
enquiry that has been assigned, worked, escalated (approved) and noted, and a legal
hold, so every tenant table holds rows of both departments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg.conninfo import make_conninfo

from enquiries_lab import casework
from enquiries_lab.session import Actor, act_as

OPERATOR = uuid.UUID("00000000-0000-4000-8000-00000000000f")
TENANT_TABLES = ["departments", "department_enquiry_types", "teams", "staff", "contacts", "enquiries",
                 "notes", "assignments", "escalations", "legal_holds"]
STAFF_ROLES = ["caseworker", "supervisor", "auditor", "retention_officer"]


def as_login(dsn: str, login: str) -> str:
    return make_conninfo(dsn, user=login)


@dataclass
class Department:
    code: str
    tenant_id: uuid.UUID
    team_id: uuid.UUID
    staff: dict[str, Actor] = field(default_factory=dict)
    caseworker2: Actor | None = None
    contact_id: uuid.UUID | None = None
    enquiry_id: uuid.UUID | None = None
    enquiry_version: int = 1
    escalation_id: uuid.UUID | None = None
    legal_hold_id: uuid.UUID | None = None

    def actor(self, role: str) -> Actor:
        return self.staff[role]


@dataclass
class World:
    dsn: str        # superuser DSN to the test database
    app_dsn: str    # the application login (enquiries_app)
    loader_dsn: str  # the generator login (enquiries_loader)
    a: Department
    b: Department

    def connect(self, login: str = "enquiries_app") -> psycopg.Connection:
        return psycopg.connect(as_login(self.dsn, login), autocommit=True)


def _department(conn: psycopg.Connection, code: str) -> Department:
    tenant, teams = casework.provision_department(
        conn, operator_id=OPERATOR, code=code, name=f"Department {code}",
        enquiry_types={"general": 20, "complaint": 10}, teams=["Casework"])
    d = Department(code, tenant, teams["Casework"])
    for role in STAFF_ROLES:
        d.staff[role] = casework.add_staff(conn, operator_id=OPERATOR, tenant_id=tenant, full_name=f"{role} {code}",
                                           email=f"{role}@{code.lower()}.example.gov.uk", role=role, team_id=d.team_id)
    d.caseworker2 = casework.add_staff(conn, operator_id=OPERATOR, tenant_id=tenant, full_name=f"second {code}",
                                       email=f"second@{code.lower()}.example.gov.uk", role="caseworker")
    cw, sup = d.actor("caseworker"), d.actor("supervisor")
    with act_as(conn, cw) as cur:
        d.contact_id = casework.create_contact(cur, full_name=f"Citizen {code}", email=f"citizen@{code.lower()}.example.com",
                                               postcode="SW1A 1AA")
        d.enquiry_id = casework.create_enquiry(cur, reference=f"{code}-000001", contact_id=d.contact_id,
                                               enquiry_type="general", channel="email", subject="Where is my payment?",
                                               body="It has not arrived.")
        v = casework.transition(cur, d.enquiry_id, "assigned", version=1, assign_to=cw.staff_id)
        v = casework.transition(cur, d.enquiry_id, "in_progress", version=v)
        casework.add_note(cur, d.enquiry_id, "Called the citizen.", direction="outbound", channel="phone")
        d.escalation_id = casework.request_escalation(cur, d.enquiry_id, "Needs a senior decision.")
    with act_as(conn, sup) as cur:
        casework.decide_escalation(cur, d.escalation_id, approve=True)
        d.legal_hold_id = casework.place_legal_hold(cur, d.enquiry_id, "Litigation pending.")
    d.enquiry_version = v
    return d


def build_world(dsn: str) -> World:
    with psycopg.connect(as_login(dsn, "enquiries_loader"), autocommit=True) as conn:
        a = _department(conn, "AAA")
        b = _department(conn, "BBB")
    return World(dsn, as_login(dsn, "enquiries_app"), as_login(dsn, "enquiries_loader"), a, b)


def load_world(dsn: str) -> World:
    """The World of a database built by build_world (or a template copy of one)."""
    with psycopg.connect(dsn, autocommit=True) as conn:  # superuser: sees every department
        depts = {}
        for code in ("AAA", "BBB"):
            tenant, = conn.execute("select tenant_id from tenant.departments where code = %s", [code]).fetchone()
            team, = conn.execute("select team_id from tenant.teams where tenant_id = %s", [tenant]).fetchone()
            d = Department(code, tenant, team)
            for staff_id, role, email in conn.execute(
                    "select staff_id, staff_role, email from tenant.staff where tenant_id = %s", [tenant]):
                if email.startswith("second@"):
                    d.caseworker2 = Actor(tenant, staff_id, role)
                else:
                    d.staff[role] = Actor(tenant, staff_id, role)
            d.contact_id, = conn.execute("select contact_id from tenant.contacts where tenant_id = %s", [tenant]).fetchone()
            d.enquiry_id, d.enquiry_version = conn.execute(
                "select enquiry_id, version from tenant.enquiries where tenant_id = %s", [tenant]).fetchone()
            d.escalation_id, = conn.execute("select escalation_id from tenant.escalations where tenant_id = %s", [tenant]).fetchone()
            d.legal_hold_id, = conn.execute("select legal_hold_id from tenant.legal_holds where tenant_id = %s", [tenant]).fetchone()
            depts[code] = d
    return World(dsn, as_login(dsn, "enquiries_app"), as_login(dsn, "enquiries_loader"), depts["AAA"], depts["BBB"])
