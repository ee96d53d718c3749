-- id: reassignments_recorded
-- title: Every change of assignee is recorded with the old and the new assignee
-- requirement: Each change of an enquiry's assigned_to in the audit trail has its row in
--   tenant.assignments (same enquiry, time, previous and new assignee, and who assigned), and
--   each assignment row corresponds to such a change: the assignment history is complete
--   and invented by nobody.
-- severity: high
with changes as (
    select e.entry_id, e.tenant_id, e.record_id as enquiry_id, e.occurred_at, e.actor_id,
           (e.old_values ->> 'assigned_to')::uuid as from_staff_id, (e.row_data ->> 'assigned_to')::uuid as to_staff_id
    from audit.entries e
    where e.table_name = 'tenant.enquiries' and 'assigned_to' = any(e.changed_columns)
)
select format('audit.entries %s', c.entry_id) as object, c.tenant_id,
       jsonb_build_object('problem', 'an assignee change has no assignment row', 'enquiry_id', c.enquiry_id,
                          'from', c.from_staff_id, 'to', c.to_staff_id, 'at', c.occurred_at) as detail
from changes c
where not exists (select from tenant.assignments a
                  where a.tenant_id = c.tenant_id and a.enquiry_id = c.enquiry_id and a.assigned_at = c.occurred_at
                    and a.from_staff_id is not distinct from c.from_staff_id and a.to_staff_id = c.to_staff_id
                    and a.assigned_by = c.actor_id)
union all
select format('tenant.assignments %s', a.assignment_id), a.tenant_id,
       jsonb_build_object('problem', 'an assignment row matches no assignee change in the trail', 'enquiry_id', a.enquiry_id,
                          'from', a.from_staff_id, 'to', a.to_staff_id, 'at', a.assigned_at)
from tenant.assignments a
where not exists (select from changes c
                  where c.tenant_id = a.tenant_id and c.enquiry_id = a.enquiry_id and c.occurred_at = a.assigned_at
                    and c.from_staff_id is not distinct from a.from_staff_id and c.to_staff_id = a.to_staff_id)
