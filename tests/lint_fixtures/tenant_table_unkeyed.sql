-- expect: tenant-table-unkeyed line 4
-- A tenant table with tenant_id, RLS forced and audited, but with no primary key, no index
-- leading with tenant_id and no key to the departments.
create table tenant.attachments (tenant_id uuid not null, attachment_id uuid not null, file_name text not null);
alter table tenant.attachments enable row level security;
alter table tenant.attachments force row level security;
create trigger z_audit_row after insert or update on tenant.attachments
    for each row execute function audit.capture_row('attachment_id');
