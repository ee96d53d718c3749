-- 079 a statement trigger that joins its new rows to a department's table plans that join
-- for the statement it runs for.
--
-- Why: PL/pgSQL plans a query without parameters once per backend, at its first call, and
-- keeps the plan until a table's statistics change. sql/037's checks and cascades joined the
-- transition tables to tenant tables; planned while the tables were tiny, the plan read the
-- whole department (the policy's tenant_id the only index condition) for every new row. A
-- backend that opened 200 enquiries against 20,000 contacts read 4,000,200 contact rows; a
-- disposal read every escalation of the department, so a long-lived backend (a pooled
-- application connection, a generator worker) slowed as the department grew. Rewriting the
-- join does not help: on tiny tables any index with tenant_id first looks as good as the key.
--
-- Guarantee: the same checks and the same cascade (EL302 for an enquiry opened for a disposed
-- contact; a disposal anonymises the enquiry's notes, escalations, legal holds and, once
-- nothing of theirs is live, the contact), each statement that touches a tenant table planned
-- (EXECUTE) for the tables as they are and the rows the statement changed: a statement reads
-- the rows of the enquiries it opens or disposes of, by key, however the tables grew since the
-- backend's first call (tests/test_plan_guards.py). Planning costs a fraction of a millisecond
-- per statement, and the generator writes in batches. Statements that read only the transition
-- tables keep their plans. The Citus profile uses row forms of both (sql/citus/050, 076),
-- which look rows up by the row's own keys.

set local role enquiries_owner;

create or replace function tenant.refuse_enquiries_for_disposed_contacts() returns trigger
    language plpgsql as $$
declare
    disposed boolean;
begin
    execute 'select exists (select from new_rows n join tenant.contacts c
                            on c.tenant_id = n.tenant_id and c.contact_id = n.contact_id
                            where c.disposed_at is not null)' into disposed;
    if disposed then
        raise exception 'contact was disposed of; no enquiry can be opened for, or moved to, them' using errcode = 'EL302';
    end if;
    return null;
end
$$;

-- The cascade of sql/037, each write planned when it runs.
create or replace function tenant.cascade_disposals() returns trigger
    language plpgsql as $$
begin
    -- the transition tables alone: a kept plan is as good as a new one
    if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
                   where o.disposed_at is null and n.disposed_at is not null) then
        return null;
    end if;
    execute $q$
    update tenant.notes n set disposed_at = d.disposed_at, updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and n.tenant_id = d.tenant_id and n.enquiry_id = d.enquiry_id and n.disposed_at is null
    $q$;
    execute $q$
    update tenant.escalations x set reason = '[disposed]',
                                    decision_note = case when x.decision_note is not null then '[disposed]' end,
                                    updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and x.tenant_id = d.tenant_id and x.enquiry_id = d.enquiry_id
    $q$;
    execute $q$
    update tenant.legal_holds h set reason = '[disposed]', updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and h.tenant_id = d.tenant_id and h.enquiry_id = d.enquiry_id
    $q$;
    execute $q$
    update tenant.contacts c set disposed_at = last.at, updated_at = last.updated_at
    from (select e.tenant_id, e.contact_id, max(e.disposed_at) as at, max(e.updated_at) as updated_at
          from tenant.enquiries e
          where (e.tenant_id, e.contact_id) in (select d.tenant_id, d.contact_id
                                                from new_rows d join old_rows o
                                                  on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
                                                where o.disposed_at is null and d.disposed_at is not null)
          group by e.tenant_id, e.contact_id
          having bool_and(e.disposed_at is not null)) as last
    where c.tenant_id = last.tenant_id and c.contact_id = last.contact_id and c.disposed_at is null
    $q$;
    return null;
end
$$;
