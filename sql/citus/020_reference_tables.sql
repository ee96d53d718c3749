-- citus 020 reference tables: core is shared by every department; a copy on every node lets
-- tenant tables keep their foreign keys to it and join it locally.
select create_reference_table('core.statuses');
select create_reference_table('core.priorities');
select create_reference_table('core.channels');
select create_reference_table('core.enquiry_types');
select create_reference_table('core.staff_roles');
select create_reference_table('core.status_transitions');
select create_reference_table('core.table_privileges');
select create_reference_table('core.retention_rules');
