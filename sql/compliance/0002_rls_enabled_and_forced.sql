-- id: rls_enabled_and_forced
-- title: Row level security is enabled, forced and has tenant policies on every tenant table
-- requirement: Every tenant-scoped table (every table in schema tenant, and any other lab
--   table with a tenant_id column, such as audit.entries) has row level security enabled and
--   forced (so the owner is filtered too), a restrictive policy for all commands that checks
--   the tenant, and no permissive policy that forgets the tenant check. A partition is reachable
--   without its parent's policies, so no role but the owner holds a privilege on one.
-- severity: critical
with scoped as (
    select c.oid, format('%I.%I', n.nspname, c.relname) as name, c.relrowsecurity, c.relforcerowsecurity
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and (n.nspname = 'tenant'
           or n.nspname in ('core', 'audit', 'app')
              and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
),
policies as (
    select p.polrelid, p.polname, p.polpermissive, p.polcmd,
           coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') as expr
    from pg_policy p
),
-- Comparing tenant_id with the context counts, once per query (sub-select) or per row (a
-- slower form scale_out_policies names); merely naming the context function does not.
tenant_checks as (
    select p.*, p.expr ~ 'tenant_id = (\(\s*SELECT )?tenant\.current_tenant_id\(\)' as compares_tenant,
           p.expr ~ 'current_tenant_id\(\)' as names_tenant
    from policies p
)
select s.name as object, null::uuid as tenant_id, jsonb_build_object('problem', v.problem) as detail
from scoped s
cross join lateral (values
    (case when not s.relrowsecurity then 'row level security is not enabled' end),
    (case when not s.relforcerowsecurity then 'row level security is not forced: the table owner bypasses it' end),
    (case when not exists (select from tenant_checks p where p.polrelid = s.oid and not p.polpermissive and p.polcmd = '*'
                                                       and p.compares_tenant)
          then 'no restrictive policy for all commands compares tenant_id with the tenant context' end)
) as v(problem)
where v.problem is not null
union all
select s.name, null::uuid,
       jsonb_build_object('problem', case when p.names_tenant
                                          then 'a permissive policy names the tenant context but does not compare tenant_id with it'
                                          else 'a permissive policy does not check the tenant' end,
                          'policy', p.polname)
from scoped s join tenant_checks p on p.polrelid = s.oid
where p.polpermissive and not p.compares_tenant
union all
select format('%I.%I', n.nspname, c.relname), null::uuid,
       jsonb_build_object('problem', 'a role other than the owner holds a privilege on a partition, which bypasses the parent''s policies',
                          'grantee', coalesce(r.rolname, 'PUBLIC'), 'privilege', a.privilege_type)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
join pg_inherits i on i.inhrelid = c.oid
join scoped s on s.oid = i.inhparent
cross join lateral aclexplode(c.relacl) a
left join pg_roles r on r.oid = a.grantee
where a.grantee <> c.relowner
