-- 019 workflow row forms: the assignment history written by a row trigger, for platforms
-- where statement triggers cannot read transition tables (the Citus profile, sql/citus/040).
--
-- Guarantees: tenant.record_assignment_row() writes exactly the row that
-- tenant.record_assignments() (013) writes for an enquiry whose assignee changed, with the
-- same deterministic id; single-node PostgreSQL keeps the set-based statement trigger.

set local role enquiries_owner;

create function tenant.record_assignment_row() returns trigger
    language plpgsql as $$
begin
    insert into tenant.assignments (tenant_id, assignment_id, enquiry_id, from_staff_id, to_staff_id, assigned_at,
                                    assigned_by, created_at, updated_at)
    values (new.tenant_id, md5(new.enquiry_id::text || ':' || new.version)::uuid, new.enquiry_id, old.assigned_to,
            new.assigned_to, new.updated_at, new.updated_by, new.updated_at, new.updated_at);
    return null;
end
$$;
