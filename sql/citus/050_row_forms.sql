-- citus 050 row forms: the generated per-table audit captures (sql/008) and the
-- set-based disposal cascade (sql/010) read transition tables, which shards cannot; their row
-- forms (008 audit.capture_row, 010 tenant.cascade_disposal) write the same rows.
-- Plain SQL: CI runs it on single-node PostgreSQL and compares the results.
do $swap$
declare
    t record;
begin
    for t in
        select tg.tgrelid::regclass as tbl, a.key_column
        from pg_trigger tg join audit.audited_tables a on a.table_name::regclass = tg.tgrelid
        where tg.tgname = 'z_audit_insert'
    loop
        execute format('drop trigger z_audit_insert on %s', t.tbl);
        execute format('drop trigger z_audit_update on %s', t.tbl);
        execute format('create trigger z_audit_row after insert or update on %s for each row '
                       'execute function audit.capture_row(%L)', t.tbl, t.key_column);
    end loop;
end
$swap$;

drop trigger d_cascade_disposals on tenant.enquiries;
create trigger d_cascade_disposal after update on tenant.enquiries for each row
    when (old.disposed_at is null and new.disposed_at is not null)
    execute function tenant.cascade_disposal();
