-- 002 schemas and context: schemas and the per-transaction context (department, acting user, business time).
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 002_schemas.sql =====
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
--
-- ===== from 003_context.sql =====
-- 003 context: who is acting, for which department, and at what business time.
--
-- Guarantees:
--   * context lives in three transaction-scoped settings, set together in one place
--     (enquiries_lab.session.act_as) with SET LOCAL, so nothing survives COMMIT/ROLLBACK
--     and it is safe behind a pooler in transaction mode (and reaches Citus shards):
--         enquiries.tenant_id      the department (uuid)
--         enquiries.actor_id       the acting staff member (uuid)
--         enquiries.business_time  optional: when the change took effect (history loads):
--                                  a timestamp, or 'per_row' (see audit.business_time_mode)
--   * after COMMIT a custom setting reads '' rather than NULL: both mean "unset";
--   * unset context yields NULL, which matches no row (fail closed); a malformed value
--     raises 22P02 (invalid_text_representation), it never widens visibility;
--   * business time may only be set by a session whose login is a member of
--     enquiries_history_loader (EL400 otherwise); everyone else acts at now().
--
-- These functions are STABLE and policies call them inside a sub-select, so the planner
-- evaluates them once per query (an InitPlan) and tenant_id stays an index condition.
--
-- ===== from 026_context_functions_inlined.sql =====
-- 026 context functions, inlined: the same answers and refusals as 003, as single SQL
-- expressions the planner folds into the caller.
--
-- tenant.require_actor(), audit.business_time_mode() and audit.business_time() run for every
-- written row (tenant.stamp_row, 011). As PL/pgSQL each call cost ~7-9 us (178,000 calls in
-- a 19,000-enquiry generation slice: ~10% of its time); as SQL expressions they are inlined
-- into the calling expression. The refusals move into two small PL/pgSQL functions that run
-- only when a refusal is due.
--
-- Guarantees (unchanged from 003): EL001 when the actor or the department is unset; EL400
-- when a login that is not a history loader sets business time; 'now' / 'fixed' / 'per_row'
-- and the business time exactly as before (tests/test_context.py, tests/test_audit.py).

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- This database is not reachable by PUBLIC; the two lab logins may connect; the owner may
-- create schemas. PUBLIC can create nothing in public, not even temporary tables (a temporary
-- table with a trigger would be a way to run code inside a trigger context, which the
-- assignment-history rule relies on).
do $db$
begin
    execute format('revoke all on database %I from public', current_database());
    execute format('grant connect on database %I to enquiries_app, enquiries_loader', current_database());
    execute format('grant connect, create on database %I to enquiries_owner', current_database());
end
$db$;

revoke create on schema public from public;

-- app (schema)
CREATE SCHEMA app;


ALTER SCHEMA app OWNER TO enquiries_owner;

-- SCHEMA app (comment)
COMMENT ON SCHEMA app IS 'Read views for the application and notebooks (security_invoker, soft-deleted rows hidden).';

-- audit (schema)
CREATE SCHEMA audit;


ALTER SCHEMA audit OWNER TO enquiries_owner;

-- SCHEMA audit (comment)
COMMENT ON SCHEMA audit IS 'The append-only audit trail; nobody, the owner included, can change or remove an entry.';

-- core (schema)
CREATE SCHEMA core;


ALTER SCHEMA core OWNER TO enquiries_owner;

-- SCHEMA core (comment)
COMMENT ON SCHEMA core IS 'Shared reference data and the workflow definition, read by triggers and the generator.';

-- tenant (schema)
CREATE SCHEMA tenant;


ALTER SCHEMA tenant OWNER TO enquiries_owner;

-- SCHEMA tenant (comment)
COMMENT ON SCHEMA tenant IS 'Departments (tenants) and everything department-scoped; RLS enabled and forced on every table.';

-- audit.business_time() (function)
CREATE FUNCTION audit.business_time() RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select case audit.business_time_mode()
               when 'now' then now()
               when 'fixed' then current_setting('enquiries.business_time')::timestamptz
           end
$$;


ALTER FUNCTION audit.business_time() OWNER TO enquiries_owner;

-- audit.FUNCTION business_time() (comment)
COMMENT ON FUNCTION audit.business_time() IS 'The business time of the current change: now(), or the time a history loader set in enquiries.business_time.';

-- audit.business_time_mode() (function)
CREATE FUNCTION audit.business_time_mode() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select case
               when nullif(current_setting('enquiries.business_time', true), '') is null then 'now'
               when not pg_has_role(session_user, 'enquiries_history_loader', 'MEMBER') then audit.business_time_refused()
               when current_setting('enquiries.business_time', true) = 'per_row' then 'per_row'
               else 'fixed'
           end
$$;


ALTER FUNCTION audit.business_time_mode() OWNER TO enquiries_owner;

-- audit.business_time_refused() (function)
CREATE FUNCTION audit.business_time_refused() RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
begin
    raise exception 'only a history loader may set business time (login % is not a member of enquiries_history_loader)',
        session_user using errcode = 'EL400';
end
$$;


ALTER FUNCTION audit.business_time_refused() OWNER TO enquiries_owner;

-- tenant.current_tenant_id() (function)
CREATE FUNCTION tenant.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select nullif(current_setting('enquiries.tenant_id', true), '')::uuid $$;


ALTER FUNCTION tenant.current_tenant_id() OWNER TO enquiries_owner;

-- tenant.FUNCTION current_tenant_id() (comment)
COMMENT ON FUNCTION tenant.current_tenant_id() IS 'The department of the current transaction, NULL when unset (fail closed).';

-- tenant.context_missing(text) (function)
CREATE FUNCTION tenant.context_missing(what text) RETURNS uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $$
begin
    raise exception 'no %: set the context (enquiries.%) before writing',
        what, case what when 'department' then 'tenant_id' else 'actor_id' end using errcode = 'EL001';
end
$$;


ALTER FUNCTION tenant.context_missing(what text) OWNER TO enquiries_owner;

-- tenant.current_actor_id() (function)
CREATE FUNCTION tenant.current_actor_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ select nullif(current_setting('enquiries.actor_id', true), '')::uuid $$;


ALTER FUNCTION tenant.current_actor_id() OWNER TO enquiries_owner;

-- tenant.FUNCTION current_actor_id() (comment)
COMMENT ON FUNCTION tenant.current_actor_id() IS 'The acting staff member of the current transaction, NULL when unset.';

-- tenant.require_actor() (function)
CREATE FUNCTION tenant.require_actor() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select case
               when tenant.current_actor_id() is null then tenant.context_missing('acting user')
               when tenant.current_tenant_id() is null then tenant.context_missing('department')
               else tenant.current_actor_id()
           end
$$;


ALTER FUNCTION tenant.require_actor() OWNER TO enquiries_owner;

-- DEFAULT PRIVILEGES FOR FUNCTIONS (default acl)
ALTER DEFAULT PRIVILEGES FOR ROLE enquiries_owner REVOKE ALL ON FUNCTIONS  FROM PUBLIC;

