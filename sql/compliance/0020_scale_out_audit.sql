-- id: scale_out_audit
-- title: Scale-out readiness: every tenant table is audited by an audit capture (statement form: audit.capture or its generated per-table form, 025) or audit.capture_row (row form), and the row form exists
-- requirement: The schema stays distributable by tenant_id on Citus (docs/scale-out.md):
--   on Citus the statement form cannot read its transition table on the shards; the profile swaps in the row form.
-- severity: medium
select r.object, null::uuid as tenant_id, jsonb_build_object('problem', r.detail) as detail
from (
select format('%s.%s', n.nspname, c.relname) as object, 'no audit trigger (audit.capture, audit.capture_<table> or audit.capture_row)' as detail
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'tenant' and c.relkind = 'r'
  and not exists (select from pg_trigger t
                  where t.tgrelid = c.oid and t.tgenabled <> 'D'
                    and t.tgfoid in (select p.oid from pg_proc p
                                     where p.pronamespace = 'audit'::regnamespace and p.proname like 'capture%'
                                       and p.prorettype = 'trigger'::regtype))
union all
select 'audit.capture_row()', 'the row form of the audit capture is missing'
where to_regprocedure('audit.capture_row()') is null
) r
