-- id: retention_respected
-- title: Nothing was disposed of before seven years or under a legal hold
-- requirement: An enquiry is disposed of only once its retention period (core.retention_rules)
--   has passed since it closed (or, for a soft-deleted enquiry that never closed, since its
--   deletion), never while a legal hold was active, only by a retention officer, and
--   completely (its personal data replaced); a note or contact is disposed of only with its
--   enquiry (a contact with the last of theirs).
-- severity: critical
-- Written as joins on tenant_id grouped by the enquiry's key (no correlated sub-queries), so
-- Citus can run it on the colocated shards.
with disposed as (
    select q.tenant_id, q.enquiry_id, q.reference, q.closed_at, q.deleted_at, q.disposed_at, q.disposed_by,
           q.subject, q.body,
           bool_or(h.tenant_id is not null) as held,
           (array_agg(d.db_role order by d.occurred_at, d.entry_id) filter (where d.entry_id is not null))[1] as disposed_as
    from tenant.enquiries q
    left join tenant.legal_holds h
           on h.tenant_id = q.tenant_id and h.enquiry_id = q.enquiry_id and h.placed_at <= q.disposed_at
          and (h.released_at is null or h.released_at > q.disposed_at)
          and (h.deleted_at is null or h.deleted_at > q.disposed_at)
    left join audit.entries d
           on d.tenant_id = q.tenant_id and d.table_name = 'tenant.enquiries' and d.record_id = q.enquiry_id
          and d.action = 'dispose'
    where q.disposed_at is not null
    group by q.tenant_id, q.enquiry_id
),
judged as (
    select q.*, unnest(array[
        case when coalesce(q.closed_at, q.deleted_at) is null then 'disposed of although it was never closed or deleted'
             when q.disposed_at < coalesce(q.closed_at, q.deleted_at) + r.retention_period
                 then 'disposed of before its retention period ended' end,
        case when q.held then 'disposed of while a legal hold was active' end,
        case when q.disposed_as is distinct from o.db_role
             then format('disposed of as %s, not by a retention officer', coalesce(q.disposed_as::text, 'nobody on record')) end,
        case when q.subject <> '[disposed]' or q.body <> '[disposed]' then 'personal data is still present after disposal' end
    ]) as problem
    from disposed q
    cross join core.retention_rules r
    left join core.staff_roles o on o.staff_role = 'retention_officer'
    where r.rule = 'enquiry_records'
)
select format('tenant.enquiries %s', q.enquiry_id) as object, q.tenant_id,
       jsonb_build_object('problem', q.problem, 'reference', q.reference, 'closed_at', q.closed_at,
                          'deleted_at', q.deleted_at, 'disposed_at', q.disposed_at, 'disposed_by', q.disposed_by) as detail
from judged q
where q.problem is not null
union all
select format('tenant.notes %s', n.note_id), n.tenant_id,
       jsonb_build_object('problem', 'the note was disposed of but its enquiry was not', 'enquiry_id', n.enquiry_id,
                          'disposed_at', n.disposed_at)
from tenant.notes n
left join tenant.enquiries q on q.tenant_id = n.tenant_id and q.enquiry_id = n.enquiry_id
where n.disposed_at is not null and q.disposed_at is null
union all
select format('tenant.contacts %s', c.contact_id), c.tenant_id,
       jsonb_build_object('problem', 'the contact was disposed of while one of their enquiries was not',
                          'disposed_at', c.disposed_at)
from tenant.contacts c
join tenant.enquiries q on q.tenant_id = c.tenant_id and q.contact_id = c.contact_id
where c.disposed_at is not null and q.disposed_at is null
group by c.tenant_id, c.contact_id
