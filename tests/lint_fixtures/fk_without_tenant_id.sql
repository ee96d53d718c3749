-- expect: fk-without-tenant-id line 5
-- Both key columns are there, but tenant_id is paired with enquiry_id: a note could point
-- at another department's enquiry.
alter table tenant.notes add column related_enquiry uuid;
alter table tenant.notes add constraint notes_related_fkey
    foreign key (tenant_id, related_enquiry) references tenant.enquiries (enquiry_id, tenant_id) on delete restrict;
create index notes_related on tenant.notes (tenant_id, related_enquiry);
