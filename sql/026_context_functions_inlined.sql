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

set local role enquiries_owner;

create function tenant.context_missing(what text) returns uuid
    language plpgsql stable parallel safe
    as $$
begin
    raise exception 'no %: set the context (enquiries.%) before writing',
        what, case what when 'department' then 'tenant_id' else 'actor_id' end using errcode = 'EL001';
end
$$;

create function audit.business_time_refused() returns text
    language plpgsql stable parallel safe
    as $$
begin
    raise exception 'only a history loader may set business time (login % is not a member of enquiries_history_loader)',
        session_user using errcode = 'EL400';
end
$$;

create or replace function tenant.require_actor() returns uuid
    language sql stable parallel safe
    as $$
    select case
               when tenant.current_actor_id() is null then tenant.context_missing('acting user')
               when tenant.current_tenant_id() is null then tenant.context_missing('department')
               else tenant.current_actor_id()
           end
$$;

create or replace function audit.business_time_mode() returns text
    language sql stable parallel safe
    as $$
    select case
               when nullif(current_setting('enquiries.business_time', true), '') is null then 'now'
               when not pg_has_role(session_user, 'enquiries_history_loader', 'MEMBER') then audit.business_time_refused()
               when current_setting('enquiries.business_time', true) = 'per_row' then 'per_row'
               else 'fixed'
           end
$$;

create or replace function audit.business_time() returns timestamptz
    language sql stable parallel safe
    as $$
    select case audit.business_time_mode()
               when 'now' then now()
               when 'fixed' then current_setting('enquiries.business_time')::timestamptz
           end
$$;

grant execute on function tenant.context_missing(text), audit.business_time_refused() to public;
