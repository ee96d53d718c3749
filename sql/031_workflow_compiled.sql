-- 031 workflow compiled: the enquiry workflow trigger asks functions generated from the
-- workflow tables instead of querying the tables for every row it checks.
--
-- Why: for each enquiry change the trigger (013, 027) ran four to six queries against
-- core.staff_roles, core.status_transitions and core.statuses (the acting role, the
-- transition's rule, whether the new and the old status are terminal, whether the role may
-- assign others). Each query starts and ends an executor, ~25 us a row in all, the largest
-- share of the trigger's cost and ~15% of the generator's server time (docs/benchmarks.md).
-- The generated functions are single CASE expressions: plpgsql evaluates them as simple
-- expressions, with no executor and no buffer access.
--
-- Guarantees:
--   * the tables stay the one source of truth, read by the generator and compiled here:
--     core.compile_workflow() writes the functions from the tables' rows, and every
--     statement that changes core.staff_roles, core.statuses or core.status_transitions
--     runs it before the statement ends, so the next statement (in that transaction, or in
--     any session once it commits) meets the new rules; a rolled-back change rolls back its
--     functions with it (DDL is transactional);
--   * the functions answer what the tables say, for every status, role and pair of
--     statuses (tests/test_workflow.py::test_the_compiled_workflow_answers_what_the_tables_say)
--     and a change to the tables changes what the trigger allows
--     (::test_a_change_to_the_workflow_tables_takes_effect_at_the_next_statement);
--   * tenant.enforce_enquiry_workflow makes the same checks, in the same order, with the same
--     errors as 027: only the look-ups of reference data changed. The look-ups of tenant data
--     (the department's enquiry type, the assignee, approved escalations) stay queries.

set local role enquiries_owner;

create function core.compile_workflow() returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $compile$
declare
    role_cases text;
    initial text;
    terminal text[];
    assigners text[];
    steps text;
begin
    -- the acting staff role, from the database role the session acts as
    select string_agg(format('when %L then %L', db_role, staff_role), ' ' order by staff_role)
    into role_cases from core.staff_roles;
    execute format('create or replace function core.current_staff_role() returns text language sql stable parallel safe as %L',
                   format('select case current_user::text %s end', coalesce(role_cases, 'when null then null')));

    select status into initial from core.statuses where is_initial;
    select coalesce(array_agg(status order by status), '{}') into terminal from core.statuses where is_terminal;
    select coalesce(array_agg(staff_role order by staff_role), '{}') into assigners from core.staff_roles where may_assign_others;
    execute format('create or replace function core.workflow_initial_status() returns text language sql stable parallel safe as %L',
                   format('select %L::text', initial));
    execute format('create or replace function core.workflow_is_terminal(status text) returns boolean language sql stable parallel safe as %L',
                   format('select status = any (%L::text[])', terminal));
    execute format('create or replace function core.workflow_may_assign_others(staff_role text) returns boolean language sql stable parallel safe as %L',
                   format('select coalesce(staff_role = any (%L::text[]), false)', assigners));

    -- from -> to -> role: 'allowed', 'needs_approval', 'other_role' (the move exists for
    -- another role), or NULL (no role may make it)
    select string_agg(format('when %L then case to_status %s else null end', from_status, tos), ' ' order by from_status)
    into steps
    from (select from_status,
                 string_agg(format('when %L then case staff_role %s else %L end', to_status, roles, 'other_role'),
                            ' ' order by to_status) as tos
          from (select from_status, to_status,
                       string_agg(format('when %L then %L', staff_role,
                                         case when requires_approval then 'needs_approval' else 'allowed' end),
                                  ' ' order by staff_role) as roles
                from core.status_transitions group by from_status, to_status) per_pair
          group by from_status) per_from;
    execute format('create or replace function core.workflow_step(from_status text, to_status text, staff_role text) returns text '
                   'language sql stable parallel safe as %L',
                   format('select case from_status %s else null end', coalesce(steps, 'when null then null')));
end
$compile$;

comment on function core.compile_workflow() is
    'Writes core.current_staff_role and the core.workflow_* functions from the workflow tables; run by their triggers.';

create function core.recompile_workflow() returns trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $$
begin
    perform core.compile_workflow();
    return null;
end
$$;

create trigger workflow_compiled after insert or update or delete or truncate on core.staff_roles
    for each statement execute function core.recompile_workflow();
create trigger workflow_compiled after insert or update or delete or truncate on core.statuses
    for each statement execute function core.recompile_workflow();
create trigger workflow_compiled after insert or update or delete or truncate on core.status_transitions
    for each statement execute function core.recompile_workflow();

select core.compile_workflow();
grant execute on function core.workflow_initial_status(), core.workflow_is_terminal(text),
    core.workflow_may_assign_others(text), core.workflow_step(text, text, text) to public;
revoke execute on function core.compile_workflow() from public;

create or replace function tenant.enforce_enquiry_workflow() returns trigger
    language plpgsql as $$
declare
    acting_role constant text := core.current_staff_role();
    at constant timestamptz := new.updated_at;   -- the business time stamped by a_stamp_row
    step text;
    rule_for_type tenant.department_enquiry_types;
    priority_factor core.priorities.sla_factor%type;
begin
    if tg_op = 'INSERT' then
        if new.status is distinct from core.workflow_initial_status() then
            raise exception 'a new enquiry starts as %, not %', core.workflow_initial_status(), new.status using errcode = 'EL100';
        end if;
        if new.assigned_to is not null then
            raise exception 'a new enquiry is unassigned; assignment is a workflow step' using errcode = 'EL100';
        end if;
        select * into rule_for_type from tenant.department_enquiry_types
        where tenant_id = new.tenant_id and enquiry_type = new.enquiry_type and deleted_at is null;
        if not found then
            raise exception 'department does not handle enquiry type %', new.enquiry_type using errcode = 'EL106';
        end if;
        -- Received up to a fortnight before it was entered (a letter logged late), never after.
        new.received_at := coalesce(new.received_at, at);
        if new.received_at > at or new.received_at < at - interval '14 days' then
            raise exception 'received_at % must be within the fortnight before the enquiry is recorded (%)',
                new.received_at, at using errcode = 'EL107';
        end if;
        -- An unknown priority has no factor: named here, before due_at would be NULL and the
        -- NOT NULL check (which runs before the foreign key) would blame due_at instead.
        select sla_factor into priority_factor from core.priorities where priority = new.priority;
        if not found and new.priority is not null then
            raise exception 'unknown priority %: not one of core.priorities', new.priority
                using errcode = 'foreign_key_violation', schema = 'tenant', table = 'enquiries', column = 'priority',
                      constraint = 'enquiries_priority_fkey';
        end if;
        new.due_at := new.received_at + make_interval(days => ceil(rule_for_type.sla_days * priority_factor)::int);
        new.version := 1;
        new.escalation_count := 0;
        new.resolved_at := null;
        new.closed_at := null;
        new.disposed_at := null;
        new.disposed_by := null;
        return new;
    end if;

    if new.version is distinct from old.version + 1 then
        raise exception 'enquiry % was changed concurrently: it is at version %, the change was based on version %',
            old.reference, old.version, coalesce(new.version - 1, old.version)
            using errcode = '40001', hint = 'read the enquiry again and retry';
    end if;
    -- Derived columns are the database's to maintain.
    new.received_at := old.received_at;
    new.due_at := old.due_at;
    new.escalation_count := old.escalation_count;
    new.resolved_at := old.resolved_at;
    new.closed_at := old.closed_at;

    if new.status is distinct from old.status then
        step := core.workflow_step(old.status, new.status, acting_role);
        if step is null then
            raise exception 'illegal transition for enquiry %: % -> %', old.reference, old.status, new.status
                using errcode = 'EL100';
        elsif step = 'other_role' then
            raise exception 'role % may not move enquiry % from % to %', coalesce(acting_role, current_user::text),
                old.reference, old.status, new.status using errcode = 'EL101';
        end if;
        if step = 'needs_approval' then
            if (select count(*) from tenant.escalations e
                where e.tenant_id = new.tenant_id and e.enquiry_id = new.enquiry_id
                  and e.decision = 'approved' and e.deleted_at is null) <= old.escalation_count then
                raise exception 'enquiry % cannot move to % without a supervisor''s approved escalation',
                    old.reference, new.status using errcode = 'EL102';
            end if;
            new.escalation_count := old.escalation_count + 1;
        end if;
        if core.workflow_is_terminal(new.status) then
            new.closed_at := at;
        elsif core.workflow_is_terminal(old.status) then
            new.closed_at := null;
        end if;
        if new.status = 'resolved' then
            new.resolved_at := at;
        end if;
    end if;

    if new.assigned_to is distinct from old.assigned_to then
        if new.assigned_to is null then
            raise exception 'enquiry % cannot be unassigned; reassign it instead', old.reference using errcode = 'EL103';
        end if;
        if (old.assigned_to is not null or new.assigned_to <> tenant.current_actor_id())
           and not core.workflow_may_assign_others(acting_role) then
            raise exception 'role % may only take unassigned enquiries for themselves', coalesce(acting_role, current_user::text)
                using errcode = 'EL103';
        end if;
        if not exists (select from tenant.staff s
                       where s.tenant_id = new.tenant_id and s.staff_id = new.assigned_to and s.active
                         and s.deleted_at is null and s.staff_role in ('caseworker', 'supervisor')) then
            raise exception 'enquiries can only be assigned to an active caseworker or supervisor of the department'
                using errcode = 'EL104';
        end if;
    end if;
    return new;
end
$$;
