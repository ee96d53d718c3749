-- expect: view-without-security-invoker line 3
-- Runs as its owner: the caller's RLS does not apply.
create view app.open_enquiries as
    select tenant_id, enquiry_id, reference, status from tenant.enquiries where closed_at is null;
