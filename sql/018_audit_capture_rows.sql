-- 018 audit capture, row form: the same audit entries from a row-level trigger, for
-- platforms where statement triggers cannot read transition tables with INSERT ... SELECT
-- (Citus shards: "could not find named tuplestore"; see docs/scale-out.md).
--
-- Guarantees:
--   * audit.capture_row() builds its entry with audit.row_change (012), like audit.capture(),
--     and writes exactly the entry audit.capture() writes for a row
--     (tested by replaying the same workflow under both and comparing the trails);
--   * the single-node schema keeps the statement triggers (faster for batches); the Citus
--     profile (sql/citus/) swaps them for the row form.

create function audit.capture_row() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    key_column constant text := tg_argv[0];
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    nj constant jsonb := to_jsonb(new);
    oj constant jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
begin
    if oj is not null and (oj ->> key_column) is distinct from (nj ->> key_column) then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                               table_name, record_id, action, changed_columns, row_data, old_values)
    select (nj ->> 'tenant_id')::uuid, (nj ->> 'updated_at')::timestamptz, audit.business_time_mode() <> 'now',
           audit.verified_actor(acting_role), acting_role, session_user, pg_current_xact_id(),
           -- a fixed name: on Citus tg_table_name is the shard's (enquiries_102008)
           tg_table_schema || '.' || regexp_replace(tg_table_name, '_[0-9]+$', ''),
           (nj ->> key_column)::uuid, c.action, c.changed_columns, c.row_data, c.old_values
    from audit.row_change(nj, oj) c;
    return null;
end
$$;

alter function audit.capture_row() owner to enquiries_audit_writer;
revoke all on function audit.capture_row() from public;

comment on function audit.capture_row() is
    'Audit trigger, row form (AFTER INSERT OR UPDATE FOR EACH ROW): the same entries as audit.capture(), for Citus shards.';
