-- 018 audit capture, row form: the same audit entries from a row-level trigger, for
-- platforms where statement triggers cannot read transition tables with INSERT ... SELECT
-- (Citus shards: "could not find named tuplestore"; see docs/scale-out.md).
--
-- Guarantees:
--   * audit.row_change(new, old) is the one definition of an entry's action, changed
--     columns, new values and old values; both capture functions use it (it is a single
--     SELECT, so the planner inlines it into the set-based statement trigger);
--   * audit.capture_row() writes exactly the entry audit.capture() writes for a row
--     (tested by replaying the same workflow under both and comparing the trails);
--   * the single-node schema keeps the statement triggers (faster for batches); the Citus
--     profile (sql/citus/) swaps them for the row form.

-- Changed and unchanged keys in one pass over the new row; the stored values are the rows
-- minus the unchanged keys (jsonb minus text[] runs in C: ~5x faster than aggregating the
-- changed values key by key). NULL `old` means an insert: the full row, no old values.
create function audit.row_change(new_row jsonb, old_row jsonb)
    returns table (action text, changed_columns text[], row_data jsonb, old_values jsonb)
    language sql immutable parallel safe
    as $$
    select case
               when old_row is null then 'insert'
               when (old_row ->> 'deleted_at') is null and (new_row ->> 'deleted_at') is not null then 'soft_delete'
               when (old_row ->> 'deleted_at') is not null and (new_row ->> 'deleted_at') is null then 'restore'
               when (old_row ->> 'disposed_at') is null and (new_row ->> 'disposed_at') is not null then 'dispose'
               else 'update'
           end,
           case when old_row is null then '{}'::text[] else k.changed end,
           case when old_row is null then new_row else new_row - coalesce(k.unchanged, '{}') end,
           case when old_row is null then null else old_row - coalesce(k.unchanged, '{}') end
    from (select array_agg(e.key order by e.key) filter (where e.value is distinct from old_row -> e.key) as changed,
                 array_agg(e.key) filter (where e.value is not distinct from old_row -> e.key) as unchanged
          from jsonb_each(new_row) e) k
    where old_row is null or k.changed is not null   -- an update that changed nothing is not a change
$$;

create or replace function audit.capture() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    key_column constant text := tg_argv[0];
    table_name constant text := tg_table_schema || '.' || tg_table_name;
    -- SECURITY DEFINER changes current_user, not the role the session SET: that is the actor's.
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select (r.j ->> 'tenant_id')::uuid, (r.j ->> 'updated_at')::timestamptz, backdated, actor, acting_role,
               session_user, pg_current_xact_id(), table_name, (r.j ->> key_column)::uuid,
               c.action, c.changed_columns, c.row_data, c.old_values
        from (select to_jsonb(n) as j from new_rows n) r
        cross join lateral audit.row_change(r.j, null) c;
        return null;
    end if;

    with n as (select to_jsonb(n) as j from new_rows n),
         o as (select to_jsonb(o) as j from old_rows o),
         pairs as (
             select n.j as nj, o.j as oj from n join o on (o.j ->> key_column) = (n.j ->> key_column)
         ),
         entries as (
             insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                        table_name, record_id, action, changed_columns, row_data, old_values)
             select (p.nj ->> 'tenant_id')::uuid, (p.nj ->> 'updated_at')::timestamptz, backdated, actor, acting_role,
                    session_user, pg_current_xact_id(), table_name, (p.nj ->> key_column)::uuid,
                    c.action, c.changed_columns, c.row_data, c.old_values
             from pairs p
             cross join lateral audit.row_change(p.nj, p.oj) c
             returning 1
         )
    select (select count(*) from pairs), (select count(*) from n) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;

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

alter function audit.row_change(jsonb, jsonb) owner to enquiries_audit_writer;
alter function audit.capture_row() owner to enquiries_audit_writer;
revoke all on function audit.row_change(jsonb, jsonb), audit.capture_row() from public;

comment on function audit.capture_row() is
    'Audit trigger, row form (AFTER INSERT OR UPDATE FOR EACH ROW): the same entries as audit.capture(), for Citus shards.';
