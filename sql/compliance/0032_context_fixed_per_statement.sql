-- id: context_fixed_per_statement
-- title: No lab role can change its role or context inside a statement (set_config)
-- requirement: The audit capture verifies the acting role and user once per statement;
--   set_config() evaluated in a RETURNING list, a CTE, a SET list or VALUES would change
--   them between the rows (a made-up actor in the trail, a supervisor's step recorded as a
--   caseworker's). sql/036 revokes EXECUTE on set_config from PUBLIC: the context is set
--   with SET LOCAL, a statement of its own. PUBLIC or a lab role able to execute it is a
--   finding.
-- severity: critical
select format('function %s', p.oid::regprocedure) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', format('%s may execute it', coalesce(r.rolname, 'PUBLIC'))) as detail
from pg_proc p
cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
left join pg_roles r on r.oid = a.grantee
where p.oid = 'pg_catalog.set_config(text, text, boolean)'::regprocedure
  and (a.grantee = 0 or r.rolname like 'enquiries\_%')
