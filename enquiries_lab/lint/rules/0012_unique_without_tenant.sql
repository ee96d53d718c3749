-- id: unique-without-tenant
-- title: A unique key on a tenant-scoped table does not include tenant_id
-- fix: include tenant_id (first): `unique (tenant_id, <columns>)`; a global unique key tells one department, through the duplicate-key error, that another department holds the value
with scoped as (
    select c.oid, n.nspname, c.relname, a.attnum as tenant_attnum
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = $1 ->> 'tenant_column' and not a.attisdropped
    where c.relkind in ('r', 'p') and not c.relispartition
      and (n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
           or format('%I.%I', n.nspname, c.relname) in (select jsonb_array_elements_text($1 -> 'tenant_scoped_tables')))
)
select format('%I on %I.%I', coalesce(k.conname, ic.relname), s.nspname, s.relname) as object,
       format('%s %I on %I.%I is unique across all departments (%s)',
              case k.contype when 'p' then 'primary key' when 'u' then 'unique constraint' else 'unique index' end,
              coalesce(k.conname, ic.relname), s.nspname, s.relname,
              (select string_agg(coalesce(quote_ident(a.attname), 'expression'), ', ' order by x.ord)
               from unnest(i.indkey[0:i.indnkeyatts - 1]) with ordinality x(attnum, ord)
               left join pg_catalog.pg_attribute a on a.attrelid = s.oid and a.attnum = x.attnum)) as message,
       coalesce('con:' || k.oid, 'rel:' || i.indexrelid) as blame,
       array[]::text[] as blame_properties
from scoped s
join pg_catalog.pg_index i on i.indrelid = s.oid and i.indisunique
join pg_catalog.pg_class ic on ic.oid = i.indexrelid
left join pg_catalog.pg_constraint k on k.conindid = i.indexrelid and k.conrelid = s.oid and k.contype in ('p', 'u')
where s.tenant_attnum is null or not s.tenant_attnum = any(i.indkey[0:i.indnkeyatts - 1])
