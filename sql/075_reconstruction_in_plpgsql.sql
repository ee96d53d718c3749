-- 075 reconstruction in PL/pgSQL: audit.record_as_of, audit.table_as_of, audit.table_changes
-- (sql/012) and audit.sla_breaches (sql/014) were SQL functions whose queries read their
-- parameters. Citus cannot plan a query of a distributed table inside a parameterised SQL
-- function ("could not create distributed plan", SQLSTATE 0A000, measured on Citus 13.2 /
-- PostgreSQL 15 through the coordinator, as superuser and as an auditor), so on the cluster
-- every one of them failed. The same queries as PL/pgSQL functions: parameters are bound like
-- any other, and the department is read once into a variable, so `tenant_id = department`
-- routes the department's reconstruction to its one shard (a call of
-- tenant.current_tenant_id() or a sub-select of it cannot be routed).
--
-- Guarantees (unchanged; tests/test_reconstruction.py, tests/test_citus_reconstruction.py):
--   * each function returns what its sql/012 or sql/014 definition returned, row for row, on
--     single-node PostgreSQL and on Citus: same signature, result columns, privileges, owner,
--     comment and settings (jit off; work_mem for the snapshots);
--   * still security invoker: RLS decides what the caller sees; record_as_of, table_as_of and
--     table_changes read the department in context only (none without one), sla_breaches
--     every department the caller may see.
-- `#variable_conflict use_column`: the result columns (record_id, tenant_id, ...) are
-- variables in PL/pgSQL; in the queries a bare name is the column, as in the SQL originals.
-- RETURN QUERY does not cast as an SQL function's result does: sla_breaches casts the
-- domains core.enquiry_reference and core.priority to the text its result declares.

create or replace function audit.record_as_of(table_name text, record_id uuid, as_of timestamp with time zone)
    returns jsonb
    language plpgsql stable
    as $$
#variable_conflict use_column
declare
    department constant uuid := tenant.current_tenant_id();
    state jsonb;
begin
    select audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) into state
    from audit.entries e
    where e.tenant_id = department
      and e.record_id = record_as_of.record_id
      and e.table_name = record_as_of.table_name
      and e.occurred_at <= record_as_of.as_of
    having count(*) > 0;
    return state;
end
$$;

create or replace function audit.table_as_of(table_name text, as_of timestamp with time zone)
    returns table(record_id uuid, state jsonb)
    language plpgsql stable
    set work_mem to '256MB'
    set jit to 'off'
    as $$
#variable_conflict use_column
declare
    department constant uuid := tenant.current_tenant_id();
begin
    -- The insert (the full row) in front of the fold of the updates, as in sql/012.
    return query
    select coalesce(i.record_id, c.record_id), coalesce(i.row_data, '{}') || coalesce(c.changes, '{}')
    from (select e.record_id, e.row_data
          from audit.entries e
          where e.tenant_id = department and e.table_name = table_as_of.table_name
            and e.occurred_at <= table_as_of.as_of and e.action = 'insert') i
    full join (select e.record_id, audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) as changes
               from audit.entries e
               where e.tenant_id = department and e.table_name = table_as_of.table_name
                 and e.occurred_at <= table_as_of.as_of and e.action <> 'insert'
               group by e.record_id) c on c.record_id = i.record_id;
end
$$;

create or replace function audit.table_changes(table_name text, from_time timestamp with time zone,
                                               to_time timestamp with time zone)
    returns table(record_id uuid, before jsonb, after jsonb)
    language plpgsql stable
    set work_mem to '256MB'
    set jit to 'off'
    as $$
#variable_conflict use_column
declare
    department constant uuid := tenant.current_tenant_id();
    changed uuid[];
begin
    -- The records changed in (from_time, to_time] first, then their entries up to to_time,
    -- joined by key: the same rows as sql/012's `record_id in (sub-select)`, whose plan with
    -- the bounds known (a PL/pgSQL custom plan) was a nested loop over every monthly partition
    -- per changed record, ten times slower than the SQL function's; with the keys known the
    -- planner sizes the join (measured on 5,000 enquiries: a month and six years, as fast as
    -- the SQL function or faster).
    select array_agg(distinct c.record_id) into changed
    from audit.entries c
    where c.tenant_id = department
      and c.table_name = table_changes.table_name
      and c.occurred_at > table_changes.from_time and c.occurred_at <= table_changes.to_time;
    return query
    select e.record_id,
           case when count(*) filter (where e.occurred_at <= table_changes.from_time) > 0
                then audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id)
                         filter (where e.occurred_at <= table_changes.from_time)
           end,
           audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id)
    from audit.entries e
    join unnest(changed) as k(record_id) on k.record_id = e.record_id
    where e.tenant_id = department
      and e.table_name = table_changes.table_name
      and e.occurred_at <= table_changes.to_time
    group by e.record_id;
end
$$;

create or replace function audit.sla_breaches(as_of timestamp with time zone default now())
    returns table(tenant_id uuid, enquiry_id uuid, reference text, enquiry_type text, priority text,
                  received_at timestamp with time zone, due_at timestamp with time zone, paused interval,
                  effective_due_at timestamp with time zone, answered_at timestamp with time zone, overdue interval)
    language plpgsql stable
    set jit to 'off'
    as $$
#variable_conflict use_column
begin
    return query
    with periods as (
        select h.tenant_id, h.enquiry_id, s.is_open, s.sla_clock_runs, h.entered_at,
               least(coalesce(h.left_at, sla_breaches.as_of), sla_breaches.as_of) as left_at,
               -- the first answer: entering a status that is no longer open work
               min(h.entered_at) filter (where not s.is_open) over (partition by h.tenant_id, h.enquiry_id) as answered_at
        from audit.enquiry_status_history h
        join core.statuses s on s.status = h.status
        where h.entered_at <= sla_breaches.as_of
    ),
    clock as (
        -- how long the SLA clock stood still (open, waiting on the citizen) before the answer
        select p.tenant_id, p.enquiry_id, p.answered_at,
               coalesce(sum(least(p.left_at, coalesce(p.answered_at, sla_breaches.as_of)) - p.entered_at)
                        filter (where p.is_open and not p.sla_clock_runs
                                      and p.entered_at < coalesce(p.answered_at, sla_breaches.as_of)),
                        interval '0') as paused
        from periods p
        group by p.tenant_id, p.enquiry_id, p.answered_at
    )
    select e.tenant_id, e.enquiry_id, e.reference::text, e.enquiry_type, e.priority::text, e.received_at, e.due_at,
           c.paused, e.due_at + c.paused, c.answered_at, coalesce(c.answered_at, sla_breaches.as_of) - (e.due_at + c.paused)
    from clock c
    join tenant.enquiries e on e.tenant_id = c.tenant_id and e.enquiry_id = c.enquiry_id
    where coalesce(c.answered_at, sla_breaches.as_of) > e.due_at + c.paused;
end
$$;
