-- 032 enquiry updates stay on their page: the status index goes, and enquiry pages keep room
-- for the next version of their rows.
--
-- Why: every workflow step is an UPDATE of tenant.enquiries. An UPDATE that changes an indexed
-- column, or finds no room on the row's page, writes the new version elsewhere and a new entry
-- in every index of the table (seven here), and the whole ~1 KB row goes to the WAL again.
-- The status changes at every step, and (tenant_id, status, received_at) was indexed for the
-- supervisor dashboard, but no shipped query uses that index: the dashboard counts all of a
-- department's enquiries (a sequential or bitmap scan), the queue uses the assignee index, the
-- month report the type index (plans in docs/benchmarks.md; tests/test_plan_guards.py checks
-- what the patterns need). Without it, a step that changes neither the assignee nor closed_at
-- (starting work, waiting on the citizen, resolving) can be a HOT update: the new version on
-- the same page, no index entry, only the changed bytes logged. A fill factor of 70 leaves the
-- room on each page for that; pruning frees a page's dead versions for the next one.
-- Measured side by side on 100,000 enquiries (benchmarks/generator_io.py): WAL records per
-- enquiry 93.4 -> 76.8, server CPU ~11% lower, the enquiries heap a quarter smaller.
--
-- Guarantees: none changes; the status is still checked by the workflow trigger (029, 031).

set local role enquiries_owner;

drop index tenant.enquiries_status;
alter table tenant.enquiries set (fillfactor = 70);
