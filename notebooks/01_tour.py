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
# # A guided tour of enquiries-lab
#
# GOV.UK Enquiries is a shared platform where government departments (the *tenants*) handle
# citizen enquiries. This notebook walks through what the database holds and enforces:
# departments, the workflow, an enquiry's audited life, and a rule being refused.
#
# By default it prepares its own database: a fresh one, migrated, with 2,000 enquiries
# generated from a fixed seed up to a fixed simulation clock (30 June 2026), so every output
# below is the same on every run; the database is dropped at the end (or when the kernel
# stops). To look at your own data instead, set `DSN` in the next cell to a database that
# `enquiries-lab demo` or `enquiries-lab generate` filled.

# %% tags=["parameters"]
DSN = None          # None: a throwaway database generated from SEED; or yours, e.g. "postgresql://postgres@127.0.0.1:5432/enquiries"
ENQUIRIES = 2000    # size of the throwaway dataset (ignored with DSN)
DEPARTMENTS = 5     # departments in the throwaway dataset, 1-20 (ignored with DSN)
SEED = 1
DEPARTMENT = "DWP"  # the department the examples follow

# %% [markdown]
# The first line of output says which database the notebook is looking at, how many
# enquiries it holds and in which departments.

# %%
from enquiries_lab.notebook import open_lab

lab = open_lab("tour", dsn=DSN, enquiries=ENQUIRIES, departments=DEPARTMENTS, seed=SEED)

# %% [markdown]
# ## The departments
#
# Sizes are deliberately skewed, as on a real platform: one large department, several small
# ones. Each has its own staff, counted here by role.

# %%
lab.frame('''
    select d.code, d.name,
           (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id) as enquiries,
           count(s.staff_id) filter (where s.staff_role = 'caseworker') as caseworkers,
           count(s.staff_id) filter (where s.staff_role = 'supervisor') as supervisors,
           count(s.staff_id) filter (where s.staff_role = 'auditor') as auditors,
           count(s.staff_id) filter (where s.staff_role = 'retention_officer') as retention_officers
    from tenant.departments d
    left join tenant.staff s using (tenant_id)
    group by d.tenant_id, d.code, d.name order by enquiries desc, d.code''')

# %% [markdown]
# ## The workflow is data
#
# Which status changes are allowed, for which role, and which need a supervisor's approved
# escalation, is a table (`core.status_transitions`). The database triggers read it on every
# change, and the generator reads it to decide who makes each move.

# %%
lab.frame('''
    select from_status, to_status, string_agg(staff_role, ', ' order by staff_role) as who,
           bool_or(requires_approval) as needs_approval
    from core.status_transitions t join core.statuses f on f.status = t.from_status
    group by from_status, to_status, f.sort_order order by f.sort_order, to_status''')

# %% [markdown]
# The same question in SQL, with jupysql's `%%sql` magic on the lab's engine (`lab.engine`,
# SQLAlchemy over psycopg): load the extension once, point it at the engine, then any cell
# that starts with `%%sql` is a query whose result is a DataFrame: here, where the live (not
# soft-deleted) enquiries are in the workflow now.

# %%
# %load_ext sql
# %config SqlMagic.displaycon = False
# %config SqlMagic.feedback = 0
# %config SqlMagic.autopandas = True
engine = lab.engine
# %sql engine

# %% language="sql"
# select e.status, count(*) as enquiries
# from tenant.enquiries e join core.statuses s using (status)
# where e.deleted_at is null
# group by e.status, s.sort_order order by s.sort_order

# %% [markdown]
# ## One enquiry's life, from the audit trail
#
# Every change to every row is written to `audit.entries` by triggers: who did it, in which
# role, when (business time, to the minute here), and the values before and after. Here is the
# first escalated enquiry of the department, as the audit trail tells it.

# %%
enquiry_id, reference = lab.conn.execute('''
    select e.enquiry_id, e.reference from tenant.enquiries e join tenant.departments d using (tenant_id)
    where d.code = %s and e.escalation_count > 0 order by e.reference limit 1''', [DEPARTMENT]).fetchone()
print('enquiry', reference)
lab.frame('''
    select to_char(occurred_at, 'YYYY-MM-DD HH24:MI') as at, replace(db_role, 'enquiries_', '') as role,
           action,
           coalesce(old_values ->> 'status', '') || case when row_data ? 'status' and action <> 'insert' then ' -> ' || (row_data ->> 'status') else '' end as status_change,
           array_to_string(changed_columns, ', ') as changed
    from audit.entries where record_id = %s order by occurred_at, entry_id''', [enquiry_id])

# %% [markdown]
# ## Acting as someone
#
# `act_as` opens a transaction as a staff member: it switches to their database role and sets
# the department and acting user for that transaction only. Row Level Security does the
# filtering; no query names a department. Here is the queue of the department's busiest
# caseworker: their open cases, oldest first.

# %%
from enquiries_lab.queries import queue_frame
from enquiries_lab.session import Actor

busiest = lab.conn.execute('''
    select s.staff_id from tenant.staff s join tenant.departments d using (tenant_id)
    left join (tenant.enquiries e join core.statuses st on st.status = e.status and st.is_open)
           on e.tenant_id = s.tenant_id and e.assigned_to = s.staff_id and e.deleted_at is null
    where d.code = %s and s.staff_role = 'caseworker'
    group by s.staff_id, s.email order by count(e.enquiry_id) desc, s.email limit 1''', [DEPARTMENT]).fetchone()[0]
caseworker = Actor(lab.tenant(DEPARTMENT), busiest, 'caseworker')
cases = queue_frame(lab.conn, caseworker, limit=5)
print(lab.staff_names()[str(busiest)], 'has these open cases (at most 5 shown):')
cases.assign(received_at=cases.received_at.dt.strftime('%Y-%m-%d %H:%M'))[['reference', 'status', 'priority', 'received_at', 'subject']]

# %% [markdown]
# ## A rule, refused
#
# A caseworker may not close an enquiry that is still in progress: the workflow allows
# `in_progress -> resolved -> closed` only. The database refuses with a clear error and a
# SQLSTATE of its own (`EL100`, see docs/security-model.md), and nothing is written.

# %%
from enquiries_lab import casework
from enquiries_lab.errors import DatabaseError

in_progress = lab.conn.execute('''
    select e.enquiry_id, e.version, e.assigned_to from tenant.enquiries e join tenant.departments d using (tenant_id)
    where d.code = %s and e.status = 'in_progress' and e.deleted_at is null order by e.reference limit 1''',
    [DEPARTMENT]).fetchone()
owner = Actor(lab.tenant(DEPARTMENT), in_progress[2], 'caseworker')
try:
    with lab.act_as(owner) as cur:
        casework.transition(cur, in_progress[0], 'closed', version=in_progress[1])
except DatabaseError as err:
    print('refused:', err.sqlstate)
after = lab.conn.execute('select version from tenant.enquiries where enquiry_id = %s', [in_progress[0]]).fetchone()[0]
print('version before the attempt', in_progress[1], 'and after it', after)

# %% [markdown]
# ## Where next
#
# Each notebook takes the same parameters cell, so any of them can look at your own data.
#
# - `02_audit_reconstruction`: an enquiry's state at any time, diffs, the replay check
# - `03_compliance`: every compliance check and the auditors' questions
# - `04_data_profile`: the generated data, plotted
# - `05_tenant_isolation`: what each role sees, and what is refused
# - `06_rls_performance`: what RLS costs, and which design to ship
#
# Closing the lab drops a throwaway database (yours is left as it is).

# %%
lab.close()
