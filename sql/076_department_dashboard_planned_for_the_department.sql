-- 076 the department dashboard planned for the department in context (issue 20).
--
-- The dashboard reads a whole department, and its best plan depends on the department's size:
-- a parallel sequential scan for a department holding a third of the enquiries, an index for
-- a small one. Under RLS alone the planner meets the department only as the
-- policies' InitPlan parameter, so it plans every department as an average one: with 20
-- departments the dominant one's dashboard took 2.1-2.4x the explicit filter's time
-- (docs/benchmarks.md). Partitioning by department fixes the plan but costs every lookup
-- planning all partitions (2.4-3x on the synthetic table); planner settings cannot pick one
-- plan good for both sizes (a parallel bitmap scan of the large department is 2.3x the
-- parallel sequential scan).
--
-- So app.department_dashboard runs the aggregate with the department of the transaction's context
-- bound as a value: EXECUTE ... USING plans each call for that value, and the department's
-- own statistics choose the plan. The application passes no department. The bound value is
-- the database's reading of its own context, a hint to the planner and never the guarantee:
-- the function is SECURITY INVOKER over the security-invoker view, so the policies filter
-- every row as before (no context: the value is NULL and the result is empty, as under RLS).
-- The statement is a constant with $n placeholders: nothing is spliced into SQL text.
--
-- Only the dashboard: the month report is bounded by its month, an index range of about one
-- ninety-sixth of any department, planned alike for every size (0.95-1.06x unplanned on the
-- synthetic 5M, where the planned form cost ~0.1 ms more: 1.2-1.5x on a 0.4 ms report at 100k).

create function app.department_dashboard(as_of timestamp with time zone default null)
    returns table (status text, enquiries integer, open_past_due integer, resolved_late integer)
    language plpgsql stable
    as $$
begin
    return query execute $sql$
        select e.status,
               count(*)::int,
               count(*) filter (where e.due_at < coalesce($2, now()) and s.is_open)::int,
               count(*) filter (where e.resolved_at > e.due_at)::int
        from app.enquiries e join core.statuses s using (status)
        where e.tenant_id = $1
        group by e.status, s.sort_order
        order by s.sort_order
    $sql$ using tenant.current_tenant_id(), as_of;
end
$$;

comment on function app.department_dashboard(timestamp with time zone) is
    'Counts by status for the department in context, with SLA state (open past due at as_of, default now; resolved late), planned for that department (sql/076).';

alter function app.department_dashboard(timestamp with time zone) owner to enquiries_owner;

-- Whoever may read app.enquiries may ask for its aggregates (sql/011's grants on the view).
grant execute on function app.department_dashboard(timestamp with time zone)
    to enquiries_caseworker, enquiries_supervisor, enquiries_auditor, enquiries_retention_officer;
