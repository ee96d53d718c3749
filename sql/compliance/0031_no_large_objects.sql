-- id: no_large_objects
-- title: No large objects, and no lab role can create one
-- requirement: A large object is storage outside every table: no RLS, no audit trail, no
--   retention, and its owner can GRANT it to PUBLIC, readable by every department. The lab
--   stores none; sql/036 revokes EXECUTE on the functions that create them (lo_creat,
--   lo_create, lo_from_bytea; lo_import is superuser-only) from PUBLIC. Any large object,
--   or any of those functions executable by a lab role, is a finding.
-- severity: high
select format('large object %s', m.oid) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', format('large object owned by %s', pg_get_userbyid(m.lomowner)),
                          'acl', m.lomacl::text) as detail
from pg_largeobject_metadata m
union all
select format('function %s', p.oid::regprocedure), null,
       jsonb_build_object('problem', format('%s may execute it', coalesce(r.rolname, 'PUBLIC')))
from pg_proc p
cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
left join pg_roles r on r.oid = a.grantee
where p.oid in ('pg_catalog.lo_creat(integer)'::regprocedure, 'pg_catalog.lo_create(oid)'::regprocedure,
                'pg_catalog.lo_from_bytea(oid, bytea)'::regprocedure, 'pg_catalog.lo_import(text)'::regprocedure,
                'pg_catalog.lo_import(text, oid)'::regprocedure)
  and (a.grantee = 0 or r.rolname like 'enquiries\_%')
