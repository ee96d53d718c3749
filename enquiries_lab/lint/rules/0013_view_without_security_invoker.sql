-- id: view-without-security-invoker
-- title: A view runs with its owner's rights
-- fix: `create view ... with (security_invoker = true) as ...` (or `alter view ... set (security_invoker = true)`); otherwise the view reads the base tables as its owner and the caller's RLS does not apply
select format('%I.%I', n.nspname, c.relname) as object,
       format('view %I.%I is not security_invoker: it reads as its owner (%s), not as the caller', n.nspname, c.relname,
              pg_catalog.pg_get_userbyid(c.relowner)) as message,
       'rel:' || c.oid as blame,
       array['options'] as blame_properties
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'v'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and not exists (select from unnest(c.reloptions) o
                  where lower(o) in ('security_invoker=true', 'security_invoker=on', 'security_invoker=1',
                                     'security_invoker=yes', 'security_invoker=t'))
