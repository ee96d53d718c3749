-- id: definer-not-allowlisted
-- title: An application role can execute a SECURITY DEFINER function that is not on the allow-list
-- fix: make it SECURITY INVOKER, or revoke EXECUTE from PUBLIC and the application roles (`alter default privileges` only covers functions created by enquiries_owner); if it really must run with its owner's rights for callers, add it to definer_allowlist in enquiries_lab/lint/project.toml with the reason
select p.oid::pg_catalog.regprocedure::text as object,
       format('SECURITY DEFINER function %s (owner %s) is executable by %s but is not on the allow-list',
              p.oid::pg_catalog.regprocedure, pg_catalog.pg_get_userbyid(p.proowner),
              (select string_agg(r.rolname, ', ' order by r.rolname) from pg_catalog.pg_roles r
               where r.rolname in (select jsonb_array_elements_text($1 -> 'app_roles')) and r.oid <> p.proowner
                 and pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE'))) as message,
       'fn:' || p.oid as blame,
       array['acl', 'definer', 'owner'] as blame_properties
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.prosecdef
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and p.oid::pg_catalog.regprocedure::text not in (select jsonb_array_elements_text($1 -> 'definer_allowlist'))
  and exists (select from pg_catalog.pg_roles r
              -- its owner runs it with its own rights either way
              where r.rolname in (select jsonb_array_elements_text($1 -> 'app_roles')) and r.oid <> p.proowner
                and pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE'))
