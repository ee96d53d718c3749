-- id: fk-without-index
-- title: A foreign key has no index covering its columns
-- fix: create an index whose leading columns are the foreign key's, e.g. `create index ... on tenant.x (tenant_id, <fk column>)`; without it every delete or key change on the referenced row scans this table (reference data in core is exempt: it is never deleted)
select format('%I on %I.%I', k.conname, n.nspname, c.relname) as object,
       format('foreign key %I on %I.%I (%s) has no index whose leading columns are those', k.conname, n.nspname, c.relname,
              (select string_agg(quote_ident(a.attname), ', ' order by x.ord)
               from unnest(k.conkey) with ordinality x(attnum, ord)
               join pg_catalog.pg_attribute a on a.attrelid = k.conrelid and a.attnum = x.attnum)) as message,
       'con:' || k.oid as blame,
       array[]::text[] as blame_properties
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_class rc on rc.oid = k.confrelid
join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
where k.contype = 'f' and k.conparentid = 0 and not c.relispartition
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and rn.nspname not in (select jsonb_array_elements_text($1 -> 'reference_schemas'))
  and not exists (
      select from pg_catalog.pg_index i
      where i.indrelid = k.conrelid
        and i.indnkeyatts >= cardinality(k.conkey)
        and (select array_agg(x order by x) from unnest(i.indkey[0:cardinality(k.conkey) - 1]) x)
            = (select array_agg(x order by x) from unnest(k.conkey) x))
