"""Department behaviour as data: the generator's declarative profiles.

Nothing here is code that decides; `lifecycle` interprets these tables. The workflow
itself (which moves are legal, for whom) is not repeated here: it is read from
core.status_transitions, and `validate_against_workflow` refuses a profile that names a
move the database does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Real UK departments and agencies, largest first: sizes follow a Zipf-like skew.
DEPARTMENTS: list[tuple[str, str]] = [
    ("DWP", "Department for Work and Pensions"),
    ("HMRC", "HM Revenue and Customs"),
    ("HO", "Home Office"),
    ("DVLA", "Driver and Vehicle Licensing Agency"),
    ("MOJ", "Ministry of Justice"),
    ("DFE", "Department for Education"),
    ("DHSC", "Department of Health and Social Care"),
    ("DFT", "Department for Transport"),
    ("DEFRA", "Department for Environment, Food and Rural Affairs"),
    ("FCDO", "Foreign, Commonwealth and Development Office"),
    ("LR", "HM Land Registry"),
    ("CH", "Companies House"),
    ("IPO", "Intellectual Property Office"),
    ("OPG", "Office of the Public Guardian"),
    ("ONS", "Office for National Statistics"),
    ("DCMS", "Department for Culture, Media and Sport"),
    ("DBT", "Department for Business and Trade"),
    ("MHCLG", "Ministry of Housing, Communities and Local Government"),
    ("DESNZ", "Department for Energy Security and Net Zero"),
    ("CO", "Cabinet Office"),
]

# Enquiry types each department handles (with SLA days), cycled over the catalogue.
TYPE_MIXES: list[dict[str, int]] = [
    {"payment_query": 10, "eligibility": 15, "application_status": 10, "complaint": 20, "change_of_details": 5, "general": 20},
    {"payment_query": 10, "change_of_details": 5, "complaint": 20, "foi_request": 20, "appeal": 30, "general": 15},
    {"application_status": 10, "eligibility": 20, "complaint": 20, "correspondence_mp": 20, "foi_request": 20},
    {"application_status": 5, "change_of_details": 5, "payment_query": 10, "complaint": 15, "general": 10},
    {"general": 15, "complaint": 20, "subject_access": 30, "correspondence_mp": 20},
]

# How often each enquiry type occurs within a department (relative weights).
TYPE_WEIGHTS: dict[str, float] = {
    "general": 3.0, "payment_query": 4.0, "application_status": 4.0, "change_of_details": 2.5, "eligibility": 2.0,
    "complaint": 1.5, "foi_request": 0.6, "subject_access": 0.5, "correspondence_mp": 0.7, "appeal": 0.8,
}


# A caseworker's yearly capacity (about eight enquiries a working day): departments are
# staffed for their rate of enquiries, so a department's team grows with its volume per year.
CASEWORKER_ENQUIRIES_PER_YEAR = 2000


@dataclass(frozen=True)
class Behaviour:
    """How a department's enquiries move: next-status weights per status, and timing."""

    # status -> {next status: weight}; every pair must be a legal move in the database ("" = stay).
    next_status: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "new": {"assigned": 0.985, "withdrawn": 0.015},
        "assigned": {"in_progress": 0.97, "withdrawn": 0.03},
        "in_progress": {"resolved": 0.68, "awaiting_citizen": 0.18, "escalated": 0.10, "withdrawn": 0.04},
        "awaiting_citizen": {"in_progress": 0.85, "withdrawn": 0.15},
        "escalated": {"resolved": 0.7, "in_progress": 0.3},
        "resolved": {"closed": 0.93, "in_progress": 0.07},
        "closed": {"reopened": 0.05, "": 0.95},   # "": stays closed; complaints and appeals come back
        "reopened": {"in_progress": 1.0},
    })
    # median days spent in a status before the next move (log-normal, sigma below), before any
    # queue (queue_share): a citizen has two weeks to answer a letter, a resolved case is closed
    # once the ten working days to dispute it have passed, a senior review takes two weeks
    median_days: dict[str, float] = field(default_factory=lambda: {
        "new": 0.3, "assigned": 0.5, "in_progress": 2.0, "awaiting_citizen": 14.0, "escalated": 10.0,
        "resolved": 10.0, "closed": 60.0, "reopened": 10.0,
    })
    sigma: float = 0.9
    # the share of the department's queue wait (workload.py) an enquiry meets in each status:
    # new work waits for assignment; escalations wait for a senior decision and reopened cases
    # for a supervisor's review, queues with fewer hands (one supervisor per eight caseworkers);
    # an assigned case waits in the caseworker's own pile; work in progress slows a little
    queue_share: dict[str, float] = field(default_factory=lambda: {
        "new": 1.0, "assigned": 0.25, "in_progress": 0.1, "escalated": 2.5, "reopened": 3.0,
    })
    queue_sigma: float = 0.4
    escalation_rejection_rate: float = 0.25   # a request the supervisor turns down
    supervisor_assigns_rate: float = 0.6      # otherwise the caseworker takes it from the queue
    reassignment_rate: float = 0.08           # a supervisor moves work between caseworkers
    note_rate: float = 0.9                    # correspondence per worked enquiry (mean notes)
    duplicate_rate: float = 0.004             # created in error, soft-deleted by a supervisor
    legal_hold_rate: float = 0.003            # closed cases held for litigation
    repeat_contact_rate: float = 0.15         # a citizen who writes again
    urgent_rate: float = 0.03
    high_rate: float = 0.12
    low_rate: float = 0.10


DEFAULT_BEHAVIOUR = Behaviour()


def validate_against_workflow(behaviour: Behaviour, transitions: set[tuple[str, str]]) -> None:
    """Refuse a profile naming a move the database's workflow does not allow."""
    from enquiries_lab.errors import LabError

    for status, moves in behaviour.next_status.items():
        for target in moves:
            if target and (status, target) not in transitions:
                raise LabError(f"generator profile moves {status} -> {target}, which core.status_transitions does not allow")


# Text banks for subjects and bodies, per enquiry type: read like real correspondence.
SUBJECTS: dict[str, list[str]] = {
    "general": ["General question about your service", "Question about {service}", "Who do I contact about {service}?",
                "Information request about {service}"],
    "payment_query": ["Payment not received", "Query about my {service} payment", "Overpayment letter received",
                      "Wrong amount paid on {date}", "Refund still outstanding"],
    "application_status": ["Update on my application {ref}", "Application submitted on {date}: any news?",
                           "How long will my application take?", "Chasing application {ref}"],
    "change_of_details": ["Change of address", "I have changed my name", "Update my contact details",
                          "New bank details for {service}"],
    "eligibility": ["Am I eligible for {service}?", "Eligibility after moving to {town}", "Do I qualify for {service}?"],
    "complaint": ["Complaint about the handling of my case", "Formal complaint: delay with {service}",
                  "Unhappy with the response to {ref}", "Complaint about a member of staff"],
    "foi_request": ["Freedom of Information request: {topic}", "FOI request about {topic}", "Request for information on {topic}"],
    "subject_access": ["Subject access request", "Request for a copy of my personal data", "SAR: all records held about me"],
    "correspondence_mp": ["Letter from {mp} MP on behalf of a constituent", "MP enquiry: constituent case {ref}"],
    "appeal": ["Appeal against decision {ref}", "Mandatory reconsideration of {service} decision", "I wish to appeal"],
}

OPENINGS = ["Dear Sir or Madam,", "Hello,", "To whom it may concern,", "Good morning,", "Dear team,"]

SENTENCES: dict[str, list[str]] = {
    "general": ["I would like some information about {service}.", "I could not find the answer on GOV.UK.",
                "Please could you tell me who deals with {service} in {town}?",
                "I have tried calling but could not get through."],
    "payment_query": ["My {service} payment due on {date} has not arrived.", "The amount paid was {amount} less than expected.",
                      "I received a letter saying I was overpaid by {amount}, which I do not understand.",
                      "My bank confirms nothing has been received since {date}.",
                      "I rely on this payment for rent and bills."],
    "application_status": ["I submitted my application {ref} on {date}.", "I have heard nothing since my application was acknowledged.",
                           "The website says it should take eight weeks and it has now been longer.",
                           "Please could you tell me if you need anything else from me?"],
    "change_of_details": ["I moved to a new address in {town} on {date}.", "My new postcode is {postcode}.",
                          "I changed my name after getting married and need my records updated.",
                          "Please update my phone number to {phone}."],
    "eligibility": ["I would like to know whether I qualify for {service}.", "My circumstances changed on {date}.",
                    "I work part time and care for a relative.", "I recently moved to {town} from abroad."],
    "complaint": ["I am writing to complain about how my case {ref} has been handled.",
                  "I have waited since {date} without a decision.", "Nobody has replied to my last three emails.",
                  "I would like this complaint escalated to a manager.", "This has caused me considerable distress."],
    "foi_request": ["Under the Freedom of Information Act 2000, please provide information on {topic}.",
                    "Please include figures for each year since 2018.", "An electronic copy by email is fine.",
                    "If the cost limit is exceeded, please advise how to narrow the request."],
    "subject_access": ["Under UK GDPR I request a copy of all personal data you hold about me.",
                       "This includes emails, call recordings and case notes.",
                       "My reference number is {ref}.", "Please respond within one calendar month."],
    "correspondence_mp": ["I am writing on behalf of my constituent about case {ref}.",
                          "My constituent has waited since {date} for a decision.",
                          "I would be grateful for an update on their behalf.", "Please reply to my parliamentary office."],
    "appeal": ["I wish to appeal the decision dated {date} on {service}.", "I believe the decision did not consider my evidence.",
               "I enclose a letter from my GP.", "Please reconsider the decision on my case {ref}."],
}

CLOSINGS = ["Yours faithfully,", "Kind regards,", "Many thanks,", "Thank you for your help,", "Best wishes,"]

SERVICES = ["Universal Credit", "State Pension", "Child Benefit", "Personal Independence Payment", "Carer's Allowance",
            "Self Assessment", "tax credits", "a driving licence", "vehicle tax", "a passport renewal",
            "student finance", "a visa application", "Council Tax Reduction", "Attendance Allowance"]
TOPICS = ["staff numbers", "IT contract spending", "complaint volumes", "average processing times", "office closures",
          "consultancy spend", "overtime payments", "the use of artificial intelligence", "energy use in offices"]
MPS = ["Ms Patel", "Mr Jones", "Dr Ahmed", "Mrs Thompson", "Mr Campbell", "Ms O'Neill", "Sir Robert Hill"]

NOTE_TEXTS: dict[str, list[str]] = {
    "internal": ["Checked the case history; nothing outstanding on our side.", "Spoke to the payments team; reissue requested.",
                 "Evidence received and scanned to the case.", "Policy guidance checked; citizen appears eligible.",
                 "Case reviewed with supervisor."],
    "outbound": ["Wrote to the citizen requesting proof of address.", "Called the citizen to confirm the details.",
                 "Emailed the citizen with an update on progress.", "Sent the decision letter."],
    "inbound": ["Citizen replied with the requested documents.", "Citizen called for an update.",
                "Citizen emailed to say the issue is resolved.", "Further evidence received from the citizen."],
}
