-- id: tenant-data-outside-tenant-schema
-- title: A table that references department data lives outside the tenant schema
-- fix: create the table in the tenant schema: RLS (010), row stamps (011), audit capture (012) and the app views (015) are applied to every table there, and to nothing elsewhere
select format('%I.%I', n.nspname, c.relname) as object,
       format('%I.%I references %s but is not in a tenant schema, so none of the isolation and audit machinery reaches it',
              n.nspname, c.relname,
              (select string_agg(distinct format('%I.%I', tn.nspname, t.relname), ', ')
               from pg_catalog.pg_constraint k
               join pg_catalog.pg_class t on t.oid = k.confrelid
               join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
               where k.conrelid = c.oid and k.contype = 'f'
                 and tn.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas')))) as message,
       'rel:' || c.oid as blame,
       array['schema', 'constraints'] as blame_properties
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p') and not c.relispartition
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and exists (select from pg_catalog.pg_constraint k
              join pg_catalog.pg_class t on t.oid = k.confrelid
              join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
              where k.conrelid = c.oid and k.contype = 'f'
                and tn.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas')))
