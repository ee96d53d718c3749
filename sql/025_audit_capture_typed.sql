-- 025 audit capture, typed: each tenant table gets its own capture function, generated
-- from its columns, that writes exactly the entries audit.capture() (012) writes.
--
-- Why: audit.row_change finds the changed columns by expanding both rows into jsonb
-- key/value sets and sorting them, ~75 us per updated row, half the cost of a workflow
-- step. Comparing the table's own typed columns (n.status is distinct from o.status ...)
-- costs ~5 us, and converting only the changed columns to jsonb (not both whole rows)
-- halves the rest (docs/benchmarks.md).
--
-- Guarantees:
--   * audit.install_capture(table) generates audit.capture_<table>() and attaches it as the
--     table's z_audit_insert/z_audit_update statement triggers; every tenant table gets one
--     here. A migration that adds a tenant table or changes a table's columns calls it again;
--   * the generated function holds the table's shape (column names and types) and refuses
--     to write for any other shape (EL206), so a column added without regenerating fails
--     closed instead of going unaudited;
--   * its entries are those of audit.row_change (012): action, changed columns in "C" order,
--     new values minus unchanged ones, old values minus unchanged ones, no entry for an
--     update that changed nothing, EL205 for a key change; proved by running the same
--     workflow under this and under the row form (018, built on audit.row_change) and
--     comparing the trails (tests/test_scale_out.py);
--   * like audit.capture(): SECURITY DEFINER owned by enquiries_audit_writer, pinned
--     search_path, no EXECUTE for anyone (trigger functions cannot be called directly).

create function audit.table_shape(tbl oid) returns text
    language sql stable
    set search_path = pg_catalog, pg_temp
    as $$
    select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum)
    from pg_attribute a where a.attrelid = tbl and a.attnum > 0 and not a.attisdropped
$$;

create function audit.install_capture(tbl regclass) returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $install$
declare
    schema_name constant name := (select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = tbl);
    table_name constant name := (select c.relname from pg_class c where c.oid = tbl);
    qualified constant text := format('%I.%I', schema_name, table_name);
    fn constant text := format('audit.%I', 'capture_' || table_name);
    key_column constant name := (select t.key_column from audit.audited_tables t where t.table_name = qualified);
    changed_list text;
    new_values text;
    old_values text;
    action_expr text := '''update''';
begin
    if key_column is null then
        raise exception '% is not an audited tenant table', tbl using errcode = '42809';
    end if;
    select string_agg(format('case when n.%1$I is distinct from o.%1$I then %1$L end', a.attname), ', '
                      order by a.attname collate "C"),
           string_agg(format('case when n.%1$I is distinct from o.%1$I then jsonb_build_object(%1$L, n.%1$I) else ''{}'' end',
                             a.attname), ' || ' order by a.attnum),
           string_agg(format('case when n.%1$I is distinct from o.%1$I then jsonb_build_object(%1$L, o.%1$I) else ''{}'' end',
                             a.attname), ' || ' order by a.attnum)
    into changed_list, new_values, old_values
    from pg_attribute a where a.attrelid = tbl and a.attnum > 0 and not a.attisdropped;
    -- the same order of tests as audit.row_change
    if exists (select from pg_attribute where attrelid = tbl and attname = 'disposed_at' and not attisdropped) then
        action_expr := format('case when o.disposed_at is null and n.disposed_at is not null then %L else %s end', 'dispose', action_expr);
    end if;
    action_expr := format('case when o.deleted_at is null and n.deleted_at is not null then %L '
                          'when o.deleted_at is not null and n.deleted_at is null then %L else %s end',
                          'soft_delete', 'restore', action_expr);

    execute format($f$
create or replace function %1$s() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $body$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: %2$s
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> %8$s then
        raise exception 'the audit capture of %%.%% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               %3$L, n.%4$I, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.%4$I as record_id, n.updated_at,
               array_remove(array[%5$s], null) as changed,
               %6$s as new_values,
               %9$s as old_values,
               %7$s as action
        from new_rows n join old_rows o on o.%4$I = n.%4$I
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               %3$L, p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %%.%% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$body$$f$, fn, audit.table_shape(tbl), qualified, key_column, changed_list, new_values, action_expr,
       (select c.relnatts from pg_class c where c.oid = tbl), old_values);

    execute format('alter function %s() owner to enquiries_audit_writer', fn);
    execute format('revoke all on function %s() from public', fn);
    execute format('comment on function %s() is %L', fn,
                   format('Audit trigger for %s, generated by audit.install_capture (025) for its columns.', qualified));
    execute format('drop trigger if exists z_audit_insert on %s', qualified);
    execute format('drop trigger if exists z_audit_update on %s', qualified);
    execute format('create trigger z_audit_insert after insert on %s referencing new table as new_rows '
                   'for each statement execute function %s()', qualified, fn);
    execute format('create trigger z_audit_update after update on %s referencing old table as old_rows new table as new_rows '
                   'for each statement execute function %s()', qualified, fn);
end
$install$;

revoke all on function audit.install_capture(regclass) from public;
grant execute on function audit.table_shape(oid) to enquiries_audit_writer;

select audit.install_capture(t.table_name::regclass) from audit.audited_tables t order by t.table_name;
