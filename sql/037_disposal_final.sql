-- 037 disposal is final: it cannot be raced by a legal hold, judged against a future clock,
-- or followed by new data, and it anonymises every free-text field that can name a person.
--
-- Why: a legal hold committed by one transaction while another disposed of the enquiry both
-- succeeded (the disposal read the holds without waiting); retention was judged against the
-- business time, which a history loader could set in the future; after disposal a note could
-- be moved onto the enquiry (the guard ran on INSERT only), escalations and legal holds added,
-- and new enquiries opened for the disposed contact; notes and contacts could be inserted with
-- disposed_* set (frozen before any data was removed); escalation reasons, decision notes and
-- legal hold reasons kept what they said.
--
-- Guarantees:
--   * a legal hold and a disposal of the same enquiry are serialised on the enquiry's row:
--     placing a hold locks it (FOR NO KEY UPDATE), the disposal's UPDATE locks it too, and the
--     second re-reads what the first committed: a hold placed first stops the disposal
--     (EL301), a disposal committed first refuses the hold (EL302);
--   * retention is judged against the earlier of the business time and the wall clock
--     (sql/036 also refuses business time later than the wall clock, EL402);
--   * every table that references a disposable record is frozen for it, INSERT and UPDATE:
--     notes (also moved onto it), escalations and legal holds of a disposed enquiry (its
--     assignments come only from an update of the enquiry, which is frozen already); enquiries of a disposed contact (opened or moved onto it); EL302;
--   * rows are created live: notes and contacts inserted with disposed_* set are refused (EL302);
--   * disposal anonymises, besides enquiry subject/body, note bodies and contact details (014):
--     escalation reasons and decision notes and legal hold reasons of the enquiry (the only
--     change the retention officer may make to them, and only by disposing). The list of
--     every text column and what disposal does with it: docs/security-model.md.

set local role enquiries_owner;

-- The retention officer updates escalations only to anonymise them (guarded below).
insert into core.table_privileges (table_name, db_role, privilege, reason)
values ('tenant.escalations', 'enquiries_retention_officer', 'UPDATE',
        'disposal anonymises the escalation reason and decision note (sql/037); nothing else');
grant update on tenant.escalations to enquiries_retention_officer;
create policy retention_officer_update on tenant.escalations as permissive for update to enquiries_retention_officer
    using (tenant_id = (select tenant.current_tenant_id())) with check (tenant_id = (select tenant.current_tenant_id()));

create function tenant.enquiry_disposed(tenant uuid, enquiry uuid) returns boolean
    language sql stable parallel safe
    as $$ select exists (select from tenant.enquiries e where e.tenant_id = tenant and e.enquiry_id = enquiry and e.disposed_at is not null) $$;
grant execute on function tenant.enquiry_disposed(uuid, uuid) to public;

-- One guard for every table that references a disposable record.
create function tenant.freeze_disposed() returns trigger
    language plpgsql as $$
declare
    placeholder constant text := '[disposed]';
    stamps constant text[] := array['updated_at', 'updated_by', 'reason', 'decision_note'];
    disposed timestamptz;
begin
    if tg_table_name = 'enquiries' then  -- moved to another contact (new ones: below, per statement)
        if exists (select from tenant.contacts c
                   where c.tenant_id = new.tenant_id and c.contact_id = new.contact_id and c.disposed_at is not null) then
            raise exception 'contact was disposed of; no enquiry can be opened for, or moved to, them' using errcode = 'EL302';
        end if;
        return new;
    end if;
    if tg_op = 'INSERT' and tg_table_name in ('notes', 'contacts') then
        if new.disposed_at is not null or new.disposed_by is not null then
            raise exception '%.% rows are created live; disposal is a later change', tg_table_schema, tg_table_name
                using errcode = 'EL302';
        end if;
    end if;
    if tg_table_name = 'contacts' then
        return new;
    end if;
    if tg_table_name = 'legal_holds' and tg_op = 'INSERT' then
        -- Serialise with a disposal of the enquiry: both lock its row, and a disposal that
        -- committed first is seen here (READ COMMITTED re-reads the locked row).
        select e.disposed_at into disposed from tenant.enquiries e
        where e.tenant_id = new.tenant_id and e.enquiry_id = new.enquiry_id
        for no key update;
    else
        disposed := case when tenant.enquiry_disposed(new.tenant_id, new.enquiry_id) then clock_timestamp() end;
    end if;
    if disposed is null then
        return new;
    end if;
    if tg_op = 'UPDATE' and tg_table_name in ('escalations', 'legal_holds')
       and core.current_staff_role() = 'retention_officer'
       and to_jsonb(new) - stamps = to_jsonb(old) - stamps
       and (to_jsonb(old) ->> 'reason') is distinct from placeholder
       and (to_jsonb(new) ->> 'reason') = placeholder
       and (to_jsonb(new) ->> 'decision_note') is not distinct from
           (case when (to_jsonb(old) ->> 'decision_note') is not null then placeholder end) then
        return new;  -- the disposal's anonymisation (tenant.cascade_disposals)
    end if;
    raise exception 'enquiry was disposed of; nothing can be added to it or changed about it (%.%)',
        tg_table_schema, tg_table_name using errcode = 'EL302';
end
$$;

drop trigger c_refuse_on_disposed on tenant.notes;
create trigger c_refuse_on_disposed before insert on tenant.notes
    for each row execute function tenant.freeze_disposed();
create trigger c_refuse_on_disposed_move before update on tenant.notes
    for each row when (old.enquiry_id is distinct from new.enquiry_id) execute function tenant.freeze_disposed();
create trigger c_refuse_on_disposed before insert on tenant.contacts
    for each row when (new.disposed_at is not null or new.disposed_by is not null) execute function tenant.freeze_disposed();
create trigger c_refuse_on_disposed before insert or update on tenant.escalations
    for each row execute function tenant.freeze_disposed();
create trigger c_refuse_on_disposed before insert or update on tenant.legal_holds
    for each row execute function tenant.freeze_disposed();
-- tenant.assignments: written only by tenant.record_assignments for an enquiry update, which a
-- disposed enquiry refuses first (c_enforce_retention, EL302); no guard of its own on the hot path.
-- New enquiries: one set-based look per statement (the generator opens enquiries in batches;
-- a per-row query cost ~3% of its server time). The workflow trigger clears disposed_* of a
-- new enquiry.
create function tenant.refuse_enquiries_for_disposed_contacts() returns trigger
    language plpgsql as $$
begin
    if exists (select from new_rows n join tenant.contacts c on c.tenant_id = n.tenant_id and c.contact_id = n.contact_id
               where c.disposed_at is not null) then
        raise exception 'contact was disposed of; no enquiry can be opened for, or moved to, them' using errcode = 'EL302';
    end if;
    return null;
end
$$;
create trigger c_refuse_on_disposed after insert on tenant.enquiries
    referencing new table as new_rows
    for each statement execute function tenant.refuse_enquiries_for_disposed_contacts();
create trigger c_refuse_on_disposed_move before update on tenant.enquiries
    for each row when (old.contact_id is distinct from new.contact_id) execute function tenant.freeze_disposed();

-- An escalation's reason is fixed once requested, except by the disposal's anonymisation.
create or replace function tenant.enforce_escalation_decision() returns trigger
    language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        new.requested_by := new.created_by;
        new.requested_at := new.created_at;
        if new.decision <> 'pending' or new.decided_by is not null then
            raise exception 'an escalation is requested first and decided later' using errcode = 'EL105';
        end if;
        return new;
    end if;
    if core.current_staff_role() = 'retention_officer' then
        -- the officer may only anonymise a disposed enquiry's escalation: c_refuse_on_disposed
        -- has allowed exactly that, and refused everything else on a disposed enquiry
        if not tenant.enquiry_disposed(old.tenant_id, old.enquiry_id) then
            raise exception 'a retention officer may only dispose of records' using errcode = 'EL303';
        end if;
        return new;
    end if;
    new.enquiry_id := old.enquiry_id;
    new.requested_by := old.requested_by;
    new.requested_at := old.requested_at;
    new.reason := old.reason;
    if new.decision is distinct from old.decision then
        if old.decision <> 'pending' then
            raise exception 'escalation already %', old.decision using errcode = 'EL105';
        end if;
        if core.current_staff_role() is distinct from 'supervisor' then
            raise exception 'only a supervisor may decide an escalation' using errcode = 'EL105';
        end if;
        if new.updated_by = old.requested_by then
            raise exception 'a supervisor may not decide their own escalation request' using errcode = 'EL105';
        end if;
        new.decided_by := new.updated_by;
        new.decided_at := new.updated_at;
    else
        new.decided_by := old.decided_by;
        new.decided_at := old.decided_at;
    end if;
    return new;
end
$$;

-- Retention judged against the wall clock too (and the legal hold read after the row lock).
create or replace function tenant.enforce_retention() returns trigger
    language plpgsql as $$
declare
    acting_role constant text := core.current_staff_role();
    at constant timestamptz := new.updated_at;
    judged_at constant timestamptz := least(new.updated_at, clock_timestamp());
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
    if to_jsonb(new) - stamps is distinct from to_jsonb(old) - stamps then
        raise exception 'a disposal may set disposed_at (and the version) only' using errcode = 'EL303';
    end if;
    new.disposed_at := at;
    new.disposed_by := new.updated_by;

    if tg_table_name = 'enquiries' then
        if coalesce(old.closed_at, old.deleted_at) is null or coalesce(old.closed_at, old.deleted_at) + period > judged_at then
            raise exception 'enquiry % may not be disposed of before % (closed %, retention %)', old.reference,
                coalesce((coalesce(old.closed_at, old.deleted_at) + period)::text, 'it is closed'),
                coalesce(old.closed_at::text, 'never'), period
                using errcode = 'EL300';
        end if;
        -- The row is locked by now (a BEFORE UPDATE trigger runs on the locked row): a hold
        -- placed concurrently has committed or will wait for us (tenant.freeze_disposed).
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
        new := jsonb_populate_record(new, jsonb_build_object(
            'full_name', placeholder, 'email', null, 'phone', null, 'address_line1', null, 'address_line2', null,
            'town', null, 'postcode', tenant.postcode_district(to_jsonb(old) ->> 'postcode')));
    end if;
    return new;
end
$$;

-- The cascade of 024, plus the escalations' and legal holds' free text.
create or replace function tenant.cascade_disposals() returns trigger
    language plpgsql as $$
begin
    if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
                   where o.disposed_at is null and n.disposed_at is not null) then
        return null;
    end if;
    update tenant.notes n set disposed_at = d.disposed_at, updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and n.tenant_id = d.tenant_id and n.enquiry_id = d.enquiry_id and n.disposed_at is null;
    update tenant.escalations x set reason = '[disposed]',
                                    decision_note = case when x.decision_note is not null then '[disposed]' end,
                                    updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and x.tenant_id = d.tenant_id and x.enquiry_id = d.enquiry_id;
    update tenant.legal_holds h set reason = '[disposed]', updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and h.tenant_id = d.tenant_id and h.enquiry_id = d.enquiry_id;
    update tenant.contacts c set disposed_at = last.at, updated_at = last.updated_at
    from (select e.tenant_id, e.contact_id, max(e.disposed_at) as at, max(e.updated_at) as updated_at
          from tenant.enquiries e
          where (e.tenant_id, e.contact_id) in (select d.tenant_id, d.contact_id
                                                from new_rows d join old_rows o
                                                  on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
                                                where o.disposed_at is null and d.disposed_at is not null)
          group by e.tenant_id, e.contact_id
          having bool_and(e.disposed_at is not null)) as last
    where c.tenant_id = last.tenant_id and c.contact_id = last.contact_id and c.disposed_at is null;
    return null;
end
$$;

-- The row form of the cascade (014), which the Citus profile keeps (sql/citus/): the same
-- anonymisation, so both forms write the same rows and entries (tests/test_scale_out.py).
create or replace function tenant.cascade_disposal() returns trigger
    language plpgsql as $$
begin
    update tenant.notes n set disposed_at = new.disposed_at, updated_at = new.updated_at
    where n.tenant_id = new.tenant_id and n.enquiry_id = new.enquiry_id and n.disposed_at is null;
    update tenant.escalations x set reason = '[disposed]',
                                    decision_note = case when x.decision_note is not null then '[disposed]' end,
                                    updated_at = new.updated_at
    where x.tenant_id = new.tenant_id and x.enquiry_id = new.enquiry_id;
    update tenant.legal_holds h set reason = '[disposed]', updated_at = new.updated_at
    where h.tenant_id = new.tenant_id and h.enquiry_id = new.enquiry_id;
    update tenant.contacts c set disposed_at = last.at, updated_at = last.updated_at
    from (select max(e.disposed_at) as at, max(e.updated_at) as updated_at
          from tenant.enquiries e where e.tenant_id = new.tenant_id and e.contact_id = new.contact_id) as last
    where c.tenant_id = new.tenant_id and c.contact_id = new.contact_id and c.disposed_at is null
      and not exists (select from tenant.enquiries e
                      where e.tenant_id = c.tenant_id and e.contact_id = c.contact_id and e.disposed_at is null);
    return null;
end
$$;
