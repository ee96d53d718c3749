-- id: no_privileged_lab_roles
-- title: No lab role is, or is a member of, a superuser or BYPASSRLS role
-- requirement: Superusers and BYPASSRLS roles ignore every policy, forced or not. No lab role
--   (enquiries_*) has SUPERUSER or BYPASSRLS, nor is a member (directly or through other
--   roles) of a role that has: department isolation would not apply to it.
-- severity: critical
select format('role %s', r.rolname) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', case
                              when r.oid = s.oid and s.rolsuper then 'the lab role is a superuser'
                              when r.oid = s.oid then 'the lab role has BYPASSRLS'
                              when s.rolsuper then 'the lab role is a member of a superuser role'
                              else 'the lab role is a member of a BYPASSRLS role' end,
                          'via', case when r.oid <> s.oid then s.rolname end) as detail
from pg_roles r
join pg_roles s on (s.rolsuper or s.rolbypassrls) and pg_has_role(r.oid, s.oid, 'MEMBER')
where r.rolname like 'enquiries\_%'
