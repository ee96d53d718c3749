-- id: scale_out_tenant_immutable
-- title: Scale-out readiness: tenant_id can never be updated on a tenant table (the row-stamp trigger is present and enabled)
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   Citus refuses to modify the distribution column; the application must never try.
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
select format('%s.%s', n.nspname, c.relname) as object, 'no enabled a_stamp_row trigger (tenant.stamp_row) guards tenant_id' as detail
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'tenant' and c.relkind = 'r'
  and not exists (select from pg_trigger t
                  where t.tgrelid = c.oid and t.tgfoid = 'tenant.stamp_row()'::regprocedure and t.tgenabled <> 'D')
) r
