-- id: disposed_records_anonymised_and_frozen
-- title: A disposed enquiry keeps no free text and nothing was attached to it afterwards
-- requirement: Disposal (sql/010, sql/037) replaces every free-text field that can name a
--   person: besides the enquiry, its notes and its contact, its escalations' reasons and
--   decision notes and its legal holds' reasons. Nothing may be added to a disposed enquiry
--   or contact afterwards: no note, escalation or legal hold created (or moved onto it) after
--   its disposal, no enquiry opened for a disposed contact (docs/security-model.md, claims
--   33-34). A database disposed of before sql/037 reports the escalations and holds it left.
-- severity: high
with disposed as (
    select e.tenant_id, e.enquiry_id, e.contact_id, e.disposed_at from tenant.enquiries e where e.disposed_at is not null
)
select format('tenant.escalations %s', x.escalation_id) as object, x.tenant_id,
       jsonb_build_object('problem', case when x.created_at > d.disposed_at then 'escalation added after the enquiry was disposed of'
                                          else 'escalation text kept after the enquiry was disposed of' end,
                          'enquiry_id', d.enquiry_id) as detail
from tenant.escalations x join disposed d on d.tenant_id = x.tenant_id and d.enquiry_id = x.enquiry_id
where x.created_at > d.disposed_at or x.reason <> '[disposed]' or coalesce(x.decision_note, '[disposed]') <> '[disposed]'
union all
select format('tenant.legal_holds %s', h.legal_hold_id), h.tenant_id,
       jsonb_build_object('problem', case when h.created_at > d.disposed_at then 'legal hold placed after the enquiry was disposed of'
                                          else 'legal hold reason kept after the enquiry was disposed of' end,
                          'enquiry_id', d.enquiry_id)
from tenant.legal_holds h join disposed d on d.tenant_id = h.tenant_id and d.enquiry_id = h.enquiry_id
where h.created_at > d.disposed_at or h.reason <> '[disposed]'
union all
select format('tenant.notes %s', n.note_id), n.tenant_id,
       jsonb_build_object('problem', 'note of a disposed enquiry that is not disposed of', 'enquiry_id', d.enquiry_id)
from tenant.notes n join disposed d on d.tenant_id = n.tenant_id and d.enquiry_id = n.enquiry_id
where n.disposed_at is null
union all
select format('tenant.enquiries %s', q.enquiry_id), q.tenant_id,
       jsonb_build_object('problem', 'enquiry opened for a contact disposed of before', 'contact_id', c.contact_id)
from tenant.enquiries q join tenant.contacts c on c.tenant_id = q.tenant_id and c.contact_id = q.contact_id
where c.disposed_at is not null and q.created_at > c.disposed_at
