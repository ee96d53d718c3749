-- id: escalations_approved
-- title: Every escalation has a supervisor's approval
-- requirement: Every move into a status that needs approval used an escalation approved
--   before the move (the k-th such move of an enquiry, the k-th approval), and every
--   escalation decision was made by a supervisor who did not request it (four eyes).
-- severity: high
select format('audit.entries %s', x.entry_id) as object, x.tenant_id,
       jsonb_build_object(
           'problem', case
               when x.escalation_id is null then 'escalated without an approved escalation'
               when x.approved_at > x.escalated_at then 'escalated before the approval was given' end,
           'enquiry_id', x.enquiry_id, 'to', x.status, 'escalated_at', x.escalated_at, 'escalated_by', x.escalated_by,
           'escalation_id', x.escalation_id, 'approved_at', x.approved_at) as detail
from audit.escalation_transitions x
where x.escalation_id is null or x.approved_at > x.escalated_at
union all
select format('audit.entries %s', d.entry_id), d.tenant_id,
       jsonb_build_object(
           'problem', case when d.actor_id = x.requested_by then 'the requester decided their own escalation'
                           else 'the escalation was decided by a role other than supervisor' end,
           'escalation_id', x.escalation_id, 'enquiry_id', x.enquiry_id, 'decision', d.row_data ->> 'decision',
           'decided_by', d.actor_id, 'role', d.db_role, 'requested_by', x.requested_by)
from audit.entries d
join tenant.escalations x on x.tenant_id = d.tenant_id and x.escalation_id = d.record_id
where d.table_name = 'tenant.escalations' and 'decision' = any(d.changed_columns)
  and (d.db_role is distinct from (select r.db_role from core.staff_roles r where r.staff_role = 'supervisor')
       or d.actor_id = x.requested_by)
