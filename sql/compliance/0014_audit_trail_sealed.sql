-- id: audit_trail_sealed
-- title: Every audit entry older than a day is sealed
-- requirement: Entries are sealed in batches off the write path (`enquiries-lab audit seal`,
--   run at least daily); anything recorded more than 24 hours ago (wall clock, recorded_at)
--   is covered by a seal, so tampering with it would be detected.
-- severity: medium
select format('audit.entries %s to %s', min(e.entry_id), max(e.entry_id)) as object, e.tenant_id,
       jsonb_build_object('problem', 'entries recorded more than 24 hours ago are not sealed',
                          'entries', count(*), 'oldest_recorded_at', min(e.recorded_at),
                          'remedy', 'enquiries-lab audit seal') as detail
from audit.unsealed_ranges() r   -- per entry-id block, the ids after its last seal
join audit.entries e on e.entry_id between r.first_entry_id and r.last_entry_id
where e.recorded_at < now() - interval '24 hours'
group by e.tenant_id
