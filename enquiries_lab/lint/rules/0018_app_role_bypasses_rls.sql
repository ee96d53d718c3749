-- id: app-role-bypasses-rls
-- title: An application role is, or can become, a superuser or a BYPASSRLS role
-- fix: `alter role <role> nosuperuser nobypassrls` (sql/001 re-asserts it for the lab's roles) and revoke any membership in such a role: policies do not apply to it at all
with app as (
    select r.oid, r.rolname, r.rolsuper, r.rolbypassrls from pg_catalog.pg_roles r
    where r.rolname in (select jsonb_array_elements_text($1 -> 'app_roles'))
),
privileged as (
    select r.oid, r.rolname, r.rolsuper from pg_catalog.pg_roles r where r.rolsuper or r.rolbypassrls
)
select a.rolname as object,
       format('application role %s %s', a.rolname,
              case when a.rolsuper then 'is a superuser' else 'has BYPASSRLS' end) || ': no policy applies to it' as message,
       'role:' || a.oid as blame,
       array['superuser', 'bypassrls'] as blame_properties
from app a where a.rolsuper or a.rolbypassrls
union all
select a.rolname,
       format('application role %s is a member of %s, which %s: it can SET ROLE past every policy', a.rolname, p.rolname,
              case when p.rolsuper then 'is a superuser' else 'has BYPASSRLS' end),
       coalesce((select 'member:' || m.roleid || ':' || m.member from pg_catalog.pg_auth_members m
                 where m.member = a.oid and m.roleid = p.oid), 'role:' || a.oid),
       array[]::text[]
from app a join privileged p on p.oid <> a.oid and pg_catalog.pg_has_role(a.oid, p.oid, 'MEMBER')
where not (a.rolsuper or a.rolbypassrls)
