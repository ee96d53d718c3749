-- 028 implied tenant foreign keys dropped: a table whose composite foreign key already reaches
-- another tenant table no longer checks tenant_id against tenant.departments as well.
--
-- tenant.enquiries references (tenant_id, contact_id) in tenant.contacts, and notes,
-- assignments, escalations and legal holds reference (tenant_id, enquiry_id) in
-- tenant.enquiries. Those keys are NOT NULL, so every row passes the composite check, and the
-- row it finds carries the same tenant_id, which its own table checked against
-- tenant.departments when it was written (contacts keep that key, and so do staff and
-- teams). The single-column key said nothing the composite one did not; its only effect was
-- one more foreign-key check, a query with a row lock on the department row, for every row
-- inserted: ~4.5% of the generator's server instructions (docs/benchmarks.md, Generator).
--
-- Guarantees: unchanged. A row still cannot name a department that does not exist (its
-- composite key finds no row there) or another department's row (23503, "not present", as
-- before); physical deletes are refused for everyone (011), so no department can disappear
-- from under its rows; tenant_id never changes (EL204). Tested by
-- tests/test_isolation.py::test_a_row_cannot_name_a_department_that_does_not_exist.

set local role enquiries_owner;

alter table tenant.enquiries   drop constraint enquiries_tenant_id_fkey;    -- via contacts
alter table tenant.notes       drop constraint notes_tenant_id_fkey;        -- via enquiries
alter table tenant.assignments drop constraint assignments_tenant_id_fkey;  -- via enquiries
alter table tenant.escalations drop constraint escalations_tenant_id_fkey;  -- via enquiries
alter table tenant.legal_holds drop constraint legal_holds_tenant_id_fkey;  -- via enquiries
