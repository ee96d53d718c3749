-- expect: index-not-leading-tenant-id line 3
-- tenant_id is there, but not first.
create index notes_direction on tenant.notes (direction, tenant_id);
