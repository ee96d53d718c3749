-- id: tenant_indexes_lead_with_tenant_id
-- title: Every index on a tenant-scoped table leads with tenant_id
-- requirement: Every query runs inside one department, so tenant_id is the first column of
--   every index on a tenant-scoped table (schema tenant, and audit.entries): lookups stay
--   index conditions under RLS, and the schema stays distributable by tenant_id. The one
--   exception is the department register's unique code (tenant.departments is the list of
--   tenants itself; see docs/design.md).
-- severity: medium
select format('%I.%I', ixn.nspname, ix.relname) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', 'the index does not lead with tenant_id',
                          'table', format('%I.%I', n.nspname, c.relname),
                          'definition', pg_get_indexdef(i.indexrelid)) as detail
from pg_index i
join pg_class ix on ix.oid = i.indexrelid join pg_namespace ixn on ixn.oid = ix.relnamespace
join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
where not c.relispartition
  and (n.nspname = 'tenant' or (n.nspname = 'audit' and c.relname = 'entries'))
  and i.indkey[0] is distinct from (select a.attnum from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')
  and not (c.oid = 'tenant.departments'::regclass and i.indisunique and i.indnatts = 1
           and i.indkey[0] = (select a.attnum from pg_attribute a where a.attrelid = c.oid and a.attname = 'code'))
