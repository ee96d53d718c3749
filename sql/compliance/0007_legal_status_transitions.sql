-- id: legal_status_transitions
-- title: Every status change in the trail is a legal transition made by an allowed role
-- requirement: Every enquiry entered the workflow in the initial status, and every later
--   status change recorded in the audit trail is a row of core.status_transitions for the
--   staff role the change was made as (the workflow as data, 005).
-- severity: high
select format('audit.entries %s', h.entry_id) as object, h.tenant_id,
       jsonb_build_object(
           'problem', case
               when h.from_status is null then 'the enquiry was created in a status that is not the initial one'
               when not exists (select from core.status_transitions t where t.from_status = h.from_status and t.to_status = h.status)
                   then 'no role may make this transition'
               else 'this role may not make this transition' end,
           'enquiry_id', h.enquiry_id, 'from', h.from_status, 'to', h.status, 'role', h.db_role,
           'actor_id', h.actor_id, 'at', h.entered_at) as detail
from audit.enquiry_status_history h
left join core.staff_roles r on r.db_role = h.db_role
where case when h.from_status is null
           then h.status is distinct from (select s.status from core.statuses s where s.is_initial)
           else not exists (select from core.status_transitions t
                            where t.from_status = h.from_status and t.to_status = h.status and t.staff_role = r.staff_role)
      end
