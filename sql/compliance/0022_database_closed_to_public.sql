-- id: database_closed_to_public
-- title: The database is closed to PUBLIC and to temporary objects
-- requirement: PUBLIC holds no privilege on the lab database (002: no CONNECT, and no TEMP,
--   since a temporary table with a trigger would let any role run code inside a trigger and
--   forge the assignment history), and no lab role but the owner may create anything in it.
--   A database copied with CREATE DATABASE ... TEMPLATE gets PostgreSQL's default ACL back
--   (PUBLIC: CONNECT, TEMP) and fails here until its grants are re-asserted.
-- severity: high
select format('database %s', d.datname) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', format('%s holds %s on the database', coalesce(r.rolname, 'PUBLIC'), a.privilege_type)) as detail
from pg_database d
cross join lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
left join pg_roles r on r.oid = a.grantee
where d.datname = current_database()
  and (a.grantee = 0
       or r.rolname like 'enquiries\_%' and r.rolname <> 'enquiries_owner' and a.privilege_type in ('CREATE', 'TEMPORARY'))
