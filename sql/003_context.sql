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

set local role enquiries_owner;

create function tenant.current_tenant_id() returns uuid
    language sql stable parallel safe
    as $$ select nullif(current_setting('enquiries.tenant_id', true), '')::uuid $$;

create function tenant.current_actor_id() returns uuid
    language sql stable parallel safe
    as $$ select nullif(current_setting('enquiries.actor_id', true), '')::uuid $$;

comment on function tenant.current_tenant_id() is 'The department of the current transaction, NULL when unset (fail closed).';
comment on function tenant.current_actor_id()  is 'The acting staff member of the current transaction, NULL when unset.';

-- The actor, or EL001 when there is none: every write needs someone to attribute it to.
create function tenant.require_actor() returns uuid
    language plpgsql stable parallel safe
    as $$
declare
    actor uuid := tenant.current_actor_id();
begin
    if actor is null then
        raise exception 'no acting user: set the context (enquiries.actor_id) before writing'
            using errcode = 'EL001';
    end if;
    if tenant.current_tenant_id() is null then
        raise exception 'no department: set the context (enquiries.tenant_id) before writing'
            using errcode = 'EL001';
    end if;
    return actor;
end
$$;

-- How business time is chosen for this transaction:
--   'now'     nothing set: changes take effect at now();
--   'fixed'   enquiries.business_time holds a timestamp: every change takes effect then;
--   'per_row' enquiries.business_time = 'per_row': each written row carries its own
--             business time in created_at (insert) or updated_at (update), so a loader can
--             write a batch of events that happened at different times in one statement.
-- Anything but 'now' needs a login that is a member of enquiries_history_loader (EL400).
create function audit.business_time_mode() returns text
    language plpgsql stable parallel safe
    as $$
declare
    supplied constant text := nullif(current_setting('enquiries.business_time', true), '');
begin
    if supplied is null then
        return 'now';
    end if;
    if not pg_has_role(session_user, 'enquiries_history_loader', 'MEMBER') then
        raise exception 'only a history loader may set business time (login % is not a member of enquiries_history_loader)',
            session_user using errcode = 'EL400';
    end if;
    return case when supplied = 'per_row' then 'per_row' else 'fixed' end;
end
$$;

-- The business time of a change: now(), the loader's fixed time, or NULL in per-row mode
-- (the row's own created_at/updated_at then says it; see tenant.stamp_row).
create function audit.business_time() returns timestamptz
    language plpgsql stable parallel safe
    as $$
begin
    return case audit.business_time_mode()
        when 'now' then now()
        when 'fixed' then current_setting('enquiries.business_time')::timestamptz
    end;
end
$$;

comment on function audit.business_time() is
    'The business time of the current change: now(), or the time a history loader set in enquiries.business_time.';

grant usage on schema core, tenant, audit, app to
    enquiries_caseworker, enquiries_supervisor, enquiries_auditor, enquiries_retention_officer,
    enquiries_provisioner, enquiries_audit_writer;
grant execute on function tenant.current_tenant_id(), tenant.current_actor_id(), tenant.require_actor(),
    audit.business_time_mode(), audit.business_time() to public;
