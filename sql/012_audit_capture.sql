-- 012 audit capture: every change to every tenant table writes its audit entries, in the
-- same transaction, whoever makes it.
--
-- Guarantees:
--   * statement-level AFTER triggers with transition tables on every tenant table write
--     one entry per inserted or updated row, set-based (one INSERT ... SELECT per
--     statement, measured faster than per-row triggers for bulk writes);
--   * the entry's business time is the row's own updated_at (stamped in 011), so the
--     audit timeline and the live row always agree;
--   * the acting user is verified once per statement: set (EL001), and for staff roles an
--     active staff member of the current department whose staff role matches the database
--     role the session switched to (EL002). Provisioning and superuser sessions are
--     attributed to the actor they declare (the trust boundary, docs/security-model.md);
--   * audit.row_change(new, old) is the one definition of an entry's action, changed
--     columns, new values and old values (a single SELECT the planner inlines); the row
--     form of the capture (018, for Citus) uses it too;
--   * UPDATEs that change a primary key are refused (EL205): history is keyed by it;
--   * callers hold no privilege on audit.entries: the capture function is SECURITY DEFINER,
--     owned by enquiries_audit_writer (which may only INSERT there), with a pinned
--     search_path. It is a trigger function, so nobody can call it directly.

create function audit.verified_actor(acting_role name) returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    actor constant uuid := tenant.require_actor();
    expected_role text;
    actual_role text;
begin
    select staff_role into expected_role from core.staff_roles where db_role = acting_role;
    if expected_role is null then
        return actor;  -- provisioner, owner or superuser: attributed as declared
    end if;
    select s.staff_role into actual_role
    from tenant.staff s
    where s.tenant_id = tenant.current_tenant_id() and s.staff_id = actor
      and s.active and s.deleted_at is null;
    if actual_role is null then
        raise exception 'acting user % is not an active staff member of department %', actor, tenant.current_tenant_id()
            using errcode = 'EL002';
    end if;
    if actual_role <> expected_role then
        raise exception 'acting user % is a %, but the session acts as %', actor, actual_role, acting_role
            using errcode = 'EL002';
    end if;
    return actor;
end
$$;

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

create function audit.capture() returns trigger
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

alter function audit.verified_actor(name) owner to enquiries_audit_writer;
alter function audit.row_change(jsonb, jsonb) owner to enquiries_audit_writer;
alter function audit.capture() owner to enquiries_audit_writer;
revoke all on function audit.verified_actor(name), audit.row_change(jsonb, jsonb), audit.capture() from public;
grant execute on function audit.verified_actor(name) to enquiries_audit_writer;
grant execute on function tenant.require_actor(), tenant.current_tenant_id(), audit.business_time_mode()
    to enquiries_audit_writer;

comment on function audit.capture() is
    'Audit trigger (statement level, transition tables): one entry per inserted or updated row. Argument: the record key column.';

do $attach$
declare
    t record;
begin
    for t in
        select c.oid::regclass as tbl,
               coalesce((select a.attname from pg_constraint k
                         cross join lateral unnest(k.conkey) as col(attnum)
                         join pg_attribute a on a.attrelid = c.oid and a.attnum = col.attnum
                         where k.conrelid = c.oid and k.contype = 'p' and a.attname <> 'tenant_id'
                         limit 1), 'tenant_id') as key_column
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind = 'r'
        order by c.relname
    loop
        execute format('create trigger z_audit_insert after insert on %s referencing new table as new_rows '
                       'for each statement execute function audit.capture(%L)', t.tbl, t.key_column);
        execute format('create trigger z_audit_update after update on %s referencing old table as old_rows new table as new_rows '
                       'for each statement execute function audit.capture(%L)', t.tbl, t.key_column);
    end loop;
end
$attach$;
