-- id: lab_roles_hold_no_defaults
-- title: No lab role holds per-role defaults (ALTER ROLE ... SET)
-- requirement: A role may always ALTER ROLE itself SET (optionally IN DATABASE) for any
--   setting it may SET: the application login could give every new connection a default
--   staff role, a context, default_transaction_read_only or statement_timeout (a persistent
--   denial of service), a search_path, or store text that every login can read in
--   pg_db_role_setting. PostgreSQL cannot refuse it (no event trigger fires for roles), so
--   `migrate` removes them and this check reports any set since, in any database.
-- severity: high
select format('role %s', r.rolname) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', format('%s holds defaults %s', r.rolname,
                                            case when s.setdatabase = 0 then 'in every database'
                                                 else format('in database %s', coalesce(d.datname, s.setdatabase::text)) end),
                          'settings', to_jsonb(s.setconfig)) as detail
from pg_db_role_setting s
join pg_roles r on r.oid = s.setrole
left join pg_database d on d.oid = s.setdatabase
where r.rolname like 'enquiries\_%'
order by r.rolname, s.setdatabase
