-- expect: policy-per-row-context line 4
-- The context read in the policy itself: current_setting() and a cast for every row it filters,
-- instead of the one inlinable context function (tenant.current_tenant_id(), sql/060).
create policy supervisor_select_direct on tenant.notes as permissive for select to enquiries_supervisor
    using (tenant_id = nullif(current_setting('enquiries.tenant_id', true), '')::uuid);
