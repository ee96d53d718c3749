-- 009 workflow enforcement: the workflow enforced on every enquiry change, escalation decisions, assignments.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 013_enquiry_workflow.sql =====
-- 013 enquiry workflow: status changes follow core.status_transitions, assignments are
-- recorded, escalations need a supervisor's approval, concurrent changes cannot both win.
--
-- Guarantees, for every write to tenant.enquiries, whoever makes it:
--   * a new enquiry starts in the initial status, unassigned, version 1, received at most a
--     fortnight before it is recorded (EL107), with its SLA due date computed from the
--     department's rule for its type and its priority;
--   * a status change is allowed only if core.status_transitions has the row
--     (old status, new status, acting staff role): EL100 if no role may make it, EL101 if
--     another role could;
--   * a transition marked requires_approval needs an approved escalation that no earlier
--     transition used (approved escalations > escalation_count), else EL102;
--   * entering a terminal status sets closed_at (retention clock); leaving one clears it;
--     entering 'resolved' sets resolved_at;
--   * every change must state the version it was based on: version = old version + 1,
--     otherwise 40001 (serialization_failure): of two concurrent changes, one wins and the
--     other gets a conflict error to retry on;
--   * assigning to someone else, and any reassignment, needs a role with
--     may_assign_others (EL103); the assignee is an active caseworker or supervisor of the
--     department (EL104); every change of assignee is recorded in tenant.assignments with
--     the old and new assignee (written only here, see 010);
--   * escalation decisions: only a supervisor decides, only once, never on their own
--     request (EL105); decided_by/decided_at are stamped from the context.
--
-- ===== from 019_workflow_row_forms.sql =====
-- 019 workflow row forms: the assignment history written by a row trigger, for platforms
-- where statement triggers cannot read transition tables (the Citus profile, sql/citus/040).
--
-- Guarantees: tenant.record_assignment_row() writes exactly the row that
-- tenant.record_assignments() (013) writes for an enquiry whose assignee changed, with the
-- same deterministic id; single-node PostgreSQL keeps the set-based statement trigger.
--
-- ===== from 027_unknown_priority_named.sql =====
-- 027 unknown priority, named: a new enquiry with a priority that is not in core.priorities
-- is refused as the priority foreign key violation (23503) naming the priority, not as a
-- NOT NULL violation on due_at (23502).
--
-- Guarantees: tenant.enforce_enquiry_workflow (013) behaves exactly as before for every other
-- write, including a NULL priority (23502 on priority, from the column's NOT NULL); only the
-- unknown priority's error changes, and still nothing is written
-- (tests/test_bad_input.py::test_an_unknown_priority_is_named_in_the_error).

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- tenant.enforce_enquiry_workflow() (function)
CREATE FUNCTION tenant.enforce_enquiry_workflow() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


ALTER FUNCTION tenant.enforce_enquiry_workflow() OWNER TO enquiries_owner;

-- tenant.enforce_escalation_decision() (function)
CREATE FUNCTION tenant.enforce_escalation_decision() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if tg_op = 'INSERT' then
        new.requested_by := new.created_by;
        new.requested_at := new.created_at;
        if new.decision <> 'pending' or new.decided_by is not null then
            raise exception 'an escalation is requested first and decided later' using errcode = 'EL105';
        end if;
        return new;
    end if;
    new.enquiry_id := old.enquiry_id;
    new.requested_by := old.requested_by;
    new.requested_at := old.requested_at;
    new.reason := old.reason;
    if new.decision is distinct from old.decision then
        if old.decision <> 'pending' then
            raise exception 'escalation already %', old.decision using errcode = 'EL105';
        end if;
        if core.current_staff_role() is distinct from 'supervisor' then
            raise exception 'only a supervisor may decide an escalation' using errcode = 'EL105';
        end if;
        if new.updated_by = old.requested_by then
            raise exception 'a supervisor may not decide their own escalation request' using errcode = 'EL105';
        end if;
        new.decided_by := new.updated_by;
        new.decided_at := new.updated_at;
    else
        new.decided_by := old.decided_by;
        new.decided_at := old.decided_at;
    end if;
    return new;
end
$$;


ALTER FUNCTION tenant.enforce_escalation_decision() OWNER TO enquiries_owner;

-- tenant.record_assignment_row() (function)
CREATE FUNCTION tenant.record_assignment_row() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    insert into tenant.assignments (tenant_id, assignment_id, enquiry_id, from_staff_id, to_staff_id, assigned_at,
                                    assigned_by, created_at, updated_at)
    values (new.tenant_id, core.time_ordered_uuid(new.updated_at, md5(new.enquiry_id::text || ':' || new.version)::uuid),
            new.enquiry_id, old.assigned_to, new.assigned_to, new.updated_at, new.updated_by, new.updated_at, new.updated_at);
    return null;
end
$$;


ALTER FUNCTION tenant.record_assignment_row() OWNER TO enquiries_owner;

-- tenant.record_assignments() (function)
CREATE FUNCTION tenant.record_assignments() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    -- Most updates change no assignee; those (and roles without INSERT here, such as the
    -- retention officer) never reach the INSERT.
    if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
                   where n.assigned_to is distinct from o.assigned_to) then
        return null;
    end if;
    -- The id derives from the assignment's time, the enquiry and its version (one assignee
    -- change per version), so replaying the same history gives the same rows.
    insert into tenant.assignments (tenant_id, assignment_id, enquiry_id, from_staff_id, to_staff_id, assigned_at,
                                    assigned_by, created_at, updated_at)
    select n.tenant_id, core.time_ordered_uuid(n.updated_at, md5(n.enquiry_id::text || ':' || n.version)::uuid),
           n.enquiry_id, o.assigned_to, n.assigned_to,
           n.updated_at, n.updated_by,
           n.updated_at, n.updated_at   -- per-row business time mode reads these
    from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
    where n.assigned_to is distinct from o.assigned_to;
    return null;
end
$$;


ALTER FUNCTION tenant.record_assignments() OWNER TO enquiries_owner;

-- tenant.stamp_legal_hold() (function)
CREATE FUNCTION tenant.stamp_legal_hold() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if tg_op = 'INSERT' then
        new.placed_by := new.created_by;
        new.placed_at := new.created_at;
        new.released_by := null;
        new.released_at := null;
        return new;
    end if;
    new.enquiry_id := old.enquiry_id;
    new.placed_by := old.placed_by;
    new.placed_at := old.placed_at;
    if old.released_at is not null then
        if new.released_at is distinct from old.released_at then
            raise exception 'legal hold already released' using errcode = 'EL301';
        end if;
        new.released_by := old.released_by;
    elsif new.released_at is not null then
        new.released_by := new.updated_by;
        new.released_at := new.updated_at;
    else
        new.released_by := null;
    end if;
    return new;
end
$$;


ALTER FUNCTION tenant.stamp_legal_hold() OWNER TO enquiries_owner;

-- tenant.FUNCTION enforce_enquiry_workflow() (acl)
REVOKE ALL ON FUNCTION tenant.enforce_enquiry_workflow() FROM PUBLIC;

-- tenant.FUNCTION enforce_escalation_decision() (acl)
REVOKE ALL ON FUNCTION tenant.enforce_escalation_decision() FROM PUBLIC;

-- tenant.FUNCTION record_assignment_row() (acl)
REVOKE ALL ON FUNCTION tenant.record_assignment_row() FROM PUBLIC;

-- tenant.FUNCTION record_assignments() (acl)
REVOKE ALL ON FUNCTION tenant.record_assignments() FROM PUBLIC;

-- tenant.FUNCTION stamp_legal_hold() (acl)
REVOKE ALL ON FUNCTION tenant.stamp_legal_hold() FROM PUBLIC;

-- tenant.escalations b_enforce_decision (trigger)
CREATE TRIGGER b_enforce_decision BEFORE INSERT OR UPDATE ON tenant.escalations FOR EACH ROW EXECUTE FUNCTION tenant.enforce_escalation_decision();

-- tenant.enquiries b_enforce_workflow (trigger)
CREATE TRIGGER b_enforce_workflow BEFORE INSERT OR UPDATE ON tenant.enquiries FOR EACH ROW EXECUTE FUNCTION tenant.enforce_enquiry_workflow();

-- tenant.legal_holds b_stamp_legal_hold (trigger)
CREATE TRIGGER b_stamp_legal_hold BEFORE INSERT OR UPDATE ON tenant.legal_holds FOR EACH ROW EXECUTE FUNCTION tenant.stamp_legal_hold();

-- tenant.enquiries c_record_assignments (trigger)
CREATE TRIGGER c_record_assignments AFTER UPDATE ON tenant.enquiries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant.record_assignments();

