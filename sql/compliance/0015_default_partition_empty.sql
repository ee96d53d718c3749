-- id: default_partition_empty
-- title: The default audit partition is empty
-- requirement: Every audit entry lands in its month's partition, created ahead by
--   audit.ensure_partitions; an entry in the DEFAULT partition means a partition was missing
--   (and blocks creating that month's partition later).
-- severity: low
select format('audit.entries %s', e.entry_id) as object, e.tenant_id,
       jsonb_build_object('problem', 'the entry is in the default partition: its month has no partition',
                          'occurred_at', e.occurred_at, 'table', e.table_name, 'record_id', e.record_id) as detail
from audit.entries_default e
