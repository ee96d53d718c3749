-- id: fk-without-tenant-id
-- title: A foreign key between tenant tables does not include tenant_id on both sides
-- fix: make it composite: `foreign key (tenant_id, x_id) references tenant.x (tenant_id, x_id) on delete restrict` (the referenced table needs a unique key on (tenant_id, x_id)); a single-column key lets a row point at another department's row, and its existence check bypasses RLS
with tenant_tables as (
    select c.oid, n.nspname, c.relname, a.attnum as tenant_attnum
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = $1 ->> 'tenant_column' and not a.attisdropped
    where c.relkind in ('r', 'p') and n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
)
select format('%I on %I.%I', k.conname, src.nspname, src.relname) as object,
       format('foreign key %I from %I.%I to %I.%I does not pair %I with %I, so a row can reference another department''s row',
              k.conname, src.nspname, src.relname, dst.nspname, dst.relname,
              $1 ->> 'tenant_column', $1 ->> 'tenant_column') as message,
       'con:' || k.oid as blame,
       array[]::text[] as blame_properties
from pg_catalog.pg_constraint k
join tenant_tables src on src.oid = k.conrelid
join tenant_tables dst on dst.oid = k.confrelid
where k.contype = 'f' and k.conparentid = 0
  and not exists (select from generate_subscripts(k.conkey, 1) i
                  where k.conkey[i] = src.tenant_attnum and k.confkey[i] = dst.tenant_attnum)
