-- citus 040 row triggers: on shards a statement trigger cannot INSERT ... SELECT from its
-- transition table ("could not find named tuplestore"), so the audit capture and the
-- assignment history switch to their row forms (sql/008, sql/009), which write the same rows.
-- Plain SQL: CI runs it on single-node PostgreSQL and compares the results.
do $swap$
declare
    t record;
begin
    for t in
        select tg.tgrelid::regclass as tbl,
               (regexp_match(pg_get_triggerdef(tg.oid), 'capture\(''([a-z_]+)''\)'))[1] as key_column
        from pg_trigger tg
        where tg.tgfoid = 'audit.capture()'::regprocedure and tg.tgname = 'z_audit_insert'
    loop
        execute format('drop trigger z_audit_insert on %s', t.tbl);
        execute format('drop trigger z_audit_update on %s', t.tbl);
        execute format('create trigger z_audit_row after insert or update on %s for each row '
                       'execute function audit.capture_row(%L)', t.tbl, t.key_column);
    end loop;
end
$swap$;

drop trigger c_record_assignments on tenant.enquiries;
create trigger c_record_assignment after update on tenant.enquiries for each row
    when (old.assigned_to is distinct from new.assigned_to)
    execute function tenant.record_assignment_row();
