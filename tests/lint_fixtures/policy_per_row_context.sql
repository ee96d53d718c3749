-- expect: policy-per-row-context line 3
-- The tenant check without the sub-select: evaluated for every row, and no index condition.
create policy supervisor_select_direct on tenant.notes as permissive for select to enquiries_supervisor
    using (tenant_id = tenant.current_tenant_id());
