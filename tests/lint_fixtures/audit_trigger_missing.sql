-- expect: audit-trigger-missing line 3
-- Updates of notes would no longer be audited.
drop trigger z_audit_update on tenant.notes;
