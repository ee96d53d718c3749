-- id: views_hide_soft_deleted_rows
-- title: The application views hide soft-deleted rows and apply the caller's RLS
-- requirement: Every tenant table has its app.* view; each is security_invoker (a view
--   running as its owner would bypass department isolation), filters on deleted_at IS NULL,
--   and indeed shows no soft-deleted row.
-- severity: high
with expected as (
    select a.table_name, split_part(a.table_name, '.', 2) as relname from audit.audited_tables a
),
views as (
    select e.table_name, v.oid, format('app.%I', e.relname) as view_name,
           coalesce((select o.option_value::boolean from pg_options_to_table(v.reloptions) o
                     where o.option_name = 'security_invoker'), false) as security_invoker,
           pg_get_viewdef(v.oid) as definition
    from expected e
    left join pg_class v on v.relname = e.relname and v.relkind = 'v'
                        and v.relnamespace = 'app'::regnamespace
)
select coalesce(w.view_name, format('app.%s', split_part(w.table_name, '.', 2))) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', p.problem, 'table', w.table_name) as detail
from views w
cross join lateral (values
    (case when w.oid is null then 'the table has no app view' end),
    (case when w.oid is not null and not w.security_invoker then 'the view is not security_invoker: it runs with its owner''s rights' end),
    (case when w.oid is not null and w.definition !~* 'deleted_at\s+IS\s+NULL' then 'the view does not filter on deleted_at IS NULL' end)
) as p(problem)
where p.problem is not null
union all
select format('%s %s', s.view_name, s.record_id), s.tenant_id,
       jsonb_build_object('problem', 'the view shows a soft-deleted row')
from audit.soft_deleted_rows_in_views() s
