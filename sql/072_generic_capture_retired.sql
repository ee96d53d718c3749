-- 072 the generic audit capture is retired: every audit trigger verifies each row it records.
--
-- Why: audit.capture() (008), the first statement-level capture, no longer runs on any table:
-- each tenant table has its own generated capture (audit.install_capture) and the Citus
-- profile the row form audit.capture_row(). Only those two were given 036's per-row checks
-- (rows stamped by the verified actor and department, EL003; business time not later than
-- the wall clock, EL402, nor a stale transaction, EL403). The generic one was still a
-- SECURITY DEFINER capture that check 0003 accepted and the allow-lists named, so an owner
-- who attached it to a table would get a trail that no longer verified what it records.
--
-- Guarantees:
--   * audit.capture() stays (the Citus profile's 040 names it) but records nothing: a trigger
--     that runs it fails the statement (EL206), so a table captured by it cannot be written;
--   * it is no longer SECURITY DEFINER, and check 0003, check 0026 and the linter no longer
--     count it as a capture or allow it as a definer.
-- tests/test_integrity_hardening.py::test_the_retired_generic_capture_refuses_every_write.

-- Replaced as the migrating superuser (the writer has no CREATE on audit); the owner stays
-- enquiries_audit_writer.
create or replace function audit.capture() returns trigger
    language plpgsql security invoker
    set search_path = pg_catalog, pg_temp
    as $$
begin
    raise exception 'audit.capture() is retired: %.% must be captured by its generated capture',
        tg_table_schema, tg_table_name
        using errcode = 'EL206', hint = format('select audit.install_capture(%L)', tg_table_schema || '.' || tg_table_name);
end
$$;
comment on function audit.capture() is
    'Retired (072): refuses every write. Tables are captured by audit.install_capture''s generated functions, or audit.capture_row() on Citus.';
