-- id: no_privileged_lab_roles
-- title: No lab role is, or is a member of, a superuser or BYPASSRLS role
-- requirement: Superusers and BYPASSRLS roles ignore every policy, forced or not. No lab role
--   (enquiries_*) has SUPERUSER or BYPASSRLS, nor is a member (directly or through other
--   roles) of a role that has: department isolation would not apply to it.
-- severity: critical
select format('role %s', r.rolname) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', x.problem, 'via', x.via) as detail
from pg_roles r
cross join lateral (
    select case when r.rolsuper then 'the lab role is a superuser' else 'the lab role has BYPASSRLS' end, null::name
    where r.rolsuper or r.rolbypassrls
    union all   -- (pg_has_role is true of every role for a superuser: those are reported above)
    select case when s.rolsuper then 'the lab role is a member of a superuser role'
                else 'the lab role is a member of a BYPASSRLS role' end, s.rolname
    from pg_roles s
    where not r.rolsuper and s.oid <> r.oid and (s.rolsuper or s.rolbypassrls) and pg_has_role(r.oid, s.oid, 'MEMBER')
) as x(problem, via)
where r.rolname like 'enquiries\_%'
