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
# # Audit reconstruction: an enquiry's life, any point in time, and proof nothing was lost
#
# Everything here is rebuilt from `audit.entries` alone, acting as an auditor of one department
# (Row Level Security applies: an auditor sees their own department's trail only). Times are
# business times (when a change took effect), shown to the minute, in UTC.

# %% tags=["parameters"]
DSN = None          # None: a throwaway database generated from SEED; or yours, e.g. "postgresql://postgres@127.0.0.1:5432/enquiries"
ENQUIRIES = 1500    # size of the throwaway dataset (ignored with DSN)
DEPARTMENTS = 5     # departments in the throwaway dataset, 1-20 (ignored with DSN)
SEED = 1
DEPARTMENT = "DWP"  # the department whose auditor asks

# %% [markdown]
# The lab opens the database (the first line says which), and picks the department's
# escalated enquiry that was reassigned most often: the richest history to rebuild.

# %%
from datetime import date
from enquiries_lab import audit
from enquiries_lab.notebook import open_lab

lab = open_lab("reconstruction", dsn=DSN, enquiries=ENQUIRIES, departments=DEPARTMENTS, seed=SEED)
auditor = lab.staff(DEPARTMENT, "auditor")
names = lab.staff_names()
enquiry_id, reference = lab.conn.execute("""
    select e.enquiry_id, e.reference from tenant.enquiries e join tenant.departments d using (tenant_id)
    left join (select tenant_id, enquiry_id, count(*) as n from tenant.assignments group by 1, 2) a using (tenant_id, enquiry_id)
    where d.code = %s and e.escalation_count > 0
    order by coalesce(a.n, 0) desc, e.reference
    limit 1""", [DEPARTMENT]).fetchone()
print("enquiry", reference)

# %% [markdown]
# ## The timeline: who changed what, when, from what to what
#
# `audit.history` gives one row per entry and column; here the columns that tell the story
# (status, owner, escalations, disposal), with staff shown by name rather than by id.

# %%
with lab.act_as(auditor) as cur:
    timeline = audit.history(cur, "enquiries", enquiry_id)
shown = timeline[timeline["column"].isin(["status", "assigned_to", "escalation_count", "disposed_at"])].copy()
for side in ("old", "new"):
    shown[side] = [names.get(str(v), v) if c == "assigned_to" else v for c, v in zip(shown["column"], shown[side])]
shown["at"] = shown["occurred_at"].dt.strftime("%Y-%m-%d %H:%M")
shown["by"] = shown["actor"]
shown[["at", "by", "staff_role", "action", "column", "old", "new"]].fillna("").reset_index(drop=True)

# %% [markdown]
# ## Its state at any point in time
#
# `audit.state_as_of` folds the trail up to a moment; at each of the first six moments of the
# timeline, the status and version the enquiry had then.

# %%
import pandas as pd

times = list(timeline["occurred_at"].drop_duplicates())[:6]
with lab.act_as(auditor) as cur:
    states = [audit.state_as_of(cur, "enquiries", enquiry_id, t.to_pydatetime()) for t in times]
pd.DataFrame({"at": [t.strftime("%Y-%m-%d %H:%M") for t in times],
              "status": [s["status"] for s in states],
              "assigned_to": [names.get(str(s["assigned_to"]), "") for s in states],
              "version": [s["version"] for s in states]})

# %% [markdown]
# ## The whole department's table at a date
#
# `table_as_of` rebuilds every enquiry of the department as it stood at the end of a day, here
# 1 January 2022, from the trail alone; the count by status is what the department held then.

# %%
with lab.act_as(auditor) as cur:
    then = audit.table_as_of(cur, "enquiries", date(2022, 1, 1))
print("enquiries that existed on 2022-01-01:", len(then))
then["status"].value_counts().sort_index().rename_axis("status").reset_index(name="enquiries")

# %% [markdown]
# ## What changed in the department during one month
#
# `table_diff` lists every value that changed between two dates: the enquiries created in the
# month, and for the others which columns changed how often (most frequent first).

# %%
with lab.act_as(auditor) as cur:
    changes = audit.table_diff(cur, "enquiries", date(2023, 3, 1), date(2023, 3, 31))
created = changes[changes["change"] == "created"]
changed = changes[changes["change"] == "changed"]
print(f"March 2023: {created.record_id.nunique()} enquiries created, {changed.record_id.nunique()} existing ones changed, in these columns:")
(changed.groupby("column").agg(enquiries=("record_id", "nunique")).reset_index()
        .sort_values(["enquiries", "column"], ascending=[False, True]).reset_index(drop=True))

# %% [markdown]
# ## The replay check
#
# Folding each record's audit entries in order must give exactly the live row; a mismatch would
# mean a change the trail did not see. For the whole department:

# %%
with lab.act_as(auditor) as cur:
    mismatches = audit.replay_mismatches(cur)
print("records whose live row differs from the replayed trail:", len(mismatches))

# %% [markdown]
# ## Tamper evidence
#
# The trail is sealed in batches: each seal is a SHA-256 over a range of entries, chained to the
# previous seal. Verification recomputes the chain. Even a superuser who switches the triggers
# off to rewrite an entry is caught, and the entry is named. This cell changes the trail, so it
# runs on a throwaway database only, never on yours.

# %%
from enquiries_lab import seals

if lab.throwaway:
    seals.seal(lab.conn)
    print("before:", "tampered" if seals.verify(lab.conn).tampered else "intact")
    entry = lab.conn.execute("select entry_id from audit.entries where record_id = %s order by entry_id offset 1 limit 1",
                             [enquiry_id]).fetchone()[0]
    with lab.conn.transaction():
        lab.conn.execute("set local session_replication_role = replica")   # a superuser bypassing the triggers
        lab.conn.execute("update audit.entries set actor_id = gen_random_uuid() where entry_id = %s", [entry])
    report = seals.verify(lab.conn)
    print("after: ", "tampered" if report.tampered else "intact")
    print("the changed entry is named:", any(str(entry) in p.line() for p in report.tampering))
else:
    print("skipped: this demonstration rewrites an audit entry, and this is your database")

# %% [markdown]
# Closing the lab drops a throwaway database (yours is left as it is).

# %%
lab.close()
