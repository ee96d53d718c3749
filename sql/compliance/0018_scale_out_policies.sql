-- id: scale_out_policies
-- title: Scale-out readiness: every permissive policy on a tenant table carries the tenant check itself
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   Citus copies restrictive policies to the shards as permissive, so isolation must not rest on them alone.
--   The tenant check is `tenant_id = (select tenant.current_tenant_id())` (evaluated once per query); where
--   the citus extension is installed, also `tenant_id = tenant.current_tenant_id()`, the form the Citus
--   profile (sql/citus/070) gives distributed tables because Citus refuses sub-selects in policies.
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
with citus as (select exists (select 1 from pg_extension where extname = 'citus') as present),
policies as (
    select n.nspname, c.relname, p.polname, p.polcmd,
           pg_get_expr(p.polqual, p.polrelid) as using_expr,
           pg_get_expr(p.polwithcheck, p.polrelid) as check_expr
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname = 'tenant' or (n.nspname = 'audit' and c.relname = 'entries')) and p.polpermissive
)
select format('%s.%s', p.nspname, p.relname) as object,
       format(case when x.expr !~ 'current_tenant_id\(\)'
                   then 'permissive policy %s has no tenant check (using: %s; with check: %s)'
                   when x.expr ~ 'tenant_id = tenant\.current_tenant_id\(\)' and not (select present from citus)
                   then 'permissive policy %s checks the tenant per row: tenant.current_tenant_id() outside a sub-select '
                        'is evaluated for every row and is no index condition (using: %s; with check: %s)'
                   else 'permissive policy %s names the tenant context but does not compare tenant_id with it (using: %s; with check: %s)'
              end, p.polname, coalesce(p.using_expr, '-'), coalesce(p.check_expr, '-')) as detail
from policies p
cross join lateral (values (coalesce(p.using_expr, '') || ' ' || coalesce(p.check_expr, ''))) as x(expr)
cross join lateral (values (case when (select present from citus)
                                 then 'tenant_id = (\(\s*SELECT )?tenant\.current_tenant_id\(\)'
                                 else 'tenant_id = \(\s*SELECT tenant\.current_tenant_id\(\)' end)) as f(form)
where (p.polcmd in ('r', 'w', 'd', '*') and coalesce(p.using_expr, '') !~ f.form)
   or (p.polcmd in ('a', 'w', '*') and coalesce(p.check_expr, p.using_expr, '') !~ f.form)
) r
