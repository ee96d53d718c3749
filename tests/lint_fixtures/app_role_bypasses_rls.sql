-- expect: app-role-bypasses-rls line 4
-- Roles are cluster-wide: the linter applies this in a transaction that is rolled back, so
-- the shadow server's real role is never changed.
alter role enquiries_auditor bypassrls;
