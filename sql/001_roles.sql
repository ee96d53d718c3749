-- 001 roles: the cluster-wide roles the lab's security model is built on.
--
-- Guarantees:
--   * every role exists once per server; re-running (or migrating a second lab database on
--     the same server, even concurrently) changes nothing;
--   * no role here is a superuser, has BYPASSRLS, or can create roles/databases, whatever
--     state an earlier run left it in (attributes are re-asserted every time);
--   * the two logins (enquiries_app, enquiries_loader) have no privileges of their own
--     (NOINHERIT): a session must SET ROLE to a staff role before it can touch any data.
--
-- Role                         | login | what it is for
-- enquiries_owner              | no    | owns every object; subject to RLS (FORCE) like everyone
-- enquiries_audit_writer       | no    | owns the audit capture functions; may only INSERT audit entries
-- enquiries_caseworker         | no    | works the department's queue
-- enquiries_supervisor         | no    | reassigns, approves escalations, places legal holds
-- enquiries_auditor            | no    | reads the department's data and audit trail, changes nothing
-- enquiries_retention_officer  | no    | disposes of records past retention (anonymises in place)
-- enquiries_provisioner        | no    | onboards departments, their enquiry types, teams and staff
-- enquiries_history_loader     | no    | marker: a login in it may set business time (history loads)
-- enquiries_app                | yes   | the application's login; may SET ROLE to the four staff roles
-- enquiries_loader             | yes   | the generator's login: staff roles + provisioner + history loader

do $roles$
declare
    r record;
begin
    for r in
        select * from (values
            ('enquiries_owner',             'nologin noinherit'),
            ('enquiries_audit_writer',      'nologin noinherit'),
            ('enquiries_caseworker',        'nologin noinherit'),
            ('enquiries_supervisor',        'nologin noinherit'),
            ('enquiries_auditor',           'nologin noinherit'),
            ('enquiries_retention_officer', 'nologin noinherit'),
            ('enquiries_provisioner',       'nologin noinherit'),
            ('enquiries_history_loader',    'nologin noinherit'),
            ('enquiries_app',               'login noinherit'),
            ('enquiries_loader',            'login noinherit')
        ) as roles(name, options)
    loop
        if not exists (select from pg_roles where rolname = r.name) then
            begin
                execute format('create role %I %s', r.name, r.options);
            exception when duplicate_object or unique_violation then
                null;  -- another database's migration created it a moment ago
            end;
        end if;
        execute format('alter role %I %s nosuperuser nobypassrls nocreaterole nocreatedb noreplication',
                       r.name, r.options);
    end loop;
end
$roles$;

-- Memberships: the logins reach the staff roles only through SET ROLE (NOINHERIT above).
do $memberships$
begin
    grant enquiries_caseworker, enquiries_supervisor, enquiries_auditor, enquiries_retention_officer
        to enquiries_app, enquiries_loader;
    grant enquiries_provisioner, enquiries_history_loader to enquiries_loader;
exception when unique_violation then
    null;  -- granted concurrently by another database's migration
end
$memberships$;
