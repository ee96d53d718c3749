-- id: policy-always-true
-- title: A policy that does not look at the row (e.g. USING (true))
-- fix: every policy on a tenant table carries the tenant check, `tenant_id = (select tenant.current_tenant_id())`; a policy that ignores the row admits every department's rows for the roles it names (and Citus turns even restrictive policies into permissive ones)
select format('%I on %I.%I', p.polname, n.nspname, c.relname) as object,
       format('policy %I on %I.%I (%s) admits every row: %s', p.polname, n.nspname, c.relname,
              case when p.polpermissive then 'permissive' else 'restrictive' end,
              concat_ws('; ',
                  case when p.polqual is not null and p.polqual::text !~ '\{VAR '
                       then 'USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')' end,
                  case when p.polwithcheck is not null and p.polwithcheck::text !~ '\{VAR '
                       then 'WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')' end)
              || ' refers to no column') as message,
       'pol:' || p.oid as blame,
       array['qual', 'check'] as blame_properties
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and ((p.polqual is not null and p.polqual::text !~ '\{VAR ')
       or (p.polwithcheck is not null and p.polwithcheck::text !~ '\{VAR '))
