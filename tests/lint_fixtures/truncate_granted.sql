-- expect: truncate-granted line 3
-- TRUNCATE ignores RLS and row triggers: every department's notes, gone, unaudited.
grant truncate on tenant.notes to enquiries_supervisor;
