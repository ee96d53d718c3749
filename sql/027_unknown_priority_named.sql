-- 027 unknown priority, named: a new enquiry with a priority that is not in core.priorities
-- is refused as the priority foreign key violation (23503) naming the priority, not as a
-- NOT NULL violation on due_at (23502).
--
-- Guarantees: tenant.enforce_enquiry_workflow (013) behaves exactly as before for every other
-- write, including a NULL priority (23502 on priority, from the column's NOT NULL); only the
-- unknown priority's error changes, and still nothing is written
-- (tests/test_bad_input.py::test_an_unknown_priority_is_named_in_the_error).

set local role enquiries_owner;

create or replace function tenant.enforce_enquiry_workflow() returns trigger
    language plpgsql as $$
declare
    acting_role constant text := core.current_staff_role();
    at constant timestamptz := new.updated_at;   -- the business time stamped by a_stamp_row
    rule core.status_transitions;
    target core.statuses;
    rule_for_type tenant.department_enquiry_types;
    priority_factor core.priorities.sla_factor%type;
begin
    if tg_op = 'INSERT' then
        select * into target from core.statuses where is_initial;
        if new.status is distinct from target.status then
            raise exception 'a new enquiry starts as %, not %', target.status, new.status using errcode = 'EL100';
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
        select * into rule from core.status_transitions
        where from_status = old.status and to_status = new.status and staff_role = acting_role;
        if not found then
            if exists (select from core.status_transitions where from_status = old.status and to_status = new.status) then
                raise exception 'role % may not move enquiry % from % to %', coalesce(acting_role, current_user::text),
                    old.reference, old.status, new.status using errcode = 'EL101';
            end if;
            raise exception 'illegal transition for enquiry %: % -> %', old.reference, old.status, new.status
                using errcode = 'EL100';
        end if;
        if rule.requires_approval then
            if (select count(*) from tenant.escalations e
                where e.tenant_id = new.tenant_id and e.enquiry_id = new.enquiry_id
                  and e.decision = 'approved' and e.deleted_at is null) <= old.escalation_count then
                raise exception 'enquiry % cannot move to % without a supervisor''s approved escalation',
                    old.reference, new.status using errcode = 'EL102';
            end if;
            new.escalation_count := old.escalation_count + 1;
        end if;
        select * into target from core.statuses where status = new.status;
        if target.is_terminal then
            new.closed_at := at;
        elsif (select is_terminal from core.statuses where status = old.status) then
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
           and not coalesce((select may_assign_others from core.staff_roles where staff_role = acting_role), false) then
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
