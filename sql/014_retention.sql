-- 014 retention: seven years from closure, then anonymisation in place, never deletion.
--
-- Guarantees:
--   * the rule is data (core.retention_rules): enquiry records are kept for seven years
--     after the enquiry entered a terminal status (closed_at), or, for a soft-deleted enquiry
--     that never closed, after its deletion;
--   * disposal is an UPDATE that sets disposed_at, made only by the retention officer
--     (EL303), only once the period has passed (EL300), never while a legal hold is
--     active (EL301); the triggers overwrite the personal data and cascade, so a disposal is
--     always complete however it is made: enquiry subject/body, its notes' bodies, and the
--     citizen's contact details (but the postcode district) once none of their enquiries is
--     still live; a disposal changes nothing else, and nothing can be added afterwards;
--   * a disposed row is frozen (EL302); the retention officer can do nothing but dispose;
--   * disposal is audited like any change (action 'dispose');
--   * app.disposal_candidates (015) lists what may be disposed of now.
-- Note: the audit trail keeps the values as they were before disposal; audit partitions
-- past their own retention are dropped whole by a superuser (docs/security-model.md).

set local role enquiries_owner;

create table core.retention_rules (
    rule              text primary key,
    retention_period  interval not null check (retention_period >= interval '1 year'),
    description       text not null
);
insert into core.retention_rules values
    ('enquiry_records', interval '7 years',
     'An enquiry, its correspondence and the citizen''s personal data are kept for seven years after the enquiry '
     'was closed or withdrawn, then anonymised in place by a retention officer, unless a legal hold is active.');
grant select on core.retention_rules to public;

-- 'SW1A 1AA' and 'sw1a1aa' -> 'SW1A': the inward code (last three characters) identifies a street.
create function tenant.postcode_district(postcode text) returns text
    language sql immutable parallel safe
    as $$
    select nullif(upper(left(c, greatest(length(c) - 3, 0))), '')
    from (select regexp_replace(postcode, '\s', '', 'g') as c) s
$$;
grant execute on function tenant.postcode_district(text) to public;

create function tenant.enforce_retention() returns trigger
    language plpgsql as $$
declare
    acting_role constant text := core.current_staff_role();
    at constant timestamptz := new.updated_at;
    period constant interval := (select retention_period from core.retention_rules where rule = 'enquiry_records');
    placeholder constant text := '[disposed]';
    stamps constant text[] := array['disposed_at', 'disposed_by', 'updated_at', 'updated_by', 'version'];
begin
    if old.disposed_at is not null then
        raise exception '%.% row was disposed of and cannot change', tg_table_schema, tg_table_name using errcode = 'EL302';
    end if;
    if new.disposed_at is null then
        if acting_role = 'retention_officer' then
            raise exception 'a retention officer may only dispose of records' using errcode = 'EL303';
        end if;
        new.disposed_by := null;
        return new;
    end if;

    if acting_role is distinct from 'retention_officer' then
        raise exception 'only a retention officer may dispose of records' using errcode = 'EL303';
    end if;
    -- A disposal changes nothing but the disposal stamps and the version; the triggers
    -- overwrite the personal data below.
    if to_jsonb(new) - stamps is distinct from to_jsonb(old) - stamps then
        raise exception 'a disposal may set disposed_at (and the version) only' using errcode = 'EL303';
    end if;
    new.disposed_at := at;
    new.disposed_by := new.updated_by;

    if tg_table_name = 'enquiries' then
        -- The clock starts at closure, or for a soft-deleted enquiry that never closed (a
        -- duplicate, say) at its deletion: its personal data must not be kept for ever either.
        if coalesce(old.closed_at, old.deleted_at) is null or coalesce(old.closed_at, old.deleted_at) + period > at then
            raise exception 'enquiry % may not be disposed of before % (closed %, retention %)', old.reference,
                coalesce((coalesce(old.closed_at, old.deleted_at) + period)::text, 'it is closed'),
                coalesce(old.closed_at::text, 'never'), period
                using errcode = 'EL300';
        end if;
        if exists (select from tenant.legal_holds h
                   where h.tenant_id = old.tenant_id and h.enquiry_id = old.enquiry_id
                     and h.released_at is null and h.deleted_at is null) then
            raise exception 'enquiry % is under legal hold', old.reference using errcode = 'EL301';
        end if;
        new := jsonb_populate_record(new, jsonb_build_object('subject', placeholder, 'body', placeholder));
    elsif tg_table_name = 'notes' then
        if not exists (select from tenant.enquiries e
                       where e.tenant_id = old.tenant_id and e.enquiry_id = (to_jsonb(old) ->> 'enquiry_id')::uuid
                         and e.disposed_at is not null) then
            raise exception 'a note is disposed of with its enquiry' using errcode = 'EL300';
        end if;
        new := jsonb_populate_record(new, jsonb_build_object('body', placeholder));
    elsif tg_table_name = 'contacts' then
        if exists (select from tenant.enquiries e
                   where e.tenant_id = old.tenant_id and e.contact_id = (to_jsonb(old) ->> 'contact_id')::uuid
                     and e.disposed_at is null) then
            raise exception 'a contact is disposed of once all their enquiries are' using errcode = 'EL300';
        end if;
        -- Keep the postcode district (the outward code, e.g. SW1A) for statistics; everything
        -- else identifying goes.
        new := jsonb_populate_record(new, jsonb_build_object(
            'full_name', placeholder, 'email', null, 'phone', null, 'address_line1', null, 'address_line2', null,
            'town', null, 'postcode', tenant.postcode_district(to_jsonb(old) ->> 'postcode')));
    end if;
    return new;
end
$$;

-- The WHEN clause keeps the trigger off the hot path: it runs only for disposals, changes to
-- disposed rows, and anything the retention officer does.
do $attach$
declare
    tbl text;
    officer constant name := (select db_role from core.staff_roles where staff_role = 'retention_officer');
begin
    foreach tbl in array array['tenant.enquiries', 'tenant.notes', 'tenant.contacts'] loop
        execute format('create trigger c_enforce_retention before update on %s for each row '
                       'when (old.disposed_at is not null or new.disposed_at is not null or current_user = %L) '
                       'execute function tenant.enforce_retention()', tbl, officer);
    end loop;
end
$attach$;

-- Disposing of an enquiry disposes of its notes, and of its contact once none of the
-- contact's enquiries is live: a disposal is complete however it is made.
create function tenant.cascade_disposal() returns trigger
    language plpgsql as $$
begin
    update tenant.notes n set disposed_at = new.disposed_at, updated_at = new.updated_at
    where n.tenant_id = new.tenant_id and n.enquiry_id = new.enquiry_id and n.disposed_at is null;
    -- The contact goes with the last of their enquiries, stamped with the latest disposal
    -- (whichever row of a multi-row disposal fires first).
    update tenant.contacts c set disposed_at = last.at, updated_at = last.updated_at
    from (select max(e.disposed_at) as at, max(e.updated_at) as updated_at
          from tenant.enquiries e where e.tenant_id = new.tenant_id and e.contact_id = new.contact_id) as last
    where c.tenant_id = new.tenant_id and c.contact_id = new.contact_id and c.disposed_at is null
      and not exists (select from tenant.enquiries e
                      where e.tenant_id = c.tenant_id and e.contact_id = c.contact_id and e.disposed_at is null);
    return null;
end
$$;

create trigger d_cascade_disposal after update on tenant.enquiries for each row
    when (old.disposed_at is null and new.disposed_at is not null)
    execute function tenant.cascade_disposal();

-- No new correspondence (new personal data) on a disposed enquiry.
create function tenant.refuse_notes_on_disposed() returns trigger
    language plpgsql as $$
begin
    if exists (select from tenant.enquiries e
               where e.tenant_id = new.tenant_id and e.enquiry_id = new.enquiry_id and e.disposed_at is not null) then
        raise exception 'enquiry was disposed of; nothing can be added to it' using errcode = 'EL302';
    end if;
    return new;
end
$$;

create trigger c_refuse_on_disposed before insert on tenant.notes
    for each row execute function tenant.refuse_notes_on_disposed();

-- Dispose of one enquiry (its notes and contact follow, see above).
create function tenant.dispose_enquiry(enquiry uuid) returns void
    language plpgsql as $$
begin
    update tenant.enquiries e set disposed_at = now(), version = e.version + 1
    where e.tenant_id = tenant.current_tenant_id() and e.enquiry_id = enquiry and e.disposed_at is null;
    if not found then
        raise exception 'enquiry % not found in this department, or already disposed of', enquiry using errcode = 'EL304';
    end if;
end
$$;
grant execute on function tenant.dispose_enquiry(uuid) to enquiries_retention_officer;
