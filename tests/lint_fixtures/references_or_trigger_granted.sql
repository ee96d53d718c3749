-- expect: references-or-trigger-granted line 3
-- REFERENCES lets a caseworker probe other departments' keys through foreign-key checks.
grant references on tenant.enquiries to enquiries_caseworker;
