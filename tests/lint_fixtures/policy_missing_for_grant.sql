-- expect: policy-missing-for-grant line 3
-- A grant outside core.table_privileges: no DELETE policy exists for it.
grant delete on tenant.notes to enquiries_supervisor;
