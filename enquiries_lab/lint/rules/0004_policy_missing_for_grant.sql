-- id: policy-missing-for-grant
-- title: An application role holds a privilege on a tenant-scoped table that no permissive policy serves
-- fix: either grant through core.table_privileges, so sql/006's generator creates the matching policy (with the tenant check), or revoke the privilege; a grant with no policy is either a mistake or a policy someone forgot
with scoped as (
    select c.oid, n.nspname, c.relname, c.relacl, c.relowner
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and (n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
           or format('%I.%I', n.nspname, c.relname) in (select jsonb_array_elements_text($1 -> 'tenant_scoped_tables')))
),
grants as (
    select s.*, a.grantee, a.privilege_type
    from scoped s cross join lateral pg_catalog.aclexplode(s.relacl) a
    where a.privilege_type in ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
),
app_roles as (
    select r.oid, r.rolname from pg_catalog.pg_roles r
    where r.rolname in (select jsonb_array_elements_text($1 -> 'app_roles'))
),
holders as (
    -- a grant to PUBLIC is a grant to every application role
    select g.oid, g.nspname, g.relname, g.privilege_type, r.oid as role_oid, r.rolname
    from grants g join app_roles r on g.grantee = r.oid or g.grantee = 0
)
select distinct format('%I.%I', h.nspname, h.relname) as object,
       format('%s may %s %I.%I, but no permissive policy for %s applies to it (RLS then admits no row for it)',
              h.rolname, h.privilege_type, h.nspname, h.relname, h.privilege_type) as message,
       'rel:' || h.oid as blame,
       array['acl', 'policies'] as blame_properties
from holders h
where not exists (
    select from pg_catalog.pg_policy p
    where p.polrelid = h.oid and p.polpermissive
      and p.polcmd in ('*', case h.privilege_type when 'SELECT' then 'r' when 'INSERT' then 'a'
                                                  when 'UPDATE' then 'w' when 'DELETE' then 'd' end)
      and (0 = any(p.polroles) or exists (select from unnest(p.polroles) pr
                                          where pg_catalog.pg_has_role(h.role_oid, pr, 'MEMBER'))))
