-- 022 audit query settings: the functions that read the whole audit trail run without JIT,
-- and the department snapshots sort in memory.
--
-- Guarantees (settings only; no function's result changes):
--   * audit.seal, audit.verify (017), audit.table_as_of, audit.table_changes,
--     audit.replay_mismatches (020), audit.sla_breaches, audit.records_without_live_row,
--     audit.cross_tenant_references and audit.soft_deleted_rows_in_views (021) run with
--     jit = off. Their queries span every monthly partition (about 120), so the planner's cost
--     crosses jit_above_cost and PostgreSQL compiles over a thousand functions per query
--     (about a second) for expressions that take microseconds. Measured on 200,000 generated
--     enquiries (1.76M entries): a department snapshot 4.2-5.2 s -> 2.9-3.3 s, verify 45 s -> 33 s
--     under the same load (docs/audit.md);
--   * audit.table_as_of and audit.table_changes may use 256MB to sort a department's update
--     entries (64MB spilled 84 MB to disk for 87,000 enquiries).

set local role enquiries_owner;

alter function audit.seal(integer, interval) set jit = off;
alter function audit.verify(bigint) set jit = off;
alter function audit.table_as_of(text, timestamptz) set jit = off;
alter function audit.table_as_of(text, timestamptz) set work_mem = '256MB';
alter function audit.table_changes(text, timestamptz, timestamptz) set jit = off;
alter function audit.table_changes(text, timestamptz, timestamptz) set work_mem = '256MB';
alter function audit.replay_mismatches() set jit = off;
alter function audit.sla_breaches(timestamptz) set jit = off;
alter function audit.records_without_live_row() set jit = off;
alter function audit.cross_tenant_references() set jit = off;
alter function audit.soft_deleted_rows_in_views() set jit = off;
