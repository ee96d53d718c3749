-- id: audit_capture_triggers
-- title: Every table with user data has enabled audit triggers for inserts and updates
-- requirement: Every table in schema tenant carries an enabled AFTER INSERT and an enabled
--   AFTER UPDATE trigger that runs the audit capture: the table's own generated capture
--   (audit.capture_<table>(), sql/008, generated for the table's current columns), or
--   audit.capture_row() (the Citus profile) with the table's record key (the generic
--   audit.capture() is retired, 072, and counts for nothing),
--   so no change escapes the trail. Disabled triggers, triggers that fire only in replica
--   mode, and a generated capture out of date with its table's columns do not count.
-- severity: critical
with audited as (
    select a.table_name, a.key_column, a.table_name::regclass as oid from audit.audited_tables a
),
capture as (
    select t.tgrelid, t.tgname, t.tgtype, t.tgenabled,
           t.tgnargs = 1 and t.tgargs = convert_to(a.key_column, 'UTF8') || '\x00'::bytea as keyed
    from pg_trigger t join audited a on a.oid = t.tgrelid
    where t.tgfoid = coalesce(to_regprocedure('audit.capture_row()'), 0)
    union all
    select t.tgrelid, t.tgname, t.tgtype, t.tgenabled, true
    from pg_trigger t join audited a on a.oid = t.tgrelid
    join pg_proc p on p.oid = t.tgfoid
    where p.pronamespace = 'audit'::regnamespace and p.proname = 'capture_' || (select relname from pg_class where oid = a.oid)
      and t.tgnargs = 0
      and strpos(p.prosrc, '-- columns: ' || audit.table_shape(a.oid) || E'\n') > 0
),
stale as (   -- enabled AFTER triggers running a generated capture written for other columns
    select t.tgrelid, t.tgtype
    from pg_trigger t join audited a on a.oid = t.tgrelid
    join pg_proc p on p.oid = t.tgfoid
    where p.pronamespace = 'audit'::regnamespace and p.proname = 'capture_' || (select relname from pg_class where oid = a.oid)
      and t.tgenabled in ('O', 'A') and t.tgtype & 2 = 0
      and strpos(p.prosrc, '-- columns: ' || audit.table_shape(a.oid) || E'\n') = 0
)
select a.table_name as object, null::uuid as tenant_id,
       jsonb_build_object('problem', case when exists (select from stale x where x.tgrelid = a.oid and x.tgtype & ev.bit <> 0)
                                          then format('the audit trigger for %s runs a generated capture out of date with the '
                                                      'table''s columns (audit.install_capture regenerates it)', lower(ev.event))
                                          else format('no enabled audit trigger captures %s', lower(ev.event)) end,
                          'triggers', (select jsonb_agg(jsonb_build_object('name', c.tgname, 'enabled', c.tgenabled))
                                       from capture c where c.tgrelid = a.oid)) as detail
from audited a
cross join (values ('INSERT', 4), ('UPDATE', 16)) as ev(event, bit)
where not exists (select from capture c
                  where c.tgrelid = a.oid and c.tgtype & ev.bit <> 0 and c.tgtype & 2 = 0   -- AFTER
                    and c.tgenabled in ('O', 'A') and c.keyed)
