-- id: scale_out_foreign_keys
-- title: Scale-out readiness: foreign keys between tenant tables include tenant_id; all others point at core
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   on Citus a foreign key must stay inside one colocated shard group or point at a reference table.
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
select format('%s.%s', n.nspname, c.relname) as object,
       format('foreign key %s %s', k.conname,
              case when fn.nspname = 'tenant' then 'between tenant tables does not include tenant_id on both sides'
                   else format('points at %s.%s, which is neither tenant nor core', fn.nspname, f.relname) end) as detail
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_class f on f.oid = k.confrelid
join pg_namespace fn on fn.oid = f.relnamespace
where n.nspname = 'tenant' and k.contype = 'f'
  and (fn.nspname not in ('tenant', 'core')
       or fn.nspname = 'tenant' and not (
           exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and a.attnum = k.conkey[1])
           and exists (select from pg_attribute a where a.attrelid = f.oid and a.attname = 'tenant_id' and a.attnum = k.confkey[1])))
) r
