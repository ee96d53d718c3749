-- id: index-not-leading-tenant-id
-- title: An index on a tenant-scoped table does not lead with tenant_id
-- fix: put tenant_id first, e.g. `create index ... on tenant.x (tenant_id, <columns>)`: every query runs inside one department, so tenant_id must be the index prefix (and the distribution column on Citus)
-- Unique indexes without tenant_id at all are reported once, by unique-without-tenant.
with scoped as (
    select c.oid, n.nspname, c.relname
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and (n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
           or format('%I.%I', n.nspname, c.relname) in (select jsonb_array_elements_text($1 -> 'tenant_scoped_tables')))
)
select format('%I.%I', n.nspname, ic.relname) as object,
       format('index %I on %I.%I leads with %s, not %I', ic.relname, s.nspname, s.relname,
              coalesce((select quote_ident(a.attname) from pg_catalog.pg_attribute a
                        where a.attrelid = s.oid and a.attnum = i.indkey[0] and i.indkey[0] <> 0), 'an expression'),
              $1 ->> 'tenant_column') as message,
       coalesce((select 'con:' || k.oid from pg_catalog.pg_constraint k
                 where k.conindid = i.indexrelid and k.conrelid = s.oid and k.contype in ('p', 'u', 'x')),
                'rel:' || i.indexrelid) as blame,
       array[]::text[] as blame_properties
from scoped s
join pg_catalog.pg_index i on i.indrelid = s.oid
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
join pg_catalog.pg_attribute t on t.attrelid = s.oid and t.attname = $1 ->> 'tenant_column' and not t.attisdropped
where i.indkey[0] <> t.attnum
  and not (i.indisunique and not t.attnum = any(i.indkey[0:i.indnkeyatts - 1]))
