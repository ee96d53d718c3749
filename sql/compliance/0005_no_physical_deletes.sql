-- id: no_physical_deletes
-- title: Nothing was ever physically deleted
-- requirement: Records are soft-deleted or anonymised, never removed: every record that has
--   audit entries still has its live row in its department (audit.records_without_live_row),
--   and the statistics collector has counted no deleted row in any tenant or audit table
--   since its counters were last reset (pg_stat_all_tables.n_tup_del; deletes that were
--   attempted and rolled back after reaching the table count too).
-- severity: critical
select format('%s %s', r.table_name, r.record_id) as object, r.tenant_id,
       jsonb_build_object('problem', 'the record has audit entries but no live row',
                          'entries', r.entries, 'last_entry_id', r.last_entry_id, 'last_change', r.last_occurred_at) as detail
from audit.records_without_live_row() r
union all
select format('%I.%I', s.schemaname, s.relname), null::uuid,
       jsonb_build_object('problem', 'rows were deleted from this table', 'rows_deleted', s.n_tup_del,
                          'counted_since', (select d.stats_reset from pg_stat_database d where d.datname = current_database()))
from pg_stat_all_tables s
where s.schemaname in ('tenant', 'audit') and s.n_tup_del > 0
