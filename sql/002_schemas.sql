-- 002 schemas: where things live, and who may create anything at all.
--
-- Guarantees:
--   * core   : shared reference data and the workflow definition (not tenant-scoped);
--     tenant : the departments and everything department-scoped (RLS on every table);
--     audit  : the immutable audit trail;
--     app    : the read views (security_invoker) that the API and notebooks use.
--   * every schema is owned by enquiries_owner; PUBLIC can create nothing, not even
--     temporary tables (a temporary table with a trigger would be a way to run code
--     inside a trigger context, which the assignment-history rule relies on).
--   * this database is not reachable by PUBLIC; the two lab logins may connect.

do $db$
begin
    execute format('revoke all on database %I from public', current_database());
    execute format('grant connect on database %I to enquiries_app, enquiries_loader', current_database());
    execute format('grant connect, create on database %I to enquiries_owner', current_database());
end
$db$;

revoke create on schema public from public;

create schema core   authorization enquiries_owner;
create schema tenant authorization enquiries_owner;
create schema audit  authorization enquiries_owner;
create schema app    authorization enquiries_owner;

comment on schema core   is 'Shared reference data and the workflow definition, read by triggers and the generator.';
comment on schema tenant is 'Departments (tenants) and everything department-scoped; RLS enabled and forced on every table.';
comment on schema audit  is 'The append-only audit trail; nobody, the owner included, can change or remove an entry.';
comment on schema app    is 'Read views for the application and notebooks (security_invoker, soft-deleted rows hidden).';

-- Functions are executable by PUBLIC by default; ours are granted explicitly instead.
alter default privileges for role enquiries_owner revoke execute on functions from public;
