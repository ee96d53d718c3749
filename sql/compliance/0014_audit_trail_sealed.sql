-- id: audit_trail_sealed
-- title: Every audit entry older than a day is sealed
-- requirement: Entries are sealed in batches off the write path (`enquiries-lab audit seal`,
--   run at least daily); anything recorded more than 24 hours ago (wall clock, recorded_at)
--   is covered by a seal, so tampering with it would be detected.
-- severity: medium
select format('audit.entries %s to %s', min(u.first_entry_id), max(u.last_entry_id)) as object, u.tenant_id,
       jsonb_build_object('problem', 'entries recorded more than 24 hours ago are not sealed',
                          'entries', sum(u.entries), 'oldest_recorded_at', min(u.oldest_recorded_at),
                          'remedy', 'enquiries-lab audit seal') as detail
from audit.unsealed_summary(now() - interval '24 hours') u   -- per entry-id block, after its last seal
group by u.tenant_id
