-- 036 attribution per row: the role, the acting user and the department cannot change while
-- a statement runs, and the audit trail names the user each row was written by.
--
-- Why: the audit capture is a statement-level trigger (012, 025): it read the role and the
-- actor once, after the last row, and verified those. A statement could change them between
-- its rows with set_config(...) evaluated in a RETURNING list, a CTE, a SET list, VALUES or
-- any per-row expression: the trail then named a made-up actor (set_config('role', 'none')
-- made the bare login "attributed as declared"), the rows' created_by/updated_by disagreed
-- with the trail, or a step the workflow trigger allowed to a supervisor (it reads the role
-- per row) was recorded as a caseworker's.
--
-- Guarantees:
--   * no lab role can call set_config(): EXECUTE is revoked from PUBLIC, so the context and
--     the role are changed only by SET / SET LOCAL, which are statements of their own and
--     never run inside another statement (42501). That closes the whole class: every reader
--     of the role, actor or department (the per-row triggers, the statement-level capture,
--     tenant.record_assignments, tenant.cascade_disposals) sees one value per statement;
--   * attribution is per row: tenant.stamp_row stamps created_by/updated_by and checks
--     tenant_id at the moment each row is written; the capture (statement and row form) now
--     refuses a statement whose rows were stamped with another actor or department than the
--     one it verifies (EL003), so the trail and the row stamps always agree;
--   * a role that is not a staff role is "attributed as declared" only if it is a superuser,
--     the owner or the provisioner; anything else (the bare application login, after
--     RESET ROLE) is refused (EL002);
--   * business time is never later than the wall clock (clock_timestamp(); EL402), so a
--     history loader cannot date a closure (and so a disposal) in the future;
--   * a live change (business time 'now', the transaction start) is refused once the
--     transaction is older than core.business_time_tolerance() (15 minutes; EL403): its
--     business time would be that much earlier than the change, unmarked. Both are checked
--     by the capture, for every row a statement wrote, in the scan that checks the stamps
--     (a per-row check in tenant.stamp_row cost ~5% of the generator's server time);
--   * staff roles cannot create large objects (storage outside RLS, audit and retention):
--     EXECUTE on lo_creat/lo_create/lo_from_bytea is revoked from PUBLIC (lo_import is
--     superuser-only already); compliance check 0031 finds any large object.
-- Set per database (pg_catalog's ACLs are per database); tests/test_integrity_hardening.py.

revoke execute on function pg_catalog.set_config(text, text, boolean) from public;
revoke execute on function pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
    pg_catalog.lo_from_bytea(oid, bytea) from public;

set local role enquiries_owner;

-- How much older than the change a live change's business time (the transaction start) may
-- be. A single SQL expression, so plpgsql folds it into the row-stamp trigger.
create function core.business_time_tolerance() returns interval
    language sql immutable parallel safe
    as $$ select interval '15 minutes' $$;
comment on function core.business_time_tolerance() is
    'A live change is refused (EL403) when its transaction started longer ago than this: its business time would be stale.';
grant execute on function core.business_time_tolerance() to public;

reset role;

create or replace function audit.verified_actor(acting_role name) returns uuid
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
        -- provisioner, owner or superuser: attributed as declared (the trust boundary); any
        -- other role (the bare login after RESET ROLE) holds nothing and writes nothing
        if acting_role in ('enquiries_provisioner', 'enquiries_owner')
           or coalesce((select r.rolsuper from pg_roles r where r.rolname = acting_role), false) then
            return actor;
        end if;
        raise exception 'role % may not write: act as a staff role', acting_role using errcode = 'EL002';
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

-- The generated statement capture of 025, with the per-row attribution check.
create or replace function audit.install_capture(tbl regclass) returns void
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
    department constant uuid := tenant.current_tenant_id();
    wall_clock constant timestamptz := clock_timestamp();   -- after every row of the statement was written
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
    -- (036) each row was stamped when it was written (tenant.stamp_row): the actor verified now
    -- must be the one every row names, in the department it was written in; and no row's
    -- business time is later than the wall clock. One scan of the rows for all three.
    if exists (select from new_rows n
               where n.updated_by is distinct from actor or n.tenant_id is distinct from department
                  or n.updated_at > wall_clock) then
        if exists (select from new_rows n where n.updated_at > wall_clock) then
            raise exception 'business time %% is later than the wall clock (%%)',
                (select max(n.updated_at) from new_rows n), wall_clock using errcode = 'EL402';
        end if;
        raise exception 'rows of %%.%% were written by another acting user or department than the statement ends with',
            tg_table_schema, tg_table_name using errcode = 'EL003';
    end if;
    -- a live change's business time is the transaction start: not when that is long past
    if not backdated and wall_clock - now() > core.business_time_tolerance() then
        raise exception 'this transaction started at %% and is too old to record a change at its start (more than %% ago)',
            now(), core.business_time_tolerance() using errcode = 'EL403', hint = 'commit sooner, and retry in a new transaction';
    end if;
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
                   format('Audit trigger for %s, generated by audit.install_capture (025, 036) for its columns.', qualified));
    execute format('drop trigger if exists z_audit_insert on %s', qualified);
    execute format('drop trigger if exists z_audit_update on %s', qualified);
    execute format('create trigger z_audit_insert after insert on %s referencing new table as new_rows '
                   'for each statement execute function %s()', qualified, fn);
    execute format('create trigger z_audit_update after update on %s referencing old table as old_rows new table as new_rows '
                   'for each statement execute function %s()', qualified, fn);
end
$install$;

revoke all on function audit.install_capture(regclass) from public;

-- The row form (018, the Citus profile): the same refusal for its row.
create or replace function audit.capture_row() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    key_column constant text := tg_argv[0];
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    nj constant jsonb := to_jsonb(new);
    oj constant jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
    actor constant uuid := audit.verified_actor(acting_role);
begin
    if oj is not null and (oj ->> key_column) is distinct from (nj ->> key_column) then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    if (nj ->> 'updated_at')::timestamptz > clock_timestamp() then
        raise exception 'business time % is later than the wall clock (%)', nj ->> 'updated_at', clock_timestamp()
            using errcode = 'EL402';
    end if;
    if audit.business_time_mode() = 'now' and clock_timestamp() - now() > core.business_time_tolerance() then
        raise exception 'this transaction started at % and is too old to record a change at its start (more than % ago)',
            now(), core.business_time_tolerance() using errcode = 'EL403', hint = 'commit sooner, and retry in a new transaction';
    end if;
    if (nj ->> 'updated_by')::uuid is distinct from actor or (nj ->> 'tenant_id')::uuid is distinct from tenant.current_tenant_id() then
        raise exception 'a row of %.% was written by another acting user or department than the statement ends with',
            tg_table_schema, tg_table_name using errcode = 'EL003';
    end if;
    insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                               table_name, record_id, action, changed_columns, row_data, old_values)
    select (nj ->> 'tenant_id')::uuid, (nj ->> 'updated_at')::timestamptz, audit.business_time_mode() <> 'now',
           actor, acting_role, session_user, pg_current_xact_id(),
           -- a fixed name: on Citus tg_table_name is the shard's (enquiries_102008)
           tg_table_schema || '.' || regexp_replace(tg_table_name, '_[0-9]+$', ''),
           (nj ->> key_column)::uuid, c.action, c.changed_columns, c.row_data, c.old_values
    from audit.row_change(nj, oj) c;
    return null;
end
$$;

select audit.install_capture(t.table_name::regclass) from audit.audited_tables t order by t.table_name;
