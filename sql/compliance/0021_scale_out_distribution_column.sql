-- id: scale_out_distribution_column
-- title: Scale-out readiness: every tenant table (and the audit trail) has a NOT NULL tenant_id uuid to distribute by
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   the schema stays distributable by tenant_id (docs/scale-out.md).
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
select format('%s.%s', n.nspname, c.relname) as object, 'no NOT NULL uuid tenant_id column' as detail
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where (n.nspname = 'tenant' and c.relkind = 'r' or n.nspname = 'audit' and c.relname = 'entries')
  and not exists (select from pg_attribute a
                  where a.attrelid = c.oid and a.attname = 'tenant_id' and a.attnotnull and a.atttypid = 'uuid'::regtype)
) r
