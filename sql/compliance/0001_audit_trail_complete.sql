-- id: audit_trail_complete
-- title: Every record has a complete audit trail that rebuilds it exactly
-- requirement: Every record's creation and every change to it are in the audit trail. Each
--   record's trail starts with exactly one insert; an enquiry has one entry per version (every
--   change bumps the version); and replaying the trail (folding each record's entries in
--   order, audit.replay_mismatches) gives exactly the live row, column for column.
-- severity: critical
select format('%s %s', m.table_name, m.record_id) as object,
       m.tenant_id,
       jsonb_build_object(
           'problem', case when m.replayed is null then 'the record has no audit entries'
                           else 'replaying the trail does not give the live row' end,
           'columns', to_jsonb(m.differing_columns),
           'live', (select jsonb_object_agg(k, m.live -> k) from unnest(m.differing_columns) k),
           'replayed', (select jsonb_object_agg(k, m.replayed -> k) from unnest(m.differing_columns) k)) as detail
from audit.replay_mismatches() m
union all
select format('%s %s', t.table_name, t.record_id), t.tenant_id,
       jsonb_build_object('problem', 'the trail does not start with exactly one insert',
                          'first_action', t.first_action, 'inserts', t.inserts)
from (select e.tenant_id, e.table_name, e.record_id,
             (array_agg(e.action order by e.occurred_at, e.entry_id))[1] as first_action,
             count(*) filter (where e.action = 'insert') as inserts
      from audit.entries e
      group by e.tenant_id, e.table_name, e.record_id) t
where t.first_action <> 'insert' or t.inserts <> 1
union all
select format('tenant.enquiries %s', q.enquiry_id), q.tenant_id,
       jsonb_build_object('problem', 'changes are missing from the trail: an enquiry has one entry per version',
                          'reference', q.reference, 'version', q.version, 'entries', coalesce(c.entries, 0))
from tenant.enquiries q
left join (select e.tenant_id, e.record_id, count(*) as entries
           from audit.entries e where e.table_name = 'tenant.enquiries'
           group by e.tenant_id, e.record_id) c on c.tenant_id = q.tenant_id and c.record_id = q.enquiry_id
where coalesce(c.entries, 0) <> q.version
