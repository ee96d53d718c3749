-- 024 disposal cascade, set-based: one statement cascades every disposal it made.
--
-- The row trigger of 014 ran two UPDATEs per disposed enquiry, and each of them fired the
-- audit capture of notes and contacts as a statement of its own: ~1.2 ms per disposal,
-- measured in generation, where the retention officer disposes of hundreds at once.
--
-- Guarantees (unchanged from 014, now per statement):
--   * every note of an enquiry the statement disposed of is disposed of with it, at the
--     enquiry's disposal time and business time;
--   * a contact is disposed of once none of their enquiries is live, stamped with the latest
--     disposal and business time of their enquiries;
--   * the cascade writes the same rows and the same audit entries as the row form
--     (tenant.cascade_disposal, 014), which the Citus profile keeps (sql/citus/050).

set local role enquiries_owner;

create function tenant.cascade_disposals() returns trigger
    language plpgsql as $$
begin
    -- Most updates dispose of nothing: one look at the transition tables and out.
    if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
                   where o.disposed_at is null and n.disposed_at is not null) then
        return null;
    end if;
    update tenant.notes n set disposed_at = d.disposed_at, updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and n.tenant_id = d.tenant_id and n.enquiry_id = d.enquiry_id and n.disposed_at is null;
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

drop trigger d_cascade_disposal on tenant.enquiries;
create trigger d_cascade_disposals after update on tenant.enquiries
    referencing old table as old_rows new table as new_rows
    for each statement execute function tenant.cascade_disposals();
