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
# # The generated data, profiled
#
# What `enquiries-lab generate` produces: departments of skewed sizes, arrivals with growth and
# weekday/hour seasonality, handling times from skewed distributions, SLA breaches, and every
# part of the workflow. The profile is `enquiries_lab.profile.profile(conn)`: DataFrames you can
# also use on your own database (set `DSN` below).

# %% tags=["parameters"]
DSN = None          # None: a throwaway database generated from SEED; or yours, e.g. "postgresql://postgres@127.0.0.1:5432/enquiries"
ENQUIRIES = 3000    # size of the throwaway dataset (ignored with DSN)
DEPARTMENTS = 6     # departments in the throwaway dataset, 1-20 (ignored with DSN)
SEED = 1

# %% [markdown]
# The lab opens the database (the first line says which) and computes the profile once; the
# plots below share one style (fixed fonts and size, so the stored images are reproducible).

# %%
import matplotlib.pyplot as plt
import pandas as pd
from sqlalchemy import text
from enquiries_lab.notebook import open_lab
from enquiries_lab.profile import profile

lab = open_lab("profile", dsn=DSN, enquiries=ENQUIRIES, departments=DEPARTMENTS, seed=SEED)
p = profile(lab.conn)

# %% [markdown]
# ## Departments
#
# One row per department, largest first: enquiries (soft-deleted and disposed ones included),
# staff, and how many enquiries are soft-deleted, disposed or on legal hold.

# %%
p['departments']

# %% [markdown]
# ## Where enquiries are now (current status by department)
#
# The status every enquiry has at the simulation clock, soft-deleted ones included, one column
# per status that occurs.

# %%
p['status_counts'].pivot(index='department', columns='status', values='enquiries').fillna(0).astype(int)

# %% [markdown]
# ## Every workflow state occurs in the history
#
# The current statuses above are a snapshot at the simulation clock; the audit trail holds
# every state enquiries passed through. Here, through `pandas.read_sql` on the lab's SQLAlchemy
# engine, how often enquiries entered each state of the workflow.

# %%
pd.read_sql(text('''
    select s.status, count(e.entry_id) as times_entered
    from core.statuses s
    left join audit.entries e on e.table_name = 'tenant.enquiries' and e.row_data ->> 'status' = s.status
    group by s.status, s.sort_order order by s.sort_order'''), lab.engine)

# %% [markdown]
# ## Arrivals per month, per department
#
# Enquiries received per calendar month (a 3-month rolling mean, so the trend shows through the
# noise of small departments), over the whole simulated period.

# %%
monthly = p['monthly_arrivals'].assign(month=lambda f: pd.to_datetime(f.month))
monthly = monthly.pivot(index='month', columns='department', values='enquiries').fillna(0)
fig, ax = plt.subplots(figsize=(10, 4))
monthly.rolling(3).mean().plot(ax=ax)
ax.set(title='Enquiries received per month (3-month rolling mean)', xlabel='month received',
       ylabel='enquiries per month')
ax.legend(title='department', loc='upper left', bbox_to_anchor=(1.01, 1))
plt.show()

# %% [markdown]
# ## Seasonality: weekday and hour of day
#
# All departments together: enquiries received on each day of the week and in each hour of the
# day (UTC).

# %%
by_time = lab.frame('''select extract(isodow from received_at)::int as weekday, extract(hour from received_at)::int as hour,
                              count(*) as n from tenant.enquiries group by 1, 2''')
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
weekdays = by_time.groupby('weekday').n.sum().reindex(range(1, 8), fill_value=0)
weekdays.index = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
weekdays.plot.bar(ax=axes[0], rot=0, color='tab:blue')
axes[0].set(title='by weekday', xlabel='day of the week', ylabel='enquiries received')
by_time.groupby('hour').n.sum().reindex(range(24), fill_value=0).plot.bar(ax=axes[1], rot=0, color='tab:blue')
axes[1].set(title='by hour of day', xlabel='hour of day received (UTC)', ylabel='enquiries received')
axes[1].set_xticks(range(0, 24, 3), [f'{h:02d}' for h in range(0, 24, 3)])
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Handling times and SLA breaches
#
# Per department and enquiry type: resolved enquiries, the median and 90th percentile of days
# from receipt to resolution, and the share resolved after their due date.

# %%
p['handling_times']

# %% [markdown]
# The distribution behind those figures, all departments together: most enquiries are resolved
# within a few weeks, the queue included, with a long tail (the last bar gathers everything
# after 60 days).

# %%
days = lab.frame('''select (extract(epoch from resolved_at - received_at) / 86400)::float8 as days
                    from tenant.enquiries where resolved_at is not null''')
fig, ax = plt.subplots(figsize=(8, 3.5))
days.days.clip(upper=60).plot.hist(bins=60, range=(0, 60), ax=ax, color='tab:blue')
ax.set(title='Days from receipt to resolution (60 or more in the last bar)',
       xlabel='days from receipt to resolution', ylabel='enquiries resolved')
plt.show()

# %% [markdown]
# ## Soft deletes, legal holds and disposals
#
# Enquiries soft-deleted, legal holds still in force, enquiries disposed of (anonymised), and
# those disposed of before the seven-year retention period ended (which must be none).

# %%
lab.frame('''
    select (select count(*) from tenant.enquiries where deleted_at is not null) as soft_deleted,
           (select count(*) from tenant.legal_holds where released_at is null) as legal_holds,
           (select count(*) from tenant.enquiries where disposed_at is not null) as disposed,
           (select count(*) from tenant.enquiries where disposed_at is not null
                                                and disposed_at < closed_at + interval '7 years') as disposed_early''')

# %% [markdown]
# Closing the lab drops a throwaway database (yours is left as it is).

# %%
lab.close()
