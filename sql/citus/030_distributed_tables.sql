-- citus 030 distributed tables: every tenant table and the audit trail, distributed by
-- tenant_id and colocated with the departments, parents before children, so every key,
-- foreign key and join stays inside one department's shard.
select create_distributed_table('tenant.departments', 'tenant_id');
select create_distributed_table('tenant.department_enquiry_types', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.teams', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.staff', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.contacts', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.enquiries', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.notes', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.assignments', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.escalations', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('tenant.legal_holds', 'tenant_id', colocate_with => 'tenant.departments');
select create_distributed_table('audit.entries', 'tenant_id', colocate_with => 'tenant.departments');
