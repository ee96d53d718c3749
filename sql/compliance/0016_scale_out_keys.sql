-- id: scale_out_keys
-- title: Scale-out readiness: every primary and unique key of a tenant table includes tenant_id
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   Citus can only enforce uniqueness that includes the distribution column.
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
select format('%s.%s', n.nspname, c.relname) as object,
       format('%s %s (%s) does not include tenant_id', case k.contype when 'p' then 'primary key' else 'unique key' end,
              k.conname, pg_get_constraintdef(k.oid)) as detail
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'tenant' and k.contype in ('p', 'u')
  and not exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and a.attnum = any(k.conkey))
  and not (c.relname = 'departments' and k.contype = 'u')   -- the department register: reference-like, see design.md
) r
