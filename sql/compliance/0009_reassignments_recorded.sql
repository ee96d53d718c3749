-- id: reassignments_recorded
-- title: Every change of assignee is recorded with the old and the new assignee
-- requirement: Each change of an enquiry's assigned_to in the audit trail has its row in
--   tenant.assignments (same enquiry, time, previous and new assignee, and who assigned), and
--   each assignment row corresponds to such a change: the assignment history is complete
--   and invented by nobody.
-- severity: high
-- Written as anti-joins on tenant_id (not NOT EXISTS over a CTE), so Citus can run each
-- half on the colocated shards.
select format('audit.entries %s', e.entry_id) as object, e.tenant_id,
       jsonb_build_object('problem', 'an assignee change has no assignment row', 'enquiry_id', e.record_id,
                          'from', (e.old_values ->> 'assigned_to')::uuid, 'to', (e.row_data ->> 'assigned_to')::uuid,
                          'at', e.occurred_at) as detail
from audit.entries e
left join tenant.assignments a
       on a.tenant_id = e.tenant_id and a.enquiry_id = e.record_id and a.assigned_at = e.occurred_at
      and a.from_staff_id is not distinct from (e.old_values ->> 'assigned_to')::uuid
      and a.to_staff_id = (e.row_data ->> 'assigned_to')::uuid and a.assigned_by = e.actor_id
where e.table_name = 'tenant.enquiries' and 'assigned_to' = any(e.changed_columns) and a.tenant_id is null
union all
select format('tenant.assignments %s', a.assignment_id), a.tenant_id,
       jsonb_build_object('problem', 'an assignment row matches no assignee change in the trail', 'enquiry_id', a.enquiry_id,
                          'from', a.from_staff_id, 'to', a.to_staff_id, 'at', a.assigned_at)
from tenant.assignments a
left join audit.entries e
       on e.tenant_id = a.tenant_id and e.table_name = 'tenant.enquiries' and e.record_id = a.enquiry_id
      and e.occurred_at = a.assigned_at and 'assigned_to' = any(e.changed_columns)
      and (e.old_values ->> 'assigned_to')::uuid is not distinct from a.from_staff_id
      and (e.row_data ->> 'assigned_to')::uuid = a.to_staff_id
where e.tenant_id is null
