"""A profile of the data in a lab database, as DataFrames: what the generator produced.

Read as the connecting (admin) user, so every department is included.
"""

from __future__ import annotations

import pandas as pd
import psycopg

from enquiries_lab.frames import frame

STATUS_COUNTS = """
select d.code as department, e.status, count(*)::int as enquiries
from tenant.enquiries e join tenant.departments d using (tenant_id) join core.statuses s using (status)
group by d.code, e.status, s.sort_order order by d.code, s.sort_order
"""

MONTHLY_ARRIVALS = """
select d.code as department, date_trunc('month', e.received_at)::date as month, count(*)::int as enquiries
from tenant.enquiries e join tenant.departments d using (tenant_id)
group by 1, 2 order by 1, 2
"""

HANDLING_TIMES = """
select d.code as department, e.enquiry_type,
       count(*)::int as resolved,
       round(percentile_cont(0.5) within group (order by extract(epoch from e.resolved_at - e.received_at) / 86400)::numeric, 1) as median_days,
       round(percentile_cont(0.9) within group (order by extract(epoch from e.resolved_at - e.received_at) / 86400)::numeric, 1) as p90_days,
       round(avg((e.resolved_at > e.due_at)::int)::numeric, 3) as sla_breach_rate
from tenant.enquiries e join tenant.departments d using (tenant_id)
where e.resolved_at is not null
group by 1, 2 order by 1, 2
"""

DEPARTMENTS = """
select d.code as department, d.name,
       (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id)::int as enquiries,
       (select count(*) from tenant.staff s where s.tenant_id = d.tenant_id)::int as staff,
       (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id and e.deleted_at is not null)::int as soft_deleted,
       (select count(*) from tenant.enquiries e where e.tenant_id = d.tenant_id and e.disposed_at is not null)::int as disposed,
       (select count(distinct h.enquiry_id) from tenant.legal_holds h where h.tenant_id = d.tenant_id and h.released_at is null)::int as on_legal_hold
from tenant.departments d order by enquiries desc
"""


def profile(conn: psycopg.Connection) -> dict[str, pd.DataFrame]:
    """DataFrames: departments, status_counts, monthly_arrivals, handling_times."""
    return {
        "departments": frame(conn, DEPARTMENTS),
        "status_counts": frame(conn, STATUS_COUNTS),
        "monthly_arrivals": frame(conn, MONTHLY_ARRIVALS),
        "handling_times": frame(conn, HANDLING_TIMES),
    }
