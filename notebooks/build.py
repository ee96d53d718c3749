"""Build and execute the notebooks from the cell lists below (the source of truth).

    .venv/bin/python notebooks/build.py [name ...]

Each notebook is written, executed top to bottom in a fresh kernel against the server in
ENQUIRIES_LAB_DSN (or the embedded one), and stored with its outputs, which nbval compares
on every test run. Execution metadata (timings, ids) is stripped so the files stay clean.
Cells that start with `# NBVAL_IGNORE_OUTPUT` hold volatile output (timings, plots).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
IGNORE = "# NBVAL_IGNORE_OUTPUT\n"

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}


def notebook(name: str):
    def register(fn):
        NOTEBOOKS[name] = fn()
        return fn
    return register


def md(text: str) -> tuple[str, str]:
    return ("markdown", text.strip())


def code(text: str) -> tuple[str, str]:
    return ("code", text.strip())


# ----------------------------------------------------------------------------------------------
@notebook("01_tour")
def _tour():
    return [
        md("""
# A guided tour of enquiries-lab

GOV.UK Enquiries is a shared platform where government departments (the *tenants*) handle
citizen enquiries. This notebook walks through what the database holds and enforces:
departments, the workflow, an enquiry's audited life, and a rule being refused.

It prepares its own database: a fresh one, migrated, with 2,000 enquiries generated from a
fixed seed up to a fixed simulation clock (30 June 2026), so every output below is the same
on every run. The database is dropped at the end.
"""),
        code("""
from enquiries_lab.notebook import NOW, open_lab

lab = open_lab("tour", enquiries=2000)
"""),
        md("""
## The departments

Sizes are deliberately skewed, as on a real platform: one large department, several small ones.
Each has its own staff in four roles.
"""),
        code("""
print(lab.frame('''
    select d.code, d.name,
           count(distinct e.enquiry_id) as enquiries,
           count(distinct s.staff_id) filter (where s.staff_role = 'caseworker') as caseworkers,
           count(distinct s.staff_id) filter (where s.staff_role = 'supervisor') as supervisors
    from tenant.departments d
    left join tenant.enquiries e using (tenant_id)
    left join tenant.staff s using (tenant_id)
    group by d.code, d.name order by enquiries desc''').to_string(index=False))
"""),
        md("""
## The workflow is data

Which status changes are allowed, for which role, and which need a supervisor's approved
escalation, is a table (`core.status_transitions`). The database triggers read it on every
change, and the generator reads it to decide who makes each move.
"""),
        code("""
print(lab.frame('''
    select from_status, to_status, string_agg(staff_role, ', ' order by staff_role) as who,
           bool_or(requires_approval) as needs_approval
    from core.status_transitions t join core.statuses f on f.status = t.from_status
    group by from_status, to_status, f.sort_order order by f.sort_order, to_status''').to_string(index=False))
"""),
        md("""
## One enquiry's life, from the audit trail

Every change to every row is written to `audit.entries` by triggers: who did it, in which role,
when (business time), and the values before and after. Here is the first escalated enquiry of
the largest department, as the audit trail tells it.
"""),
        code("""
enquiry = lab.conn.execute('''
    select e.enquiry_id, e.reference from tenant.enquiries e join tenant.departments d using (tenant_id)
    where d.code = 'DWP' and e.escalation_count > 0 order by e.reference limit 1''').fetchone()
print('enquiry', enquiry[1])
print(lab.frame('''
    select to_char(occurred_at, 'YYYY-MM-DD HH24:MI') as at, replace(db_role, 'enquiries_', '') as role,
           table_name, action,
           coalesce(old_values ->> 'status', '') || case when row_data ? 'status' and action <> 'insert' then ' -> ' || (row_data ->> 'status') else '' end as status_change,
           array_to_string(changed_columns, ',') as changed
    from audit.entries where record_id = %s order by occurred_at, entry_id''', [enquiry[0]]).to_string(index=False))
"""),
        md("""
## Acting as someone

`act_as` opens a transaction as a staff member: it switches to their database role and sets
the department and acting user for that transaction only. Row Level Security does the
filtering; no query names a department. Here is a caseworker's queue.
"""),
        code("""
from enquiries_lab.queries import queue

caseworker = lab.staff('DWP', 'caseworker')
with lab.act_as(caseworker) as cur:
    rows = queue(cur, caseworker, limit=5)
print(len(rows), 'open cases shown; oldest first:')
for r in rows:
    print(r[1], r[2], r[4][:50])
"""),
        md("""
## A rule, refused

A caseworker may not close an enquiry that is still in progress: the workflow allows
`in_progress -> resolved -> closed` only. The database refuses with a clear error and a SQLSTATE
of its own (`EL100`, see docs/security-model.md), and nothing is written.
"""),
        code("""
from enquiries_lab import casework
from enquiries_lab.errors import DatabaseError

in_progress = lab.conn.execute('''
    select e.enquiry_id, e.version, e.assigned_to from tenant.enquiries e join tenant.departments d using (tenant_id)
    where d.code = 'DWP' and e.status = 'in_progress' order by e.reference limit 1''').fetchone()
owner = lab.staff('DWP', 'caseworker')
owner = type(owner)(owner.tenant_id, in_progress[2], 'caseworker')
try:
    with lab.act_as(owner) as cur:
        casework.transition(cur, in_progress[0], 'closed', version=in_progress[1])
except DatabaseError as err:
    print('refused:', err.sqlstate)
"""),
        md("""
## Where next

- `02_audit_reconstruction`: an enquiry's state at any time, diffs, the replay check
- `03_compliance`: every compliance check and the auditors' questions
- `04_data_profile`: the generated data, plotted
- `05_tenant_isolation`: what each role sees, and what is refused
- `06_rls_performance`: what RLS costs, and which design to ship
"""),
        code("lab.close()"),
    ]


# ----------------------------------------------------------------------------------------------
@notebook("02_audit_reconstruction")
def _reconstruction():
    return [
        md("""
# Audit reconstruction: an enquiry's life, any point in time, and proof nothing was lost

Everything here is rebuilt from `audit.entries` alone, acting as an auditor of one department
(Row Level Security applies: an auditor sees their own department's trail only). Times are
business times: when a change took effect.
"""),
        code('''
from datetime import date
from enquiries_lab import audit
from enquiries_lab.notebook import open_lab

lab = open_lab("reconstruction", enquiries=1500)
auditor = lab.staff("DWP", "auditor")
enquiry_id, reference = lab.conn.execute("""
    select e.enquiry_id, e.reference from tenant.enquiries e join tenant.departments d using (tenant_id)
    where d.code = 'DWP' and e.escalation_count > 0
    order by (select count(*) from tenant.assignments a where a.enquiry_id = e.enquiry_id) desc, e.reference
    limit 1""").fetchone()
print("enquiry", reference)
'''),
        md("## The timeline: who changed what, when, from what to what"),
        code('''
with lab.act_as(auditor) as cur:
    timeline = audit.history(cur, "enquiries", enquiry_id)
shown = timeline[timeline["column"].isin(["status", "assigned_to", "escalation_count", "disposed_at"])]
print(shown[["occurred_at", "staff_role", "action", "column", "old", "new"]].to_string(index=False))
'''),
        md("## Its state at any point in time"),
        code('''
times = list(timeline["occurred_at"].drop_duplicates())[:6]
with lab.act_as(auditor) as cur:
    for t in times:
        state = audit.state_as_of(cur, "enquiries", enquiry_id, t.to_pydatetime())
        print(t.strftime("%Y-%m-%d %H:%M"), state["status"], "version", state["version"])
'''),
        md("""
## The whole department's table at a date

`table_as_of` rebuilds every enquiry of the department as it stood at the end of a day, here
1 January 2022, from the trail alone.
"""),
        code('''
with lab.act_as(auditor) as cur:
    then = audit.table_as_of(cur, "enquiries", date(2022, 1, 1))
print("enquiries that existed on 2022-01-01:", len(then))
print(then["status"].value_counts().sort_index().to_string())
'''),
        md("## What changed in the department during one month"),
        code('''
with lab.act_as(auditor) as cur:
    changes = audit.table_diff(cur, "enquiries", date(2023, 3, 1), date(2023, 3, 31))
print(len(changes), "changed values in March 2023, by kind of change:")
print(changes.groupby(["change", "column"]).size().sort_values(ascending=False).head(8).to_string())
'''),
        md("""
## The replay check

Folding each record's audit entries in order must give exactly the live row; a mismatch would
mean a change the trail did not see. For the whole department:
"""),
        code('''
with lab.act_as(auditor) as cur:
    mismatches = audit.replay_mismatches(cur)
print("records whose live row differs from the replayed trail:", len(mismatches))
'''),
        md("""
## Tamper evidence

The trail is sealed in batches: each seal is a SHA-256 over a range of entries, chained to the
previous seal. Verification recomputes the chain. Even a superuser who switches the triggers off
to rewrite an entry is caught, and the entry is named.
"""),
        code('''
from enquiries_lab import seals

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
'''),
        code("lab.close()"),
    ]


# ----------------------------------------------------------------------------------------------
@notebook("03_compliance")
def _compliance():
    return [
        md("""
# Compliance: every check, and the questions auditors ask

`enquiries-lab check` runs one check per file in `sql/compliance/`; each returns the rows that
break its rule (none means it passes). The same checks run here through the library, followed
by the auditors' questions, answered as an auditor of one department.
"""),
        code('''
from datetime import date
from enquiries_lab import auditor as ask, compliance
from enquiries_lab.notebook import open_lab

lab = open_lab("compliance", enquiries=1500)
for r in compliance.run(lab.conn):
    print(f"{r.check.id:<40} {r.status}")
'''),
        md("""
## A broken rule is caught, and the offending rows are named

As a superuser, outside the application's rules (triggers switched off), we physically delete
a note: something no application role can do. The matching checks fail and name the row.
"""),
        code('''
with lab.conn.transaction():
    lab.conn.execute("set local session_replication_role = replica")
    lab.conn.execute("delete from tenant.notes where note_id = (select note_id from tenant.notes order by note_id limit 1)")
for r in compliance.run(lab.conn):
    if not r.passed:
        print(r.check.id, "fails")   # how many rows it names depends on statistics timing
'''),
        md("## The auditors' questions (DWP's auditor)"),
        code('''
auditor = lab.staff("DWP", "auditor")
caseworker = lab.staff("DWP", "caseworker")
with lab.act_as(auditor) as cur:
    enquiry_id, reference = cur.execute("select enquiry_id, reference from tenant.enquiries order by reference limit 1").fetchone()
    print("Who changed", reference, "?")
    print(ask.who_changed(cur, "enquiries", enquiry_id)[["occurred_at", "staff_role", "action"]].to_string(index=False))
    print()
    print("Its status at the end of its first day:", (ask.case_on(cur, reference, date(2018, 7, 2)) or {}).get("status"))
    done = ask.activity(cur, caseworker.staff_id, date(2020, 1, 1), date(2020, 1, 31))
    print("Changes one caseworker made in January 2020:", len(done))
    print("Escalations, each with its approver:", len(ask.escalation_approvals(cur)))
    print("SLA breaches:", len(ask.sla_breaches(cur)))
    print("Reassignments:", len(ask.reassignments(cur)))
    print("Reopened cases:", len(ask.reopened_cases(cur)))
    print("Disposals:", len(ask.disposals(cur)))
    try:
        ask.who_viewed(cur, "enquiries", enquiry_id)
    except ask.NotRecorded as err:
        print("Who viewed it?", str(err).split(": ", 1)[1][:100])
'''),
        code("lab.close()"),
    ]


# ----------------------------------------------------------------------------------------------
@notebook("04_data_profile")
def _profile():
    return [
        md("""
# The generated data, profiled

What `enquiries-lab generate` produces: departments of skewed sizes, arrivals with growth and
weekday/hour seasonality, handling times from skewed distributions, SLA breaches, and every
part of the workflow. The profile is `enquiries_lab.profile.profile(conn)`: DataFrames you can
also use on your own database.
"""),
        code("""
from enquiries_lab.notebook import open_lab
from enquiries_lab.profile import profile

lab = open_lab("profile", enquiries=3000, departments=6)
p = profile(lab.conn)
"""),
        md("## Departments"),
        code("print(p['departments'].to_string(index=False))"),
        md("## Where enquiries are now (current status by department)"),
        code("print(p['status_counts'].pivot(index='department', columns='status', values='enquiries').fillna(0).astype(int).to_string())"),
        md("""
## Every workflow state occurs in the history

Current statuses at the end of the simulation are mostly terminal; the audit trail shows every
state the workflow has, and how often enquiries entered it.
"""),
        code("""
print(lab.frame('''
    select s.status, count(e.entry_id) as times_entered
    from core.statuses s
    left join audit.entries e on e.table_name = 'tenant.enquiries' and e.row_data ->> 'status' = s.status
    group by s.status, s.sort_order order by s.sort_order''').to_string(index=False))
"""),
        md("## Arrivals per month: growth over eight years, per department"),
        code(IGNORE + """
import matplotlib.pyplot as plt

monthly = p['monthly_arrivals'].pivot(index='month', columns='department', values='enquiries').fillna(0)
ax = monthly.rolling(3).mean().plot(figsize=(10, 4), title='Enquiries received per month (3-month mean)')
ax.set_ylabel('enquiries'); plt.show()
"""),
        md("## Seasonality: weekday and hour of day"),
        code(IGNORE + """
by_time = lab.frame('''select extract(isodow from received_at)::int as weekday, extract(hour from received_at)::int as hour,
                              count(*) as n from tenant.enquiries group by 1, 2''')
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
by_time.groupby('weekday').n.sum().plot.bar(ax=axes[0], title='by weekday (1 = Monday)')
by_time.groupby('hour').n.sum().plot.bar(ax=axes[1], title='by hour of day')
plt.tight_layout(); plt.show()
"""),
        md("## Handling times and SLA breaches"),
        code("print(p['handling_times'].to_string(index=False))"),
        code(IGNORE + """
days = lab.frame('''select (extract(epoch from resolved_at - received_at) / 86400)::float8 as days
                    from tenant.enquiries where resolved_at is not null''')
ax = days.days.clip(upper=60).plot.hist(bins=60, figsize=(8, 3), title='Days from receipt to resolution (capped at 60)')
plt.show()
"""),
        md("## Soft deletes, legal holds and disposals"),
        code("""
print(lab.frame('''
    select (select count(*) from tenant.enquiries where deleted_at is not null) as soft_deleted,
           (select count(*) from tenant.legal_holds where released_at is null) as legal_holds,
           (select count(*) from tenant.enquiries where disposed_at is not null) as disposed,
           (select count(*) from tenant.enquiries where disposed_at is not null
                                                and disposed_at < closed_at + interval '7 years') as disposed_early''').to_string(index=False))
"""),
        code("lab.close()"),
    ]


# ----------------------------------------------------------------------------------------------
@notebook("05_tenant_isolation")
def _isolation():
    return [
        md("""
# Department isolation, demonstrated

Each department sees only its own rows, whatever the table and whatever the role, and the
database refuses the cross-department things. Everything below runs through the real roles
and Row Level Security; the test suite (`tests/test_isolation.py`, `tests/test_context.py`)
attacks the same rules exhaustively.
"""),
        code("""
import psycopg
from enquiries_lab.notebook import open_lab

lab = open_lab("isolation", enquiries=1500)
app = lab.connect_as("enquiries_app")   # the application's login: it can only SET ROLE to staff roles
TABLES = ['departments', 'staff', 'contacts', 'enquiries', 'notes', 'assignments', 'escalations', 'legal_holds']
"""),
        md("## What each role of DWP sees: only DWP's rows, in every table"),
        code("""
rows = []
for role in ['caseworker', 'supervisor', 'auditor', 'retention_officer']:
    actor = lab.staff('DWP', role)
    with lab.act_as(actor, conn=app) as cur:
        seen = {t: cur.execute(f'select count(*), count(distinct tenant_id) from tenant.{t}').fetchone() for t in TABLES}
    rows.append([role] + [f'{n} ({d} dept)' for n, d in seen.values()])
import pandas as pd
print(pd.DataFrame(rows, columns=['role'] + TABLES).to_string(index=False))
"""),
        md("""
## Attacks, and what the database says

Each attempt runs as a DWP staff member. The result column is the SQLSTATE (or the row count for
statements that simply see nothing).
"""),
        code("""
hmrc = lab.tenant('HMRC')
hmrc_enquiry = lab.conn.execute('select enquiry_id from tenant.enquiries where tenant_id = %s limit 1', [hmrc]).fetchone()[0]
attacks = [
    ('caseworker', 'read HMRC enquiries by naming the department', f"select count(*) from tenant.enquiries where tenant_id = '{hmrc}'"),
    ('caseworker', 'update an HMRC enquiry by id', f"update tenant.enquiries set priority = 'low' where enquiry_id = '{hmrc_enquiry}'"),
    ('caseworker', 'insert a contact into HMRC', f"insert into tenant.contacts (tenant_id, full_name) values ('{hmrc}', 'X')"),
    ('caseworker', 'move a DWP contact to HMRC', f"update tenant.contacts set tenant_id = '{hmrc}'"),
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
        with lab.act_as(lab.staff('DWP', role), conn=app) as cur:
            cur.execute(statement)
            outcome = f'{cur.fetchone()[0]} rows' if cur.description else f'{cur.rowcount} rows changed'
    except psycopg.Error as err:
        outcome = f'refused {err.sqlstate}'
    results.append((role, what, outcome))
print(pd.DataFrame(results, columns=['as', 'attempt', 'result']).to_string(index=False))
"""),
        md("""
## No context, no rows

A transaction that switches to a staff role but sets no department sees nothing at all
(fail closed), and a malformed department id is an error, never someone else's rows.
"""),
        code("""
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
"""),
        code("lab.close()"),
    ]


# ----------------------------------------------------------------------------------------------
@notebook("06_rls_performance")
def _rls():
    return [
        md("""
# What does RLS cost, and which design should we ship?

The benchmark harness (`enquiries-lab bench rls`) installs every policy design and index
strategy side by side on identical data (a synthetic enquiries table, 20 departments with
skewed sizes) and times the query patterns users run, for the largest and the smallest
department: warmed up, repeated in random order, medians and p95, ratios to the baseline (no
RLS, an explicit `WHERE tenant_id = ...`) measured in the same run.

This notebook runs it at a small scale so CI can execute it; set `ROWS` to 1,000,000 (or
more) for the real answer. Timing outputs vary from run to run and are not compared by the
tests; the structure and the plan properties are.
"""),
        code("""
ROWS = 20_000      # 1_000_000 for the full run
REPEATS = 5        # 30 for the full run
"""),
        md("""
## The variants

- **baseline**: no RLS; the query says `WHERE tenant_id = $1` (what you would write without RLS).
- **shipped**: what the schema ships: a restrictive tenant policy plus per-role permissive
  policies, the context read in a sub-select, so it is evaluated once per query (an InitPlan)
  and `tenant_id` stays an index condition.
- **per_row_function**: the policy calls a PL/pgSQL context function directly.
- **membership_join / membership_definer / membership_wrapped**: a membership check with a
  join per row, a SECURITY DEFINER function per row, or resolved once in a sub-select.
- **shipped_tenant_index_only / shipped_no_index / shipped_partial_open**: the shipped policy
  with weaker index strategies, or an extra partial index on open work.
"""),
        code("""
from enquiries_lab.bench import rls
for v in rls.VARIANTS:
    print(f'{v.name:<26} {v.description}')
print()
print('patterns:', ', '.join(rls.PATTERNS))
"""),
        md("## Run the harness"),
        code(IGNORE + """
import os
from enquiries_lab.config import with_database
from enquiries_lab.database import target

cells, meta = rls.run(with_database(target(None).dsn, 'postgres'), rows=ROWS, repeats=REPEATS)
print(rls.report(cells, meta))
"""),
        md("## Ratios to the baseline, per pattern (large and small department)"),
        code(IGNORE + """
import pandas as pd
import matplotlib.pyplot as plt

df = pd.DataFrame([c.__dict__ for c in cells])
reads = df[df.pattern != 'status_update']
pivot = reads.pivot_table(index=['pattern', 'tenant_size'], columns='variant', values='ratio_to_baseline')
ax = pivot[['shipped', 'per_row_function', 'membership_wrapped', 'shipped_tenant_index_only']].plot.bar(
    figsize=(11, 4), logy=True, title='median time / baseline (log scale; 1 = as fast as an explicit filter)')
ax.axhline(1.1, color='grey', linestyle='--'); plt.tight_layout(); plt.show()
"""),
        md("""
## Why the shipped design is cheap: its plan

The plan of the caseworker queue under the shipped policy shows the context evaluated once
(`InitPlan`) and `tenant_id` used as an index condition.
"""),
        code("""
plan = meta['plans']['shipped']
print('context evaluated once (InitPlan):', 'InitPlan' in plan)
print('tenant_id is an index condition:', 'Index Cond: ((tenant_id = $0)' in plan or 'Index Cond: ((tenant_id = (InitPlan' in plan)
print('no per-row SubPlan:', 'SubPlan' not in plan)
"""),
        code(IGNORE + "print(plan)"),
        md("""
## Recommendation

Ship the sub-select policy with the composite indexes that lead with `tenant_id`
(`(tenant_id, assigned_to, received_at)` for queues, `(tenant_id, status, received_at)` for
dashboards, `(tenant_id, reference)` for search). Never evaluate a membership check per row: a
SECURITY DEFINER membership function per row is orders of magnitude slower on large
departments; resolve membership once in a sub-select instead. An index on `tenant_id` alone is
not enough: the queue and the month report then read a large share of the department. The
measured figures at 1M rows, with the command that reproduced them, are in
`docs/benchmarks.md`.
"""),
    ]


def build(name: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for kind, source in NOTEBOOKS[name]:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:
        cell.metadata = {}
        cell.pop("id", None)
        for out in cell.get("outputs", []):
            out.pop("metadata", None) if out.get("output_type") == "stream" else None
    nb.nbformat_minor = 4
    nb.metadata = {"kernelspec": nb.metadata["kernelspec"], "language_info": {"name": "python"}}
    nbformat.write(nb, HERE / f"{name}.ipynb")
    print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    for name in sys.argv[1:] or NOTEBOOKS:
        build(name)
