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

set local role enquiries_owner;

create function tenant.stamp_row() returns trigger
    language plpgsql as $$
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

create function tenant.refuse_physical_delete() returns trigger
    language plpgsql as $$
begin
    raise exception '% on %.% is not allowed: records are soft-deleted (set deleted_at)', tg_op, tg_table_schema, tg_table_name
        using errcode = 'EL200';
end
$$;

do $attach$
declare
    tbl regclass;
begin
    for tbl in
        select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind = 'r' order by c.relname
    loop
        -- "a_" sorts first: stamps are in place before any other BEFORE trigger reads them.
        execute format('create trigger a_stamp_row before insert or update on %s for each row execute function tenant.stamp_row()', tbl);
        execute format('create trigger no_physical_delete before delete on %s for each row execute function tenant.refuse_physical_delete()', tbl);
        execute format('create trigger no_truncate before truncate on %s for each statement execute function tenant.refuse_physical_delete()', tbl);
    end loop;
end
$attach$;

