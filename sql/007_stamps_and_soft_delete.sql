-- 007 stamps and soft delete: row stamps (who and when) and soft delete only.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 011_row_stamps_and_soft_delete.sql =====
-- 011 row stamps and soft delete: every tenant row says who made it and when, and no
-- row is ever physically removed.
--
-- Guarantees, on every tenant table:
--   * created_*/updated_* are set from the context, never from the client: the acting
--     user (EL001 if none) and the business time (003); only a history loader in
--     per-row mode supplies the time itself, in created_at/updated_at;
--   * a row is written only into the context's department (42501), whoever asks, even the
--     owner or a superuser; tenant_id never changes (EL204);
--   * created_* never change;
--   * a record's business time never goes backwards (EL401 for a history loader; for a live
--     transaction that started before a later committed change, 40001: retry), so its audit
--     history is a well-ordered timeline;
--   * soft delete (deleted_at set) and restore (deleted_at cleared) need the SOFT_DELETE
--     privilege in core.table_privileges (EL203); deleted_at/deleted_by are stamped here;
--   * DELETE and TRUNCATE are refused by triggers (EL200) for every role including the
--     owner (no lab role is granted them either, so callers normally see 42501 first).

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- tenant.refuse_physical_delete() (function)
CREATE FUNCTION tenant.refuse_physical_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception '% on %.% is not allowed: records are soft-deleted (set deleted_at)', tg_op, tg_table_schema, tg_table_name
        using errcode = 'EL200';
end
$$;


ALTER FUNCTION tenant.refuse_physical_delete() OWNER TO enquiries_owner;

-- tenant.stamp_row() (function)
CREATE FUNCTION tenant.stamp_row() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
    actor constant uuid := tenant.require_actor();
    at timestamptz := audit.business_time();
begin
    if at is null then  -- per-row business time: the loader supplied it in the row
        at := case when tg_op = 'INSERT' then new.created_at else new.updated_at end;
        if at is null then
            raise exception 'per-row business time: % rows must carry %', tg_op,
                case when tg_op = 'INSERT' then 'created_at' else 'updated_at' end using errcode = 'EL400';
        end if;
    end if;
    if tg_op = 'UPDATE' and new.tenant_id is distinct from old.tenant_id then
        raise exception 'tenant_id of %.% rows never changes', tg_table_schema, tg_table_name using errcode = 'EL204';
    end if;
    if new.tenant_id is distinct from tenant.current_tenant_id() then
        -- RLS WITH CHECK says the same for every lab role; this also holds for the owner and
        -- superusers, and answers before any other trigger looks at the row.
        raise exception 'new row for %.% belongs to another department than the context''s', tg_table_schema, tg_table_name
            using errcode = '42501';
    end if;
    if tg_op = 'INSERT' then
        if new.deleted_at is not null then
            raise exception 'rows are created live; soft delete is a later change' using errcode = 'EL203';
        end if;
        new.created_at := at;  new.created_by := actor;
        new.updated_at := at;  new.updated_by := actor;
        new.deleted_by := null;
        return new;
    end if;

    if at < old.updated_at then
        if audit.business_time_mode() = 'now' then
            -- A live transaction that started before someone else's committed change: a
            -- concurrency conflict like any other, to be retried.
            raise exception '%.% row was changed by a transaction that committed after this one started',
                tg_table_schema, tg_table_name using errcode = '40001', hint = 'retry the transaction';
        end if;
        raise exception 'business time % is before the record''s last change at %', at, old.updated_at
            using errcode = 'EL401';
    end if;
    new.created_at := old.created_at;  new.created_by := old.created_by;
    new.updated_at := at;              new.updated_by := actor;

    if (new.deleted_at is null) <> (old.deleted_at is null) then
        if not exists (select from core.table_privileges
                       where table_name = tg_table_schema || '.' || tg_table_name
                         and db_role = current_user and privilege = 'SOFT_DELETE') then
            raise exception 'role % may not soft-delete or restore rows of %.%', current_user, tg_table_schema, tg_table_name
                using errcode = 'EL203';
        end if;
        if new.deleted_at is not null then
            new.deleted_at := at;  new.deleted_by := actor;
        else
            new.deleted_by := null;
        end if;
    else
        new.deleted_at := old.deleted_at;  new.deleted_by := old.deleted_by;
    end if;
    return new;
end
$$;


ALTER FUNCTION tenant.stamp_row() OWNER TO enquiries_owner;

-- tenant.FUNCTION refuse_physical_delete() (acl)
REVOKE ALL ON FUNCTION tenant.refuse_physical_delete() FROM PUBLIC;

-- tenant.FUNCTION stamp_row() (acl)
REVOKE ALL ON FUNCTION tenant.stamp_row() FROM PUBLIC;

-- tenant.assignments a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.assignments FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.contacts a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.contacts FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.department_enquiry_types a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.department_enquiry_types FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.departments a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.departments FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.enquiries a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.enquiries FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.escalations a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.escalations FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.legal_holds a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.legal_holds FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.notes a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.notes FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.staff a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.staff FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.teams a_stamp_row (trigger)
CREATE TRIGGER a_stamp_row BEFORE INSERT OR UPDATE ON tenant.teams FOR EACH ROW EXECUTE FUNCTION tenant.stamp_row();

-- tenant.assignments no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.assignments FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.contacts no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.contacts FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.department_enquiry_types no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.department_enquiry_types FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.departments no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.departments FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.enquiries no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.enquiries FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.escalations no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.escalations FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.legal_holds no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.legal_holds FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.notes no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.notes FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.staff no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.staff FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.teams no_physical_delete (trigger)
CREATE TRIGGER no_physical_delete BEFORE DELETE ON tenant.teams FOR EACH ROW EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.assignments no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.assignments FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.contacts no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.contacts FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.department_enquiry_types no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.department_enquiry_types FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.departments no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.departments FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.enquiries no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.enquiries FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.escalations no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.escalations FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.legal_holds no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.legal_holds FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.notes no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.notes FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.staff no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.staff FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

-- tenant.teams no_truncate (trigger)
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tenant.teams FOR EACH STATEMENT EXECUTE FUNCTION tenant.refuse_physical_delete();

