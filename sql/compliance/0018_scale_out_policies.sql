-- id: scale_out_policies
-- title: Scale-out readiness: every permissive policy on a tenant table carries the tenant check itself
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   Citus copies restrictive policies to the shards as permissive, so isolation must not rest on them alone.
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
with policies as (
    select n.nspname, c.relname, p.polname, p.polcmd,
           pg_get_expr(p.polqual, p.polrelid) as using_expr,
           pg_get_expr(p.polwithcheck, p.polrelid) as check_expr
    from pg_policy p
    join pg_class c on c.oid = p.polrelid
    join pg_namespace n on n.oid = c.relnamespace
    where (n.nspname = 'tenant' or (n.nspname = 'audit' and c.relname = 'entries')) and p.polpermissive
)
select format('%s.%s', nspname, relname) as object,
       format('permissive policy %s has no tenant check (using: %s; with check: %s)', polname,
              coalesce(using_expr, '-'), coalesce(check_expr, '-')) as detail
from policies
where (polcmd in ('r', 'w', 'd', '*') and coalesce(using_expr, '') !~ 'tenant_id = \(\s*SELECT tenant\.current_tenant_id\(\)')
   or (polcmd in ('a', 'w', '*') and coalesce(check_expr, using_expr, '') !~ 'tenant_id = \(\s*SELECT tenant\.current_tenant_id\(\)')
) r
