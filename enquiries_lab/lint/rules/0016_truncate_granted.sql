-- id: truncate-granted
-- title: An application role holds TRUNCATE
-- fix: revoke it (`revoke truncate on ... from <role>`, and from PUBLIC): TRUNCATE ignores RLS and row triggers, so it empties every department's rows at once and leaves no audit entry
select format('%I.%I', n.nspname, c.relname) as object,
       format('%s holds TRUNCATE on %I.%I', case when a.grantee = 0 then 'PUBLIC' else r.rolname end,
              n.nspname, c.relname) as message,
       'rel:' || c.oid as blame,
       array['acl'] as blame_properties
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral pg_catalog.aclexplode(c.relacl) a
left join pg_catalog.pg_roles r on r.oid = a.grantee
where c.relkind in ('r', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and a.privilege_type = 'TRUNCATE'
  and (a.grantee = 0 or r.rolname in (select jsonb_array_elements_text($1 -> 'app_roles')))
