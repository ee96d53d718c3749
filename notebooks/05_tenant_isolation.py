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
# # Department isolation, demonstrated
#
# Each department sees only its own rows, whatever the table and whatever the role, and the
# database refuses the cross-department things. Everything below runs through the real roles
# and Row Level Security; the test suite (`tests/test_isolation.py`, `tests/test_context.py`)
# attacks the same rules exhaustively.

# %% tags=["parameters"]
DSN = None          # None: a throwaway database generated from SEED; or yours, e.g. "postgresql://postgres@127.0.0.1:5432/enquiries"
ENQUIRIES = 1500    # size of the throwaway dataset (ignored with DSN)
DEPARTMENTS = 5     # departments in the throwaway dataset, 2-20 (ignored with DSN)
SEED = 1
DEPARTMENT = "DWP"  # the department whose staff act
OTHER = "HMRC"      # the department they try to reach

# %% [markdown]
# The notebook connects as the application's login (`enquiries_app`), which can do nothing
# but switch to a staff role, as the real application does; the first line says which
# database this is.

# %%
import pandas as pd
import psycopg
from enquiries_lab.notebook import open_lab

lab = open_lab("isolation", dsn=DSN, enquiries=ENQUIRIES, departments=DEPARTMENTS, seed=SEED)
app = lab.connect_as("enquiries_app")   # the application's login: it can only SET ROLE to staff roles
TABLES = ['departments', 'staff', 'contacts', 'enquiries', 'notes', 'assignments', 'escalations', 'legal_holds']

# %% [markdown]
# ## What each role of the department sees: only its own rows, in every table
#
# For each role, each table: the rows it sees and (in brackets) how many departments they
# belong to; 1 everywhere means nothing of another department leaks, 0 that the table has no
# rows for this department.

# %%
rows = []
for role in ['caseworker', 'supervisor', 'auditor', 'retention_officer']:
    actor = lab.staff(DEPARTMENT, role)
    with lab.act_as(actor, conn=app) as cur:
        seen = {t: cur.execute(f'select count(*), count(distinct tenant_id) from tenant.{t}').fetchone() for t in TABLES}
    rows.append([role] + [f'{n} ({d} dept)' for n, d in seen.values()])
pd.DataFrame(rows, columns=['role'] + TABLES)

# %% [markdown]
# ## Attacks, and what the database says
#
# Each attempt runs as a staff member of the department against the other one. The result
# column is the SQLSTATE of the refusal, or the row count for statements that simply see
# nothing.

# %%
other = lab.tenant(OTHER)
other_enquiry = lab.conn.execute('select enquiry_id from tenant.enquiries where tenant_id = %s order by reference limit 1',
                                 [other]).fetchone()[0]
attacks = [
    ('caseworker', f'read {OTHER} enquiries by naming the department', f"select count(*) from tenant.enquiries where tenant_id = '{other}'"),
    ('caseworker', f'update an {OTHER} enquiry by id', f"update tenant.enquiries set priority = 'low' where enquiry_id = '{other_enquiry}'"),
    ('caseworker', f'insert a contact into {OTHER}', f"insert into tenant.contacts (tenant_id, full_name) values ('{other}', 'X')"),
    ('caseworker', f'move a {DEPARTMENT} contact to {OTHER}', f"update tenant.contacts set tenant_id = '{other}'"),
    ('supervisor', 'physically delete an enquiry', 'delete from tenant.enquiries'),
    ('supervisor', 'truncate the notes', 'truncate tenant.notes'),
    ('auditor', 'change an enquiry', "update tenant.enquiries set priority = 'low'"),
    ('auditor', 'delete audit entries', 'delete from audit.entries'),
    ('caseworker', 'read the audit trail', 'select count(*) from audit.entries'),
    ('caseworker', 'switch to the owner role', 'set role enquiries_owner'),
]
results = []
for role, what, statement in attacks:
    try:
        with lab.act_as(lab.staff(DEPARTMENT, role), conn=app) as cur:
            cur.execute(statement)
            outcome = f'{cur.fetchone()[0]} rows' if cur.description else f'{cur.rowcount} rows changed'
            raise psycopg.Rollback()   # whatever got through is not kept (nothing does)
    except psycopg.Error as err:
        outcome = f'refused {err.sqlstate}'
    results.append((role, what, outcome))
pd.DataFrame(results, columns=['as', 'attempt', 'result'])

# %% [markdown]
# ## No context, no rows
#
# A transaction that switches to a staff role but sets no department sees nothing at all
# (fail closed), and a malformed department id is an error, never someone else's rows.

# %%
with app.transaction():
    app.execute('set local role enquiries_auditor')
    print('no context:', app.execute('select count(*) from tenant.enquiries').fetchone()[0], 'rows')
try:
    with app.transaction():
        app.execute('set local role enquiries_auditor')
        app.execute("set local enquiries.tenant_id = 'not-a-uuid'")
        app.execute('select count(*) from tenant.enquiries')
except psycopg.Error as err:
    print('malformed context: refused', err.sqlstate)

# %% [markdown]
# Closing the lab drops a throwaway database (yours is left as it is).

# %%
lab.close()
