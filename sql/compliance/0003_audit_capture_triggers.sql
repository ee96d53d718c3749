-- id: audit_capture_triggers
-- title: Every table with user data has enabled audit triggers for inserts and updates
-- requirement: Every table in schema tenant carries an enabled AFTER INSERT and an enabled
--   AFTER UPDATE trigger that runs the audit capture (audit.capture(), or audit.capture_row()
--   in the Citus profile) with the table's record key, so no change escapes the trail.
--   Disabled triggers, and triggers that fire only in replica mode, do not count.
-- severity: critical
with audited as (
    select a.table_name, a.key_column, a.table_name::regclass as oid from audit.audited_tables a
),
capture as (
    select t.tgrelid, t.tgname, t.tgtype, t.tgenabled, t.tgnargs, t.tgargs
    from pg_trigger t
    where t.tgfoid in ('audit.capture()'::regprocedure, coalesce(to_regprocedure('audit.capture_row()'), 0))
)
select a.table_name as object, null::uuid as tenant_id,
       jsonb_build_object('problem', format('no enabled audit trigger captures %s', lower(ev.event)),
                          'triggers', (select jsonb_agg(jsonb_build_object('name', c.tgname, 'enabled', c.tgenabled))
                                       from capture c where c.tgrelid = a.oid)) as detail
from audited a
cross join (values ('INSERT', 4), ('UPDATE', 16)) as ev(event, bit)
where not exists (select from capture c
                  where c.tgrelid = a.oid and c.tgtype & ev.bit <> 0 and c.tgtype & 2 = 0   -- AFTER
                    and c.tgenabled in ('O', 'A')
                    and c.tgnargs = 1 and c.tgargs = convert_to(a.key_column, 'UTF8') || '\x00'::bytea)
