"""A small, fixed sample: three departments, their staff, and a few enquiries walked
through the workflow. `enquiries-lab demo` installs it into an empty lab database so a
new user sees every rule at work; `enquiries-lab generate` (the generator) is for volume.
"""

from __future__ import annotations

import uuid

import psycopg

from enquiries_lab import casework
from enquiries_lab.session import Actor, act_as

NAMESPACE = uuid.UUID("6f1c2a52-4d0e-4b8e-9a57-3b9b5f0e2d11")
OPERATOR = uuid.uuid5(NAMESPACE, "platform-operator")

DEPARTMENTS = [
    ("DWP", "Department for Work and Pensions", {"payment_query": 10, "eligibility": 15, "complaint": 20, "general": 20}),
    ("HMRC", "HM Revenue and Customs", {"payment_query": 10, "change_of_details": 5, "complaint": 20, "foi_request": 20}),
    ("DVLA", "Driver and Vehicle Licensing Agency", {"application_status": 5, "change_of_details": 5, "general": 15}),
]
STAFF = [("supervisor", "Sam Okafor"), ("caseworker", "Priya Shah"), ("caseworker", "Tom Hughes"),
         ("auditor", "Alex Morgan"), ("retention_officer", "Jo Reid")]


def is_empty(conn: psycopg.Connection) -> bool:
    return conn.execute("select not exists (select from tenant.departments)").fetchone()[0]


def install(conn: psycopg.Connection) -> int:
    """Install the sample into an empty lab database; returns the number of enquiries."""
    count = 0
    for code, name, types in DEPARTMENTS:
        tenant, teams = casework.provision_department(
            conn, operator_id=OPERATOR, code=code, name=name, enquiry_types=types,
            tenant_id=uuid.uuid5(NAMESPACE, code))
        staff = {}
        for role, person in STAFF:
            key = f"{role}:{person}"
            email = f"{person.lower().replace(' ', '.')}@{code.lower()}.example.gov.uk"
            staff[key] = casework.add_staff(conn, operator_id=OPERATOR, tenant_id=tenant, full_name=person,
                                            email=email, role=role, team_id=teams["Casework"])
        count += _casework(conn, code, list(types), staff)
    return count


def _casework(conn: psycopg.Connection, code: str, types: list[str], staff: dict[str, Actor]) -> int:
    sup = staff["supervisor:Sam Okafor"]
    cw1, cw2 = staff["caseworker:Priya Shah"], staff["caseworker:Tom Hughes"]
    ids = []
    with act_as(conn, cw1) as cur:
        contact = casework.create_contact(cur, full_name="Margaret Ellis", email="m.ellis@example.com",
                                          town="Leeds", postcode="LS1 4DY")
        for n, (subject, body) in enumerate([
            ("Payment not received", "My payment due on the 3rd has not arrived. Please can you check?"),
            ("Change of address", "I have moved house and need to update my address on your records."),
            ("Complaint about delay", "I have waited eight weeks for a decision and heard nothing."),
            ("Question about my application", "Could you tell me where my application has got to?"),
        ]):
            ids.append(casework.create_enquiry(cur, reference=f"{code}-{n + 1:06d}", contact_id=contact,
                                               enquiry_type=types[n % len(types)], channel="email",
                                               subject=subject, body=body))
    a, b, c, d = ids
    # a: taken, worked, resolved and closed by a caseworker.
    with act_as(conn, cw1) as cur:
        v = casework.transition(cur, a, "assigned", version=1, assign_to=cw1.staff_id)
        v = casework.transition(cur, a, "in_progress", version=v)
        casework.add_note(cur, a, "Checked the payment schedule; payment reissued.", direction="internal")
        v = casework.transition(cur, a, "resolved", version=v)
        casework.transition(cur, a, "closed", version=v)
    # b: assigned by the supervisor, reassigned, waiting on the citizen.
    with act_as(conn, sup) as cur:
        v = casework.transition(cur, b, "assigned", version=1, assign_to=cw1.staff_id)
        v = casework.reassign(cur, b, cw2.staff_id, version=v)
    with act_as(conn, cw2) as cur:
        v = casework.transition(cur, b, "in_progress", version=v)
        casework.transition(cur, b, "awaiting_citizen", version=v)
    # c: escalated with a supervisor's approval.
    with act_as(conn, cw2) as cur:
        v = casework.transition(cur, c, "assigned", version=1, assign_to=cw2.staff_id)
        v = casework.transition(cur, c, "in_progress", version=v)
        esc = casework.request_escalation(cur, c, "Eight weeks without a decision; needs a senior review.")
    with act_as(conn, sup) as cur:
        casework.decide_escalation(cur, esc, approve=True, note="Agreed.")
    with act_as(conn, cw2) as cur:
        casework.transition(cur, c, "escalated", version=v)
    # d: still new, on the department's queue.
    return len(ids)
