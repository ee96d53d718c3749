# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Compliance: every check, and the questions auditors ask
#
# `enquiries-lab check` runs one check per file in `sql/compliance/`; each returns the rows that
# break its rule (none means it passes). The same checks run here through the library, followed
# by the auditors' questions, answered as an auditor of one department.

# %% tags=["parameters"]
DSN = None          # None: a throwaway database generated from SEED; or yours, e.g. "postgresql://postgres@127.0.0.1:5432/enquiries"
ENQUIRIES = 1500    # size of the throwaway dataset (ignored with DSN)
DEPARTMENTS = 5     # departments in the throwaway dataset, 1-20 (ignored with DSN)
SEED = 1
DEPARTMENT = "DWP"  # the department whose auditor asks

# %% [markdown]
# Every check, with its severity and result on this database (the first line says which).

# %%
from datetime import date
import pandas as pd
from enquiries_lab import auditor as ask, compliance
from enquiries_lab.notebook import open_lab

lab = open_lab("compliance", dsn=DSN, enquiries=ENQUIRIES, departments=DEPARTMENTS, seed=SEED)
results = compliance.run(lab.conn)
pd.DataFrame([(r.check.id, r.check.severity, r.status, len(r.violations)) for r in results],
             columns=["check", "severity", "result", "offending_rows"])

# %% [markdown]
# ## A broken rule is caught, and the offending row is named
#
# As a superuser, outside the application's rules (triggers switched off), we physically delete
# a note: something no application role can do. The check for physical deletes fails and names
# the note. This cell breaks the data, so it runs on a throwaway database only, never on yours.

# %%
if lab.throwaway:
    note = lab.conn.execute("select note_id from tenant.notes order by note_id limit 1").fetchone()[0]
    with lab.conn.transaction():
        lab.conn.execute("set local session_replication_role = replica")
        lab.conn.execute("delete from tenant.notes where note_id = %s", [note])
    failed = {r.check.id: r for r in compliance.run(lab.conn) if not r.passed}
    print("failing checks:", ", ".join(sorted(failed)))
    print("no_physical_deletes names the deleted note:",
          any(str(note) in str(v) for v in failed["no_physical_deletes"].violations))
else:
    print("skipped: this demonstration deletes a row behind the triggers' back, and this is your database")

# %% [markdown]
# ## The auditors' questions
#
# `enquiries_lab.auditor` answers the questions auditors ask, as the department's auditor (so
# Row Level Security confines every answer to that department). First: who changed an enquiry,
# and when.

# %%
auditor = lab.staff(DEPARTMENT, "auditor")
caseworker = lab.staff(DEPARTMENT, "caseworker")
with lab.act_as(auditor) as cur:
    enquiry_id, reference, received = cur.execute(
        "select enquiry_id, reference, received_at from tenant.enquiries order by reference limit 1").fetchone()
    who = ask.who_changed(cur, "enquiries", enquiry_id)
print("Who changed", reference, "?")
who.assign(at=who.occurred_at.dt.strftime("%Y-%m-%d %H:%M"), changed=who.changed_columns.map(", ".join))[
    ["at", "actor", "staff_role", "action", "changed"]]

# %% [markdown]
# Then the questions that count things across the department: each answer below is computed
# here, from the trail and the live tables.

# %%
first_day = received.date()
with lab.act_as(auditor) as cur:
    answers = [
        (f"status of {reference} at the end of its first day ({first_day})",
         (ask.case_on(cur, reference, first_day) or {}).get("status")),
        ("changes one caseworker made in January 2020", len(ask.activity(cur, caseworker.staff_id, date(2020, 1, 1), date(2020, 1, 31)))),
        ("escalations, each with its approver", len(ask.escalation_approvals(cur))),
        ("SLA breaches", len(ask.sla_breaches(cur))),
        ("reassignments", len(ask.reassignments(cur))),
        ("reopened cases", len(ask.reopened_cases(cur))),
        ("disposals", len(ask.disposals(cur))),
    ]
    try:
        ask.who_viewed(cur, "enquiries", enquiry_id)
        answers.append(("who viewed it", "recorded"))
    except ask.NotRecorded as err:
        answers.append(("who viewed it", str(err).split(": ", 1)[1].split(":")[0]))
pd.DataFrame(answers, columns=["question", "answer"]).astype({"answer": str})

# %% [markdown]
# Closing the lab drops a throwaway database (yours is left as it is).

# %%
lab.close()
