-- id: references-or-trigger-granted
-- title: An application role holds REFERENCES or TRIGGER on a tenant-scoped table
-- fix: revoke it: REFERENCES lets a role probe another department's keys through foreign-key checks (which bypass RLS), TRIGGER lets it run its own code inside every writer's transaction
select format('%I.%I', n.nspname, c.relname) as object,
       format('%s holds %s on %I.%I', case when a.grantee = 0 then 'PUBLIC' else r.rolname end, a.privilege_type,
              n.nspname, c.relname) as message,
       'rel:' || c.oid as blame,
       array['acl'] as blame_properties
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral pg_catalog.aclexplode(c.relacl) a
left join pg_catalog.pg_roles r on r.oid = a.grantee
where c.relkind in ('r', 'p')
  and (n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
       or format('%I.%I', n.nspname, c.relname) in (select jsonb_array_elements_text($1 -> 'tenant_scoped_tables')))
  and a.privilege_type in ('REFERENCES', 'TRIGGER')
  and (a.grantee = 0 or r.rolname in (select jsonb_array_elements_text($1 -> 'app_roles')))
