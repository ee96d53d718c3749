-- expect: policy-always-true line 3
-- Permissive and row-independent: caseworkers would read every department's notes.
create policy caseworker_read_everything on tenant.notes as permissive for select to enquiries_caseworker
    using (true);
