-- citus 060 internal roles log in between nodes: Citus opens its connections to the workers
-- as the current role, so after SET LOCAL ROLE (the migrations' enquiries_owner, act_as's staff
-- roles and the provisioner, the audit capture's audit writer) the worker must accept a login
-- as that role, or every distributed statement fails ("not permitted to log in").
-- runs after: 001
--
-- Guarantees (the role model on Citus, docs/scale-out.md and docs/security-model.md):
--   * the internal roles (owner, audit writer, staff roles, provisioner, history loader) have
--     LOGIN, and nothing else changes: still no superuser, BYPASSRLS, CREATEROLE, CREATEDB or
--     replication, still NOINHERIT, still no password here;
--   * who may actually log in where is pg_hba.conf's job, which the operator sets (documented):
--     on the coordinator only enquiries_app, enquiries_loader and the admin are admitted from
--     clients; on every node the internal roles are admitted only from the cluster's node
--     addresses with the inter-node credentials (citus.authinfo or certificates);
--   * ALTER ROLE on the coordinator propagates to every node (roles are cluster-wide).
-- sql/001 re-asserts NOLOGIN when it runs for another database on the same cluster; that
-- database's own profile run (this file, right after 001) restores LOGIN.
do $roles$
declare
    r name;
begin
    foreach r in array array['enquiries_owner', 'enquiries_audit_writer', 'enquiries_caseworker',
                             'enquiries_supervisor', 'enquiries_auditor', 'enquiries_retention_officer',
                             'enquiries_provisioner', 'enquiries_history_loader']::name[]
    loop
        execute format('alter role %I login', r);
    end loop;
end
$roles$;
