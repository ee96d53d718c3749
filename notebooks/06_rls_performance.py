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
# # What does RLS cost, and which design should we ship?
#
# The benchmark harness (`enquiries-lab bench rls`) installs every policy design and index
# strategy side by side on identical data (a synthetic enquiries table, 20 departments with
# skewed sizes) and times the query patterns users run, for the largest and the smallest
# department: warmed up, repeated in random order, medians and p95, ratios to the baseline (no
# RLS, an explicit `WHERE tenant_id = ...`) measured in the same run.
#
# This notebook runs it at a small scale so CI can execute it; set `ROWS` to 1,000,000 (or
# more) for the real answer. Timing outputs vary from run to run and are not compared by the
# tests; the structure and the plan properties are.

# %% tags=["parameters"]
DSN = None         # None: the lab's server; or any DSN on the server to benchmark (it works in a database of its own)
ROWS = 20_000      # 1_000_000 for the full run
REPEATS = 5        # 30 for the full run

# %% [markdown]
# ## The variants
#
# - **baseline**: no RLS; the query says `WHERE tenant_id = $1` (what you would write without RLS).
# - **shipped**: what the schema ships: a restrictive tenant policy plus per-role permissive
#   policies, the context read in a sub-select, so it is evaluated once per query (an InitPlan)
#   and `tenant_id` stays an index condition; the department-wide dashboard runs in a
#   function that binds the context's department as a value, so it is planned for that
#   department (`sql/076`).
# - **subselect_unplanned**: the shipped policies with the dashboard as a plain statement: the
#   planner sees the department only as the InitPlan's parameter and plans an average one
#   (the design before `sql/076`; the dominant department's dashboard pays for it).
# - **shipped_routed**: the shipped policies, and the query also filters by `tenant_id` (the
#   routing hint the Citus profile adds; never the guarantee).
# - **stable_expression**: the policies compare with `tenant.current_tenant_id()` directly (no
#   sub-select, as Citus needs): the planner sees the department's value, but a sequential scan
#   evaluates it once per row.
# - **partitioned_subselect / partitioned_stable**: the table LIST-partitioned by department
#   (per-department statistics, run-time pruning), with either policy form.
# - **costly_function / cheap_function**: the policies call a non-inlined PL/pgSQL context
#   function declared with a high or a low cost.
# - **per_row_function**: the policy calls a PL/pgSQL context function directly.
# - **membership_join / membership_definer / membership_wrapped**: a membership check with a
#   join per row, a SECURITY DEFINER function per row, or resolved once in a sub-select.
# - **shipped_tenant_index_only / shipped_no_index / shipped_partial_open**: the shipped policy
#   with weaker index strategies, or an extra partial index on open work.
#
# The harness's own list, with the query patterns it times:

# %%
import pandas as pd
from enquiries_lab.bench import rls
from enquiries_lab.notebook import setup_plots   # also the lab's table display settings

setup_plots()
print('patterns:', ', '.join(rls.PATTERNS))
pd.DataFrame([(v.name, v.description) for v in rls.VARIANTS], columns=['variant', 'description'])

# %% [markdown]
# ## Run the harness
#
# The table: one row per variant, one column per pattern and department size, each cell the
# median of the per-round ratios to the baseline (below 1 is faster than the explicit filter);
# the first row is the baseline's own median in milliseconds. The lines above it say what ran
# and the verdict for the shipped design (`enquiries-lab bench rls` prints the same figures,
# with p95 and spread, as text).

# %%
# NBVAL_IGNORE_OUTPUT
from enquiries_lab.config import with_database
from enquiries_lab.database import target

server = with_database(DSN or target(None).dsn, 'postgres')
cells, meta = rls.run(server, rows=ROWS, repeats=REPEATS)
report = rls.report(cells, meta).splitlines()
print(report[0])
print(report[-1])
df = pd.DataFrame([c.__dict__ for c in cells])
order = [v.name for v in rls.VARIANTS]
ratios = df.pivot_table(index='variant', columns=['pattern', 'tenant_size'], values='ratio_to_baseline').reindex(order)
baseline_ms = df[df.variant == 'baseline'].pivot_table(columns=['pattern', 'tenant_size'], values='median_ms')
baseline_ms.index = ['baseline median (ms)']
pd.concat([baseline_ms.round(3), ratios.drop(index='baseline').round(2)])

# %% [markdown]
# ## Ratios to the baseline, per pattern (large and small department)
#
# Median time of four designs divided by the baseline's, on a log scale; the dashed line is
# 1.1x (10% slower than an explicit filter). At this small scale a sub-millisecond query
# turns a fixed overhead into a visible ratio; the figures at 1M rows are in
# `docs/benchmarks.md`.

# %%
import matplotlib.pyplot as plt

reads = df[df.pattern != 'status_update']
pivot = reads.pivot_table(index=['pattern', 'tenant_size'], columns='variant', values='ratio_to_baseline')
shown = pivot[['shipped', 'per_row_function', 'membership_wrapped', 'shipped_tenant_index_only']]
shown.index = [f'{p}\n({s} dept)' for p, s in shown.index]
fig, ax = plt.subplots(figsize=(11, 4.5))
shown.plot.bar(ax=ax, logy=True, rot=0, width=0.8)
ax.axhline(1.1, color='grey', linestyle='--', label='1.1x baseline')
ax.set(title='Median query time relative to the baseline (explicit WHERE tenant_id, no RLS)',
       xlabel='query pattern (department size)', ylabel='median time / baseline median (log scale)')
ax.tick_params(axis='x', labelsize=8)
ax.legend(title='variant', loc='upper left', bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# In this run, the range of the shipped design's ratios (computed from the measurements, so
# it changes from run to run):

# %%
# NBVAL_IGNORE_OUTPUT
shipped = df[(df.variant == 'shipped') & (df.pattern != 'status_update')]
worst = shipped.loc[shipped.ratio_to_baseline.idxmax()]
print(f"shipped: {shipped.ratio_to_baseline.min():.2f}x to {shipped.ratio_to_baseline.max():.2f}x of the baseline "
      f"(highest: {worst.pattern}, {worst.tenant_size} department, {worst.median_ms:.3f} ms median)")

# %% [markdown]
# ## How the shipped design is planned
#
# Whatever a small run's ratios, what keeps the shipped policy's cost bounded as departments
# grow is its plan: the caseworker queue under the shipped policy evaluates the context once
# (`InitPlan`) and uses `tenant_id` as an index condition, with no per-row sub-plan.

# %%
plan = meta['plans']['shipped']
pd.DataFrame([
    ('context evaluated once (InitPlan)', 'InitPlan' in plan),
    ('tenant_id is an index condition', 'Index Cond: ((tenant_id = $0)' in plan or 'Index Cond: ((tenant_id = (InitPlan' in plan),
    ('no per-row SubPlan', 'SubPlan' not in plan),
], columns=['plan property', 'holds'])

# %% [markdown]
# The plan itself (timings and the caseworker's id vary between runs):

# %%
# NBVAL_IGNORE_OUTPUT
print(plan)

# %% [markdown]
# ## Recommendation
#
# Ship the sub-select policy with the composite indexes that lead with `tenant_id` (those the
# schema has: `(tenant_id, assigned_to, received_at)` for queues,
# `(tenant_id, priority, received_at)`, `(tenant_id, reference)` for search; the dashboard scans
# the department). Never evaluate a membership check per row:
# at 1M rows a SECURITY DEFINER membership function per row is orders of magnitude slower on
# large departments; resolve membership once in a sub-select instead. An index on `tenant_id`
# alone is not enough: the queue and the month report then read a large share of the
# department. The measured figures at 1M rows, with the command that reproduced them, are in
# `docs/benchmarks.md`.
