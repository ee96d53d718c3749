-- id: missing-tenant-id
-- title: A table holding department data has no NOT NULL tenant_id
-- fix: add `tenant_id uuid not null references tenant.departments (tenant_id) on delete restrict` and make it the first column of the primary key, every unique key and every index
-- Department data: every table in a tenant schema, and any table that references one.
with holders as (
    select c.oid, n.nspname, c.relname
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
      and (n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
           or exists (select from pg_catalog.pg_constraint k
                      join pg_catalog.pg_class t on t.oid = k.confrelid
                      join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
                      where k.conrelid = c.oid and k.contype = 'f'
                        and tn.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))))
)
select format('%I.%I', h.nspname, h.relname) as object,
       case when a.attnum is null
            then format('table %I.%I holds department data but has no %I column, so neither RLS nor the keys can separate departments',
                        h.nspname, h.relname, $1 ->> 'tenant_column')
            else format('%I.%I.%I is nullable: a row without a department matches no policy and belongs to nobody',
                        h.nspname, h.relname, a.attname)
       end as message,
       case when a.attnum is null then 'rel:' || h.oid else 'col:' || h.oid || ':' || a.attnum end as blame,
       case when a.attnum is null then array['columns'] else array['notnull'] end as blame_properties
from holders h
left join pg_catalog.pg_attribute a
       on a.attrelid = h.oid and a.attname = $1 ->> 'tenant_column' and a.attnum > 0 and not a.attisdropped
where a.attnum is null or not a.attnotnull
