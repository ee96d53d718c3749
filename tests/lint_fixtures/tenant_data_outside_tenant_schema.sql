-- expect: tenant-data-outside-tenant-schema line 3
-- Department data (it references enquiries) in core, where no RLS or audit reaches.
create table core.enquiry_tags (
    tenant_id   uuid not null,
    enquiry_id  uuid not null,
    tag         text not null,
    primary key (tenant_id, enquiry_id, tag),
    foreign key (tenant_id, enquiry_id) references tenant.enquiries (tenant_id, enquiry_id) on delete restrict
);
