-- expect: missing-tenant-id line 4
-- A tenant table with RLS forced and audited, but with no tenant_id: nothing can separate
-- departments. (No primary key, so no other rule has anything to say.)
create table tenant.attachments (attachment_id uuid not null, file_name text not null);
alter table tenant.attachments enable row level security;
alter table tenant.attachments force row level security;
create trigger z_audit_row after insert or update on tenant.attachments
    for each row execute function audit.capture_row('attachment_id');
