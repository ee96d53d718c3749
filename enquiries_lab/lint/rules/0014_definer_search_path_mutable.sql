-- id: definer-search-path-mutable
-- title: A SECURITY DEFINER function without a pinned search_path
-- fix: add `set search_path = pg_catalog, pg_temp` (name pg_temp explicitly, last: left out, it is searched first) and qualify every object the function uses
select p.oid::pg_catalog.regprocedure::text as object,
       format('SECURITY DEFINER function %s %s', p.oid::pg_catalog.regprocedure,
              case when cfg.path is null then 'does not pin search_path: a caller''s search_path decides what its unqualified names mean'
                   else format('sets search_path = %s without naming pg_temp last, so the caller''s temporary objects are searched first', cfg.path) end) as message,
       'fn:' || p.oid as blame,
       array['config', 'definer'] as blame_properties
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
left join lateral (select substr(c, length('search_path=') + 1) as path
                   from unnest(p.proconfig) c where c like 'search\_path=%' limit 1) cfg on true
where p.prosecdef
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
  and (cfg.path is null
       or not (select coalesce(trim(both '" ' from (regexp_split_to_array(cfg.path, '\s*,\s*'))[cardinality(regexp_split_to_array(cfg.path, '\s*,\s*'))]), '')
               = 'pg_temp'))
