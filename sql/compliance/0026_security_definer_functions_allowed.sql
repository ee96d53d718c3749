-- id: security_definer_functions_allowed
-- title: The only SECURITY DEFINER functions are the audit captures, with a pinned search_path
-- requirement: A SECURITY DEFINER function runs with its owner's rights, so the only ones in
--   the database (any schema but PostgreSQL's own) are the allow-list: the audit captures,
--   audit.capture_row() and the per-table audit.capture_<table>() that
--   audit.install_capture generates (008), owned by enquiries_audit_writer (who may only
--   insert into the trail). Each pins its search_path, pg_temp last and neither public nor
--   $user in it (so no object of the caller's can shadow one it uses), and neither PUBLIC nor
--   any lab role but the owner and its writer may execute it (only triggers call them). On
--   Citus, audit.verified_login() (sql/citus/092) is the one more: owned by the same writer,
--   callable by every role, since it reads only the caller's own login.
-- severity: critical
with definer as (
    select p.oid, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as name, n.nspname, p.proname, p.pronargs,
           pg_get_userbyid(p.proowner) as owner, p.proowner, p.proacl,
           (select substr(c, 13) from unnest(p.proconfig) c where c like 'search\_path=%' limit 1) as search_path
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
),
allowed as (
    select 'audit'::name as nspname, 'capture_row'::name as proname, false as any_caller
    union all select 'audit', ('capture_' || split_part(a.table_name, '.', 2))::name, false from audit.audited_tables a
    -- Citus profile (sql/citus/092): the shards' login, verified with a key only its owner reads;
    -- every role's triggers ask it, and it only ever answers with the caller's own login
    union all select 'audit', 'verified_login', true
)
select d.name as object, null::uuid as tenant_id, jsonb_build_object('problem', x.problem, 'owner', d.owner,
                                                                       'search_path', d.search_path) as detail
from definer d
cross join lateral (values
    (case when not exists (select from allowed a where a.nspname = d.nspname and a.proname = d.proname) or d.pronargs <> 0
          then 'the function is SECURITY DEFINER but not on the allow-list' end),
    (case when d.owner <> 'enquiries_audit_writer' then 'the function is not owned by enquiries_audit_writer' end),
    (case when d.search_path is null then 'the function does not pin its search_path'
          when trim(reverse(split_part(reverse(d.search_path), ',', 1))) <> 'pg_temp'
               or d.search_path ~ '(^|[, ])("?public"?|"?\$user"?)([, ]|$)'
          then 'the pinned search_path does not end with pg_temp or names public or $user' end)
) as x(problem)
where x.problem is not null
union all
select d.name, null::uuid,
       jsonb_build_object('problem', 'a role other than the owner may execute a SECURITY DEFINER function',
                          'grantee', coalesce(r.rolname, 'PUBLIC'))
from definer d
cross join lateral aclexplode(coalesce(d.proacl, acldefault('f', d.proowner))) a
left join pg_roles r on r.oid = a.grantee
where a.privilege_type = 'EXECUTE' and a.grantee <> d.proowner
  and coalesce(r.rolname, 'PUBLIC') <> 'enquiries_owner'
  and not exists (select from allowed w where w.nspname = d.nspname and w.proname = d.proname and w.any_caller)
