-- 008 audit trail and capture: the immutable, partitioned audit trail and the typed capture triggers.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 006_audit_trail.sql =====
-- 006 audit trail: the table of audit entries, append-only for everyone.
--
-- Guarantees:
--   * one entry per changed row: who (actor, database role, login), when (business time
--     and recorded time), where (department, table, record), what (action, changed
--     columns, the new values and the old values of those columns), in which transaction;
--   * storage: an INSERT stores the full row; an UPDATE stores only the changed columns'
--     new values (row_data) and old values (old_values). The state before and after any
--     entry is exactly recoverable by folding a record's entries in order
--     (audit.record_states, 008), at a fraction of the size of full before/after images;
--   * nobody can UPDATE, DELETE or TRUNCATE an entry: no role holds those privileges, a
--     trigger refuses them even for the owner, every partition carries the TRUNCATE guard,
--     and the DDL guard (007) stops non-superusers from disabling or dropping any of it;
--   * partitioned by month of business time, partitions created ahead by
--     audit.ensure_partitions; a DEFAULT partition catches anything outside them (a
--     compliance check expects it to stay empty).
--
-- ===== from 012_audit_capture.sql =====
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
--
-- ===== from 018_audit_capture_rows.sql =====
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
--
-- ===== from 025_audit_capture_typed.sql =====
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

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- audit.capture() (function)
CREATE FUNCTION audit.capture() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION audit.capture() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture() (comment)
COMMENT ON FUNCTION audit.capture() IS 'Audit trigger (statement level, transition tables): one entry per inserted or updated row. Argument: the record key column.';

-- audit.capture_assignments() (function)
CREATE FUNCTION audit.capture_assignments() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, assignment_id uuid, enquiry_id uuid, from_staff_id uuid, to_staff_id uuid, assigned_at timestamp with time zone, assigned_by uuid, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 13 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.assignments', n.assignment_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.assignment_id as record_id, n.updated_at,
               array_remove(array[case when n.assigned_at is distinct from o.assigned_at then 'assigned_at' end, case when n.assigned_by is distinct from o.assigned_by then 'assigned_by' end, case when n.assignment_id is distinct from o.assignment_id then 'assignment_id' end, case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.enquiry_id is distinct from o.enquiry_id then 'enquiry_id' end, case when n.from_staff_id is distinct from o.from_staff_id then 'from_staff_id' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.to_staff_id is distinct from o.to_staff_id then 'to_staff_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.assignment_id is distinct from o.assignment_id then jsonb_build_object('assignment_id', n.assignment_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', n.enquiry_id) else '{}' end || case when n.from_staff_id is distinct from o.from_staff_id then jsonb_build_object('from_staff_id', n.from_staff_id) else '{}' end || case when n.to_staff_id is distinct from o.to_staff_id then jsonb_build_object('to_staff_id', n.to_staff_id) else '{}' end || case when n.assigned_at is distinct from o.assigned_at then jsonb_build_object('assigned_at', n.assigned_at) else '{}' end || case when n.assigned_by is distinct from o.assigned_by then jsonb_build_object('assigned_by', n.assigned_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.assignment_id is distinct from o.assignment_id then jsonb_build_object('assignment_id', o.assignment_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', o.enquiry_id) else '{}' end || case when n.from_staff_id is distinct from o.from_staff_id then jsonb_build_object('from_staff_id', o.from_staff_id) else '{}' end || case when n.to_staff_id is distinct from o.to_staff_id then jsonb_build_object('to_staff_id', o.to_staff_id) else '{}' end || case when n.assigned_at is distinct from o.assigned_at then jsonb_build_object('assigned_at', o.assigned_at) else '{}' end || case when n.assigned_by is distinct from o.assigned_by then jsonb_build_object('assigned_by', o.assigned_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.assignment_id = n.assignment_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.assignments', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_assignments() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_assignments() (comment)
COMMENT ON FUNCTION audit.capture_assignments() IS 'Audit trigger for tenant.assignments, generated by audit.install_capture (025) for its columns.';

-- audit.capture_contacts() (function)
CREATE FUNCTION audit.capture_contacts() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, contact_id uuid, full_name text, email text, phone text, address_line1 text, address_line2 text, town text, postcode text, preferred_channel core.channel, disposed_at timestamp with time zone, disposed_by uuid, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 18 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.contacts', n.contact_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.contact_id as record_id, n.updated_at,
               array_remove(array[case when n.address_line1 is distinct from o.address_line1 then 'address_line1' end, case when n.address_line2 is distinct from o.address_line2 then 'address_line2' end, case when n.contact_id is distinct from o.contact_id then 'contact_id' end, case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.disposed_at is distinct from o.disposed_at then 'disposed_at' end, case when n.disposed_by is distinct from o.disposed_by then 'disposed_by' end, case when n.email is distinct from o.email then 'email' end, case when n.full_name is distinct from o.full_name then 'full_name' end, case when n.phone is distinct from o.phone then 'phone' end, case when n.postcode is distinct from o.postcode then 'postcode' end, case when n.preferred_channel is distinct from o.preferred_channel then 'preferred_channel' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.town is distinct from o.town then 'town' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.contact_id is distinct from o.contact_id then jsonb_build_object('contact_id', n.contact_id) else '{}' end || case when n.full_name is distinct from o.full_name then jsonb_build_object('full_name', n.full_name) else '{}' end || case when n.email is distinct from o.email then jsonb_build_object('email', n.email) else '{}' end || case when n.phone is distinct from o.phone then jsonb_build_object('phone', n.phone) else '{}' end || case when n.address_line1 is distinct from o.address_line1 then jsonb_build_object('address_line1', n.address_line1) else '{}' end || case when n.address_line2 is distinct from o.address_line2 then jsonb_build_object('address_line2', n.address_line2) else '{}' end || case when n.town is distinct from o.town then jsonb_build_object('town', n.town) else '{}' end || case when n.postcode is distinct from o.postcode then jsonb_build_object('postcode', n.postcode) else '{}' end || case when n.preferred_channel is distinct from o.preferred_channel then jsonb_build_object('preferred_channel', n.preferred_channel) else '{}' end || case when n.disposed_at is distinct from o.disposed_at then jsonb_build_object('disposed_at', n.disposed_at) else '{}' end || case when n.disposed_by is distinct from o.disposed_by then jsonb_build_object('disposed_by', n.disposed_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.contact_id is distinct from o.contact_id then jsonb_build_object('contact_id', o.contact_id) else '{}' end || case when n.full_name is distinct from o.full_name then jsonb_build_object('full_name', o.full_name) else '{}' end || case when n.email is distinct from o.email then jsonb_build_object('email', o.email) else '{}' end || case when n.phone is distinct from o.phone then jsonb_build_object('phone', o.phone) else '{}' end || case when n.address_line1 is distinct from o.address_line1 then jsonb_build_object('address_line1', o.address_line1) else '{}' end || case when n.address_line2 is distinct from o.address_line2 then jsonb_build_object('address_line2', o.address_line2) else '{}' end || case when n.town is distinct from o.town then jsonb_build_object('town', o.town) else '{}' end || case when n.postcode is distinct from o.postcode then jsonb_build_object('postcode', o.postcode) else '{}' end || case when n.preferred_channel is distinct from o.preferred_channel then jsonb_build_object('preferred_channel', o.preferred_channel) else '{}' end || case when n.disposed_at is distinct from o.disposed_at then jsonb_build_object('disposed_at', o.disposed_at) else '{}' end || case when n.disposed_by is distinct from o.disposed_by then jsonb_build_object('disposed_by', o.disposed_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else case when o.disposed_at is null and n.disposed_at is not null then 'dispose' else 'update' end end as action
        from new_rows n join old_rows o on o.contact_id = n.contact_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.contacts', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_contacts() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_contacts() (comment)
COMMENT ON FUNCTION audit.capture_contacts() IS 'Audit trigger for tenant.contacts, generated by audit.install_capture (025) for its columns.';

-- audit.capture_department_enquiry_types() (function)
CREATE FUNCTION audit.capture_department_enquiry_types() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, department_enquiry_type_id uuid, enquiry_type text, sla_days integer, escalate_after_days integer, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 11 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.department_enquiry_types', n.department_enquiry_type_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.department_enquiry_type_id as record_id, n.updated_at,
               array_remove(array[case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.department_enquiry_type_id is distinct from o.department_enquiry_type_id then 'department_enquiry_type_id' end, case when n.enquiry_type is distinct from o.enquiry_type then 'enquiry_type' end, case when n.escalate_after_days is distinct from o.escalate_after_days then 'escalate_after_days' end, case when n.sla_days is distinct from o.sla_days then 'sla_days' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.department_enquiry_type_id is distinct from o.department_enquiry_type_id then jsonb_build_object('department_enquiry_type_id', n.department_enquiry_type_id) else '{}' end || case when n.enquiry_type is distinct from o.enquiry_type then jsonb_build_object('enquiry_type', n.enquiry_type) else '{}' end || case when n.sla_days is distinct from o.sla_days then jsonb_build_object('sla_days', n.sla_days) else '{}' end || case when n.escalate_after_days is distinct from o.escalate_after_days then jsonb_build_object('escalate_after_days', n.escalate_after_days) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.department_enquiry_type_id is distinct from o.department_enquiry_type_id then jsonb_build_object('department_enquiry_type_id', o.department_enquiry_type_id) else '{}' end || case when n.enquiry_type is distinct from o.enquiry_type then jsonb_build_object('enquiry_type', o.enquiry_type) else '{}' end || case when n.sla_days is distinct from o.sla_days then jsonb_build_object('sla_days', o.sla_days) else '{}' end || case when n.escalate_after_days is distinct from o.escalate_after_days then jsonb_build_object('escalate_after_days', o.escalate_after_days) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.department_enquiry_type_id = n.department_enquiry_type_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.department_enquiry_types', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_department_enquiry_types() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_department_enquiry_types() (comment)
COMMENT ON FUNCTION audit.capture_department_enquiry_types() IS 'Audit trigger for tenant.department_enquiry_types, generated by audit.install_capture (025) for its columns.';

-- audit.capture_departments() (function)
CREATE FUNCTION audit.capture_departments() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, code text, name text, default_sla_days integer, escalation_after_days integer, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 11 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.departments', n.tenant_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.tenant_id as record_id, n.updated_at,
               array_remove(array[case when n.code is distinct from o.code then 'code' end, case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.default_sla_days is distinct from o.default_sla_days then 'default_sla_days' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.escalation_after_days is distinct from o.escalation_after_days then 'escalation_after_days' end, case when n.name is distinct from o.name then 'name' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.code is distinct from o.code then jsonb_build_object('code', n.code) else '{}' end || case when n.name is distinct from o.name then jsonb_build_object('name', n.name) else '{}' end || case when n.default_sla_days is distinct from o.default_sla_days then jsonb_build_object('default_sla_days', n.default_sla_days) else '{}' end || case when n.escalation_after_days is distinct from o.escalation_after_days then jsonb_build_object('escalation_after_days', n.escalation_after_days) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.code is distinct from o.code then jsonb_build_object('code', o.code) else '{}' end || case when n.name is distinct from o.name then jsonb_build_object('name', o.name) else '{}' end || case when n.default_sla_days is distinct from o.default_sla_days then jsonb_build_object('default_sla_days', o.default_sla_days) else '{}' end || case when n.escalation_after_days is distinct from o.escalation_after_days then jsonb_build_object('escalation_after_days', o.escalation_after_days) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.tenant_id = n.tenant_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.departments', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_departments() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_departments() (comment)
COMMENT ON FUNCTION audit.capture_departments() IS 'Audit trigger for tenant.departments, generated by audit.install_capture (025) for its columns.';

-- audit.capture_enquiries() (function)
CREATE FUNCTION audit.capture_enquiries() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, enquiry_id uuid, reference core.enquiry_reference, contact_id uuid, enquiry_type text, channel core.channel, priority core.priority, subject core.enquiry_subject, body core.enquiry_body, status text, assigned_to uuid, received_at timestamp with time zone, due_at timestamp with time zone, resolved_at timestamp with time zone, closed_at timestamp with time zone, escalation_count integer, version integer, disposed_at timestamp with time zone, disposed_by uuid, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 25 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.enquiries', n.enquiry_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.enquiry_id as record_id, n.updated_at,
               array_remove(array[case when n.assigned_to is distinct from o.assigned_to then 'assigned_to' end, case when n.body is distinct from o.body then 'body' end, case when n.channel is distinct from o.channel then 'channel' end, case when n.closed_at is distinct from o.closed_at then 'closed_at' end, case when n.contact_id is distinct from o.contact_id then 'contact_id' end, case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.disposed_at is distinct from o.disposed_at then 'disposed_at' end, case when n.disposed_by is distinct from o.disposed_by then 'disposed_by' end, case when n.due_at is distinct from o.due_at then 'due_at' end, case when n.enquiry_id is distinct from o.enquiry_id then 'enquiry_id' end, case when n.enquiry_type is distinct from o.enquiry_type then 'enquiry_type' end, case when n.escalation_count is distinct from o.escalation_count then 'escalation_count' end, case when n.priority is distinct from o.priority then 'priority' end, case when n.received_at is distinct from o.received_at then 'received_at' end, case when n.reference is distinct from o.reference then 'reference' end, case when n.resolved_at is distinct from o.resolved_at then 'resolved_at' end, case when n.status is distinct from o.status then 'status' end, case when n.subject is distinct from o.subject then 'subject' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end, case when n.version is distinct from o.version then 'version' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', n.enquiry_id) else '{}' end || case when n.reference is distinct from o.reference then jsonb_build_object('reference', n.reference) else '{}' end || case when n.contact_id is distinct from o.contact_id then jsonb_build_object('contact_id', n.contact_id) else '{}' end || case when n.enquiry_type is distinct from o.enquiry_type then jsonb_build_object('enquiry_type', n.enquiry_type) else '{}' end || case when n.channel is distinct from o.channel then jsonb_build_object('channel', n.channel) else '{}' end || case when n.priority is distinct from o.priority then jsonb_build_object('priority', n.priority) else '{}' end || case when n.subject is distinct from o.subject then jsonb_build_object('subject', n.subject) else '{}' end || case when n.body is distinct from o.body then jsonb_build_object('body', n.body) else '{}' end || case when n.status is distinct from o.status then jsonb_build_object('status', n.status) else '{}' end || case when n.assigned_to is distinct from o.assigned_to then jsonb_build_object('assigned_to', n.assigned_to) else '{}' end || case when n.received_at is distinct from o.received_at then jsonb_build_object('received_at', n.received_at) else '{}' end || case when n.due_at is distinct from o.due_at then jsonb_build_object('due_at', n.due_at) else '{}' end || case when n.resolved_at is distinct from o.resolved_at then jsonb_build_object('resolved_at', n.resolved_at) else '{}' end || case when n.closed_at is distinct from o.closed_at then jsonb_build_object('closed_at', n.closed_at) else '{}' end || case when n.escalation_count is distinct from o.escalation_count then jsonb_build_object('escalation_count', n.escalation_count) else '{}' end || case when n.version is distinct from o.version then jsonb_build_object('version', n.version) else '{}' end || case when n.disposed_at is distinct from o.disposed_at then jsonb_build_object('disposed_at', n.disposed_at) else '{}' end || case when n.disposed_by is distinct from o.disposed_by then jsonb_build_object('disposed_by', n.disposed_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', o.enquiry_id) else '{}' end || case when n.reference is distinct from o.reference then jsonb_build_object('reference', o.reference) else '{}' end || case when n.contact_id is distinct from o.contact_id then jsonb_build_object('contact_id', o.contact_id) else '{}' end || case when n.enquiry_type is distinct from o.enquiry_type then jsonb_build_object('enquiry_type', o.enquiry_type) else '{}' end || case when n.channel is distinct from o.channel then jsonb_build_object('channel', o.channel) else '{}' end || case when n.priority is distinct from o.priority then jsonb_build_object('priority', o.priority) else '{}' end || case when n.subject is distinct from o.subject then jsonb_build_object('subject', o.subject) else '{}' end || case when n.body is distinct from o.body then jsonb_build_object('body', o.body) else '{}' end || case when n.status is distinct from o.status then jsonb_build_object('status', o.status) else '{}' end || case when n.assigned_to is distinct from o.assigned_to then jsonb_build_object('assigned_to', o.assigned_to) else '{}' end || case when n.received_at is distinct from o.received_at then jsonb_build_object('received_at', o.received_at) else '{}' end || case when n.due_at is distinct from o.due_at then jsonb_build_object('due_at', o.due_at) else '{}' end || case when n.resolved_at is distinct from o.resolved_at then jsonb_build_object('resolved_at', o.resolved_at) else '{}' end || case when n.closed_at is distinct from o.closed_at then jsonb_build_object('closed_at', o.closed_at) else '{}' end || case when n.escalation_count is distinct from o.escalation_count then jsonb_build_object('escalation_count', o.escalation_count) else '{}' end || case when n.version is distinct from o.version then jsonb_build_object('version', o.version) else '{}' end || case when n.disposed_at is distinct from o.disposed_at then jsonb_build_object('disposed_at', o.disposed_at) else '{}' end || case when n.disposed_by is distinct from o.disposed_by then jsonb_build_object('disposed_by', o.disposed_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else case when o.disposed_at is null and n.disposed_at is not null then 'dispose' else 'update' end end as action
        from new_rows n join old_rows o on o.enquiry_id = n.enquiry_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.enquiries', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_enquiries() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_enquiries() (comment)
COMMENT ON FUNCTION audit.capture_enquiries() IS 'Audit trigger for tenant.enquiries, generated by audit.install_capture (025) for its columns.';

-- audit.capture_escalations() (function)
CREATE FUNCTION audit.capture_escalations() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, escalation_id uuid, enquiry_id uuid, reason text, requested_by uuid, requested_at timestamp with time zone, decision text, decided_by uuid, decided_at timestamp with time zone, decision_note text, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 16 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.escalations', n.escalation_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.escalation_id as record_id, n.updated_at,
               array_remove(array[case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.decided_at is distinct from o.decided_at then 'decided_at' end, case when n.decided_by is distinct from o.decided_by then 'decided_by' end, case when n.decision is distinct from o.decision then 'decision' end, case when n.decision_note is distinct from o.decision_note then 'decision_note' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.enquiry_id is distinct from o.enquiry_id then 'enquiry_id' end, case when n.escalation_id is distinct from o.escalation_id then 'escalation_id' end, case when n.reason is distinct from o.reason then 'reason' end, case when n.requested_at is distinct from o.requested_at then 'requested_at' end, case when n.requested_by is distinct from o.requested_by then 'requested_by' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.escalation_id is distinct from o.escalation_id then jsonb_build_object('escalation_id', n.escalation_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', n.enquiry_id) else '{}' end || case when n.reason is distinct from o.reason then jsonb_build_object('reason', n.reason) else '{}' end || case when n.requested_by is distinct from o.requested_by then jsonb_build_object('requested_by', n.requested_by) else '{}' end || case when n.requested_at is distinct from o.requested_at then jsonb_build_object('requested_at', n.requested_at) else '{}' end || case when n.decision is distinct from o.decision then jsonb_build_object('decision', n.decision) else '{}' end || case when n.decided_by is distinct from o.decided_by then jsonb_build_object('decided_by', n.decided_by) else '{}' end || case when n.decided_at is distinct from o.decided_at then jsonb_build_object('decided_at', n.decided_at) else '{}' end || case when n.decision_note is distinct from o.decision_note then jsonb_build_object('decision_note', n.decision_note) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.escalation_id is distinct from o.escalation_id then jsonb_build_object('escalation_id', o.escalation_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', o.enquiry_id) else '{}' end || case when n.reason is distinct from o.reason then jsonb_build_object('reason', o.reason) else '{}' end || case when n.requested_by is distinct from o.requested_by then jsonb_build_object('requested_by', o.requested_by) else '{}' end || case when n.requested_at is distinct from o.requested_at then jsonb_build_object('requested_at', o.requested_at) else '{}' end || case when n.decision is distinct from o.decision then jsonb_build_object('decision', o.decision) else '{}' end || case when n.decided_by is distinct from o.decided_by then jsonb_build_object('decided_by', o.decided_by) else '{}' end || case when n.decided_at is distinct from o.decided_at then jsonb_build_object('decided_at', o.decided_at) else '{}' end || case when n.decision_note is distinct from o.decision_note then jsonb_build_object('decision_note', o.decision_note) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.escalation_id = n.escalation_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.escalations', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_escalations() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_escalations() (comment)
COMMENT ON FUNCTION audit.capture_escalations() IS 'Audit trigger for tenant.escalations, generated by audit.install_capture (025) for its columns.';

-- audit.capture_legal_holds() (function)
CREATE FUNCTION audit.capture_legal_holds() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, legal_hold_id uuid, enquiry_id uuid, reason text, placed_by uuid, placed_at timestamp with time zone, released_by uuid, released_at timestamp with time zone, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 14 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.legal_holds', n.legal_hold_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.legal_hold_id as record_id, n.updated_at,
               array_remove(array[case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.enquiry_id is distinct from o.enquiry_id then 'enquiry_id' end, case when n.legal_hold_id is distinct from o.legal_hold_id then 'legal_hold_id' end, case when n.placed_at is distinct from o.placed_at then 'placed_at' end, case when n.placed_by is distinct from o.placed_by then 'placed_by' end, case when n.reason is distinct from o.reason then 'reason' end, case when n.released_at is distinct from o.released_at then 'released_at' end, case when n.released_by is distinct from o.released_by then 'released_by' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.legal_hold_id is distinct from o.legal_hold_id then jsonb_build_object('legal_hold_id', n.legal_hold_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', n.enquiry_id) else '{}' end || case when n.reason is distinct from o.reason then jsonb_build_object('reason', n.reason) else '{}' end || case when n.placed_by is distinct from o.placed_by then jsonb_build_object('placed_by', n.placed_by) else '{}' end || case when n.placed_at is distinct from o.placed_at then jsonb_build_object('placed_at', n.placed_at) else '{}' end || case when n.released_by is distinct from o.released_by then jsonb_build_object('released_by', n.released_by) else '{}' end || case when n.released_at is distinct from o.released_at then jsonb_build_object('released_at', n.released_at) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.legal_hold_id is distinct from o.legal_hold_id then jsonb_build_object('legal_hold_id', o.legal_hold_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', o.enquiry_id) else '{}' end || case when n.reason is distinct from o.reason then jsonb_build_object('reason', o.reason) else '{}' end || case when n.placed_by is distinct from o.placed_by then jsonb_build_object('placed_by', o.placed_by) else '{}' end || case when n.placed_at is distinct from o.placed_at then jsonb_build_object('placed_at', o.placed_at) else '{}' end || case when n.released_by is distinct from o.released_by then jsonb_build_object('released_by', o.released_by) else '{}' end || case when n.released_at is distinct from o.released_at then jsonb_build_object('released_at', o.released_at) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.legal_hold_id = n.legal_hold_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.legal_holds', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_legal_holds() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_legal_holds() (comment)
COMMENT ON FUNCTION audit.capture_legal_holds() IS 'Audit trigger for tenant.legal_holds, generated by audit.install_capture (025) for its columns.';

-- audit.capture_notes() (function)
CREATE FUNCTION audit.capture_notes() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, note_id uuid, enquiry_id uuid, direction text, channel core.channel, body text, disposed_at timestamp with time zone, disposed_by uuid, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 14 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.notes', n.note_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.note_id as record_id, n.updated_at,
               array_remove(array[case when n.body is distinct from o.body then 'body' end, case when n.channel is distinct from o.channel then 'channel' end, case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.direction is distinct from o.direction then 'direction' end, case when n.disposed_at is distinct from o.disposed_at then 'disposed_at' end, case when n.disposed_by is distinct from o.disposed_by then 'disposed_by' end, case when n.enquiry_id is distinct from o.enquiry_id then 'enquiry_id' end, case when n.note_id is distinct from o.note_id then 'note_id' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.note_id is distinct from o.note_id then jsonb_build_object('note_id', n.note_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', n.enquiry_id) else '{}' end || case when n.direction is distinct from o.direction then jsonb_build_object('direction', n.direction) else '{}' end || case when n.channel is distinct from o.channel then jsonb_build_object('channel', n.channel) else '{}' end || case when n.body is distinct from o.body then jsonb_build_object('body', n.body) else '{}' end || case when n.disposed_at is distinct from o.disposed_at then jsonb_build_object('disposed_at', n.disposed_at) else '{}' end || case when n.disposed_by is distinct from o.disposed_by then jsonb_build_object('disposed_by', n.disposed_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.note_id is distinct from o.note_id then jsonb_build_object('note_id', o.note_id) else '{}' end || case when n.enquiry_id is distinct from o.enquiry_id then jsonb_build_object('enquiry_id', o.enquiry_id) else '{}' end || case when n.direction is distinct from o.direction then jsonb_build_object('direction', o.direction) else '{}' end || case when n.channel is distinct from o.channel then jsonb_build_object('channel', o.channel) else '{}' end || case when n.body is distinct from o.body then jsonb_build_object('body', o.body) else '{}' end || case when n.disposed_at is distinct from o.disposed_at then jsonb_build_object('disposed_at', o.disposed_at) else '{}' end || case when n.disposed_by is distinct from o.disposed_by then jsonb_build_object('disposed_by', o.disposed_by) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else case when o.disposed_at is null and n.disposed_at is not null then 'dispose' else 'update' end end as action
        from new_rows n join old_rows o on o.note_id = n.note_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.notes', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_notes() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_notes() (comment)
COMMENT ON FUNCTION audit.capture_notes() IS 'Audit trigger for tenant.notes, generated by audit.install_capture (025) for its columns.';

-- audit.capture_row() (function)
CREATE FUNCTION audit.capture_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;


ALTER FUNCTION audit.capture_row() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_row() (comment)
COMMENT ON FUNCTION audit.capture_row() IS 'Audit trigger, row form (AFTER INSERT OR UPDATE FOR EACH ROW): the same entries as audit.capture(), for Citus shards.';

-- audit.capture_staff() (function)
CREATE FUNCTION audit.capture_staff() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, staff_id uuid, team_id uuid, staff_role text, full_name text, email text, active boolean, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 13 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.staff', n.staff_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.staff_id as record_id, n.updated_at,
               array_remove(array[case when n.active is distinct from o.active then 'active' end, case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.email is distinct from o.email then 'email' end, case when n.full_name is distinct from o.full_name then 'full_name' end, case when n.staff_id is distinct from o.staff_id then 'staff_id' end, case when n.staff_role is distinct from o.staff_role then 'staff_role' end, case when n.team_id is distinct from o.team_id then 'team_id' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.staff_id is distinct from o.staff_id then jsonb_build_object('staff_id', n.staff_id) else '{}' end || case when n.team_id is distinct from o.team_id then jsonb_build_object('team_id', n.team_id) else '{}' end || case when n.staff_role is distinct from o.staff_role then jsonb_build_object('staff_role', n.staff_role) else '{}' end || case when n.full_name is distinct from o.full_name then jsonb_build_object('full_name', n.full_name) else '{}' end || case when n.email is distinct from o.email then jsonb_build_object('email', n.email) else '{}' end || case when n.active is distinct from o.active then jsonb_build_object('active', n.active) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.staff_id is distinct from o.staff_id then jsonb_build_object('staff_id', o.staff_id) else '{}' end || case when n.team_id is distinct from o.team_id then jsonb_build_object('team_id', o.team_id) else '{}' end || case when n.staff_role is distinct from o.staff_role then jsonb_build_object('staff_role', o.staff_role) else '{}' end || case when n.full_name is distinct from o.full_name then jsonb_build_object('full_name', o.full_name) else '{}' end || case when n.email is distinct from o.email then jsonb_build_object('email', o.email) else '{}' end || case when n.active is distinct from o.active then jsonb_build_object('active', o.active) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.staff_id = n.staff_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.staff', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_staff() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_staff() (comment)
COMMENT ON FUNCTION audit.capture_staff() IS 'Audit trigger for tenant.staff, generated by audit.install_capture (025) for its columns.';

-- audit.capture_teams() (function)
CREATE FUNCTION audit.capture_teams() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    actor uuid;
    backdated constant boolean := audit.business_time_mode() <> 'now';
    written bigint;
    expected bigint;
begin
    -- columns: tenant_id uuid, team_id uuid, name text, created_at timestamp with time zone, created_by uuid, updated_at timestamp with time zone, updated_by uuid, deleted_at timestamp with time zone, deleted_by uuid
    -- (a column added since makes relnatts grow; one dropped or renamed fails the query below)
    if (select c.relnatts from pg_class c where c.oid = tg_relid) <> 9 then
        raise exception 'the audit capture of %.% was generated for other columns; run audit.install_capture',
            tg_table_schema, tg_table_name using errcode = 'EL206';
    end if;
    actor := audit.verified_actor(acting_role);
    if tg_op = 'INSERT' then
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select n.tenant_id, n.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.teams', n.team_id, 'insert', '{}', to_jsonb(n), null
        from new_rows n;
        return null;
    end if;

    with pairs as (
        -- only the changed columns are converted to jsonb (whole rows cost ~2x as much)
        select n.tenant_id, n.team_id as record_id, n.updated_at,
               array_remove(array[case when n.created_at is distinct from o.created_at then 'created_at' end, case when n.created_by is distinct from o.created_by then 'created_by' end, case when n.deleted_at is distinct from o.deleted_at then 'deleted_at' end, case when n.deleted_by is distinct from o.deleted_by then 'deleted_by' end, case when n.name is distinct from o.name then 'name' end, case when n.team_id is distinct from o.team_id then 'team_id' end, case when n.tenant_id is distinct from o.tenant_id then 'tenant_id' end, case when n.updated_at is distinct from o.updated_at then 'updated_at' end, case when n.updated_by is distinct from o.updated_by then 'updated_by' end], null) as changed,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', n.tenant_id) else '{}' end || case when n.team_id is distinct from o.team_id then jsonb_build_object('team_id', n.team_id) else '{}' end || case when n.name is distinct from o.name then jsonb_build_object('name', n.name) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', n.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', n.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', n.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', n.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', n.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', n.deleted_by) else '{}' end as new_values,
               case when n.tenant_id is distinct from o.tenant_id then jsonb_build_object('tenant_id', o.tenant_id) else '{}' end || case when n.team_id is distinct from o.team_id then jsonb_build_object('team_id', o.team_id) else '{}' end || case when n.name is distinct from o.name then jsonb_build_object('name', o.name) else '{}' end || case when n.created_at is distinct from o.created_at then jsonb_build_object('created_at', o.created_at) else '{}' end || case when n.created_by is distinct from o.created_by then jsonb_build_object('created_by', o.created_by) else '{}' end || case when n.updated_at is distinct from o.updated_at then jsonb_build_object('updated_at', o.updated_at) else '{}' end || case when n.updated_by is distinct from o.updated_by then jsonb_build_object('updated_by', o.updated_by) else '{}' end || case when n.deleted_at is distinct from o.deleted_at then jsonb_build_object('deleted_at', o.deleted_at) else '{}' end || case when n.deleted_by is distinct from o.deleted_by then jsonb_build_object('deleted_by', o.deleted_by) else '{}' end as old_values,
               case when o.deleted_at is null and n.deleted_at is not null then 'soft_delete' when o.deleted_at is not null and n.deleted_at is null then 'restore' else 'update' end as action
        from new_rows n join old_rows o on o.team_id = n.team_id
    ), entries as (
        insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                                   table_name, record_id, action, changed_columns, row_data, old_values)
        select p.tenant_id, p.updated_at, backdated, actor, acting_role, session_user, pg_current_xact_id(),
               'tenant.teams', p.record_id, p.action, p.changed, p.new_values, p.old_values
        from pairs p
        where cardinality(p.changed) > 0   -- an update that changed nothing is not a change
        returning 1
    )
    select (select count(*) from pairs), (select count(*) from new_rows) into written, expected;
    if written <> expected then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    return null;
end
$$;


ALTER FUNCTION audit.capture_teams() OWNER TO enquiries_audit_writer;

-- audit.FUNCTION capture_teams() (comment)
COMMENT ON FUNCTION audit.capture_teams() IS 'Audit trigger for tenant.teams, generated by audit.install_capture (025) for its columns.';

-- audit.ensure_partitions(date, date) (function)
CREATE FUNCTION audit.ensure_partitions(from_month date, through_month date) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
    month date := date_trunc('month', from_month);
    partition_name text;
    created integer := 0;
begin
    while month <= date_trunc('month', through_month) loop
        partition_name := format('entries_%s', to_char(month, 'YYYY_MM'));
        if to_regclass(format('audit.%I', partition_name)) is null then
            execute format('create table audit.%I partition of audit.entries for values from (%L) to (%L)',
                           partition_name, month, (month + interval '1 month')::date);
            execute format('create trigger entries_no_truncate before truncate on audit.%I '
                           'for each statement execute function audit.refuse_change()', partition_name);
            created := created + 1;
        end if;
        month := month + interval '1 month';
    end loop;
    return created;
end
$$;


ALTER FUNCTION audit.ensure_partitions(from_month date, through_month date) OWNER TO enquiries_owner;

-- audit.FUNCTION ensure_partitions(from_month date, through_month date) (comment)
COMMENT ON FUNCTION audit.ensure_partitions(from_month date, through_month date) IS 'Creates the monthly audit partitions in a range (idempotent). Run ahead of time, e.g. monthly, and before loading history.';

-- audit.entries (table)
CREATE TABLE audit.entries (
    entry_id bigint NOT NULL,
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    recorded_at timestamp with time zone DEFAULT statement_timestamp() NOT NULL,
    backdated boolean NOT NULL,
    actor_id uuid NOT NULL,
    db_role name NOT NULL,
    login_role name NOT NULL,
    transaction_id xid8 NOT NULL,
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    action text NOT NULL,
    changed_columns text[] NOT NULL,
    row_data jsonb NOT NULL,
    old_values jsonb,
    CONSTRAINT entries_action_check CHECK ((action = ANY (ARRAY['insert'::text, 'update'::text, 'soft_delete'::text, 'restore'::text, 'dispose'::text]))),
    CONSTRAINT entries_check CHECK (((action = 'insert'::text) = (old_values IS NULL)))
)
PARTITION BY RANGE (occurred_at);

ALTER TABLE ONLY audit.entries FORCE ROW LEVEL SECURITY;


ALTER TABLE audit.entries OWNER TO enquiries_owner;

-- audit.TABLE entries (comment)
COMMENT ON TABLE audit.entries IS 'Append-only audit trail, one entry per changed row, partitioned by month of business time.';

-- audit.install_capture(regclass) (function)
CREATE FUNCTION audit.install_capture(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
$_$;

-- audit.refuse_change() (function)
CREATE FUNCTION audit.refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception 'audit entries are immutable: % on %.% refused', tg_op, tg_table_schema, tg_table_name
        using errcode = 'EL201';
end
$$;


ALTER FUNCTION audit.refuse_change() OWNER TO enquiries_owner;

-- audit.row_change(jsonb, jsonb) (function)
CREATE FUNCTION audit.row_change(new_row jsonb, old_row jsonb) RETURNS TABLE(action text, changed_columns text[], row_data jsonb, old_values jsonb)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
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


ALTER FUNCTION audit.row_change(new_row jsonb, old_row jsonb) OWNER TO enquiries_audit_writer;

-- audit.table_shape(oid) (function)
CREATE FUNCTION audit.table_shape(tbl oid) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum)
    from pg_attribute a where a.attrelid = tbl and a.attnum > 0 and not a.attisdropped
$$;

-- audit.verified_actor(name) (function)
CREATE FUNCTION audit.verified_actor(acting_role name) RETURNS uuid
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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


ALTER FUNCTION audit.verified_actor(acting_role name) OWNER TO enquiries_audit_writer;

-- audit.entries_entry_id_seq (sequence)
ALTER TABLE audit.entries ALTER COLUMN entry_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME audit.entries_entry_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

-- audit.entries entries_pkey (constraint)
ALTER TABLE ONLY audit.entries
    ADD CONSTRAINT entries_pkey PRIMARY KEY (tenant_id, occurred_at, entry_id);

-- audit.entries_entry_id (index)
CREATE INDEX entries_entry_id ON ONLY audit.entries USING brin (tenant_id, entry_id);

-- audit.entries_record (index)
CREATE INDEX entries_record ON ONLY audit.entries USING btree (tenant_id, record_id, occurred_at, entry_id);

-- audit.entries audit_writer_insert (policy)
CREATE POLICY audit_writer_insert ON audit.entries FOR INSERT TO enquiries_audit_writer WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- audit.entries auditor_select (policy)
CREATE POLICY auditor_select ON audit.entries FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- audit.entries (row security)
ALTER TABLE audit.entries ENABLE ROW LEVEL SECURITY;

-- audit.entries tenant_isolation (policy)
CREATE POLICY tenant_isolation ON audit.entries AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- audit.FUNCTION capture() (acl)
REVOKE ALL ON FUNCTION audit.capture() FROM PUBLIC;

-- audit.FUNCTION capture_assignments() (acl)
REVOKE ALL ON FUNCTION audit.capture_assignments() FROM PUBLIC;

-- audit.FUNCTION capture_contacts() (acl)
REVOKE ALL ON FUNCTION audit.capture_contacts() FROM PUBLIC;

-- audit.FUNCTION capture_department_enquiry_types() (acl)
REVOKE ALL ON FUNCTION audit.capture_department_enquiry_types() FROM PUBLIC;

-- audit.FUNCTION capture_departments() (acl)
REVOKE ALL ON FUNCTION audit.capture_departments() FROM PUBLIC;

-- audit.FUNCTION capture_enquiries() (acl)
REVOKE ALL ON FUNCTION audit.capture_enquiries() FROM PUBLIC;

-- audit.FUNCTION capture_escalations() (acl)
REVOKE ALL ON FUNCTION audit.capture_escalations() FROM PUBLIC;

-- audit.FUNCTION capture_legal_holds() (acl)
REVOKE ALL ON FUNCTION audit.capture_legal_holds() FROM PUBLIC;

-- audit.FUNCTION capture_notes() (acl)
REVOKE ALL ON FUNCTION audit.capture_notes() FROM PUBLIC;

-- audit.FUNCTION capture_row() (acl)
REVOKE ALL ON FUNCTION audit.capture_row() FROM PUBLIC;

-- audit.FUNCTION capture_staff() (acl)
REVOKE ALL ON FUNCTION audit.capture_staff() FROM PUBLIC;

-- audit.FUNCTION capture_teams() (acl)
REVOKE ALL ON FUNCTION audit.capture_teams() FROM PUBLIC;

-- audit.FUNCTION ensure_partitions(from_month date, through_month date) (acl)
REVOKE ALL ON FUNCTION audit.ensure_partitions(from_month date, through_month date) FROM PUBLIC;

-- audit.TABLE entries (acl)
-- The owner keeps only what it needs (named, not REVOKE ALL + GRANT, so a server with more
-- privilege kinds, e.g. MAINTAIN since PostgreSQL 17, keeps them as the old chain did).
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES ON TABLE audit.entries FROM enquiries_owner;
GRANT INSERT ON TABLE audit.entries TO enquiries_audit_writer;
GRANT SELECT ON TABLE audit.entries TO enquiries_auditor;

-- audit.FUNCTION install_capture(tbl regclass) (acl)
REVOKE ALL ON FUNCTION audit.install_capture(tbl regclass) FROM PUBLIC;

-- audit.FUNCTION refuse_change() (acl)
REVOKE ALL ON FUNCTION audit.refuse_change() FROM PUBLIC;

-- audit.FUNCTION row_change(new_row jsonb, old_row jsonb) (acl)
REVOKE ALL ON FUNCTION audit.row_change(new_row jsonb, old_row jsonb) FROM PUBLIC;

-- audit.FUNCTION table_shape(tbl oid) (acl)
GRANT ALL ON FUNCTION audit.table_shape(tbl oid) TO enquiries_audit_writer;

-- audit.FUNCTION verified_actor(acting_role name) (acl)
REVOKE ALL ON FUNCTION audit.verified_actor(acting_role name) FROM PUBLIC;

-- audit.entries entries_immutable (trigger)
CREATE TRIGGER entries_immutable BEFORE DELETE OR UPDATE ON audit.entries FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

-- audit.entries entries_no_truncate (trigger)
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON audit.entries FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- tenant.assignments z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.assignments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_assignments();

-- tenant.contacts z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.contacts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_contacts();

-- tenant.department_enquiry_types z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.department_enquiry_types REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_department_enquiry_types();

-- tenant.departments z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.departments REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_departments();

-- tenant.enquiries z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.enquiries REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_enquiries();

-- tenant.escalations z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.escalations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_escalations();

-- tenant.legal_holds z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.legal_holds REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_legal_holds();

-- tenant.notes z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.notes REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_notes();

-- tenant.staff z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.staff REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_staff();

-- tenant.teams z_audit_insert (trigger)
CREATE TRIGGER z_audit_insert AFTER INSERT ON tenant.teams REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_teams();

-- tenant.assignments z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.assignments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_assignments();

-- tenant.contacts z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_contacts();

-- tenant.department_enquiry_types z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.department_enquiry_types REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_department_enquiry_types();

-- tenant.departments z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.departments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_departments();

-- tenant.enquiries z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.enquiries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_enquiries();

-- tenant.escalations z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.escalations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_escalations();

-- tenant.legal_holds z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.legal_holds REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_legal_holds();

-- tenant.notes z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.notes REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_notes();

-- tenant.staff z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.staff REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_staff();

-- tenant.teams z_audit_update (trigger)
CREATE TRIGGER z_audit_update AFTER UPDATE ON tenant.teams REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit.capture_teams();


-- The partitions: a DEFAULT partition, then monthly partitions nine years back to a year
-- ahead, each with the TRUNCATE guard (statement triggers are not inherited by partitions).
set local role enquiries_owner;
create table audit.entries_default partition of audit.entries default;
create trigger entries_no_truncate before truncate on audit.entries_default
    for each statement execute function audit.refuse_change();
select audit.ensure_partitions((now() - interval '9 years')::date, (now() + interval '12 months')::date);
reset role;
