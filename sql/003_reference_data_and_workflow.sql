-- 003 reference data and workflow: shared reference data and the workflow held as data, compiled into functions.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 004_core_reference.sql =====
-- 004 core reference data: the shared vocabulary every department uses.
--
-- Guarantees:
--   * statuses, priorities, channels, enquiry types and staff roles are rows, not code:
--     triggers, views and the generator read them from here;
--   * exactly one status is initial; terminal statuses start the retention clock;
--   * each staff role maps to exactly one database role, which is how the database knows
--     what the acting user is allowed to do;
--   * reference data is readable by every lab role and writable by none of them.
--
-- ===== from 005_core_workflow.sql =====
-- 005 core workflow: the enquiry state machine, as data.
--
-- Guarantees:
--   * a status change is legal only if a row here allows (from_status -> to_status) for
--     the acting staff role; the enquiry trigger (010) reads this table, and so does the
--     generator, so the rules live in one place;
--   * a transition with requires_approval needs a supervisor's approved escalation that
--     has not been used by an earlier transition;
--   * no transition leads into the initial status (enquiries start there and never return).
--
-- ===== from 029_enquiry_status_kept_by_the_workflow.sql =====
-- 029 enquiry status kept by the workflow: tenant.enquiries.status is checked by the workflow
-- trigger alone, and a workflow status can no longer be deleted or renamed.
--
-- The foreign key enquiries.status -> core.statuses said nothing the workflow trigger (013)
-- does not already enforce more strictly on every write: a new enquiry must be in the initial
-- status, and a change must match a core.status_transitions row, whose statuses are foreign
-- keys into core.statuses. The key's check cost a query and a KEY SHARE row lock on a
-- core.statuses row for every status change (~3.5% of the generator's server instructions,
-- docs/benchmarks.md), and every concurrent writer locked the same dozen rows, which turns
-- their locks into shared multixacts.
--
-- The one thing the key did besides: it stopped a status that enquiries hold from being
-- deleted or renamed. Statuses are named in every enquiry's audit history, so now none is
-- deleted or renamed at all, in use or not (a status is retired by removing its transitions):
-- EL207, for everyone, the owner and superusers included.
--
-- Guarantees: every enquiry's status is a row of core.statuses
-- (tests/test_workflow.py::test_a_workflow_status_is_never_deleted_or_renamed,
-- ::test_every_illegal_transition_is_refused, ::test_new_enquiry_must_start_in_the_initial_status).
--
-- ===== from 031_workflow_compiled.sql =====
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

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- core.compile_workflow() (function)
CREATE FUNCTION core.compile_workflow() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;


ALTER FUNCTION core.compile_workflow() OWNER TO enquiries_owner;

-- core.FUNCTION compile_workflow() (comment)
COMMENT ON FUNCTION core.compile_workflow() IS 'Writes core.current_staff_role and the core.workflow_* functions from the workflow tables; run by their triggers.';

-- core.current_staff_role() (function)
CREATE FUNCTION core.current_staff_role() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$select case current_user::text when 'enquiries_auditor' then 'auditor' when 'enquiries_caseworker' then 'caseworker' when 'enquiries_retention_officer' then 'retention_officer' when 'enquiries_supervisor' then 'supervisor' end$$;


ALTER FUNCTION core.current_staff_role() OWNER TO enquiries_owner;

-- core.recompile_workflow() (function)
CREATE FUNCTION core.recompile_workflow() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
    perform core.compile_workflow();
    return null;
end
$$;


ALTER FUNCTION core.recompile_workflow() OWNER TO enquiries_owner;

-- core.refuse_status_removal() (function)
CREATE FUNCTION core.refuse_status_removal() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception '% on core.statuses is not allowed: statuses are named in enquiries and their audit history; '
                    'retire one by removing its transitions', tg_op
        using errcode = 'EL207';
end
$$;


ALTER FUNCTION core.refuse_status_removal() OWNER TO enquiries_owner;

-- core.refuse_transition_into_initial() (function)
CREATE FUNCTION core.refuse_transition_into_initial() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if exists (select from core.statuses where status = new.to_status and is_initial) then
        raise exception 'no transition may lead into the initial status %', new.to_status using errcode = 'EL100';
    end if;
    return new;
end
$$;


ALTER FUNCTION core.refuse_transition_into_initial() OWNER TO enquiries_owner;

-- core.workflow_initial_status() (function)
CREATE FUNCTION core.workflow_initial_status() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$select 'new'::text$$;


ALTER FUNCTION core.workflow_initial_status() OWNER TO enquiries_owner;

-- core.workflow_is_terminal(text) (function)
CREATE FUNCTION core.workflow_is_terminal(status text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$select status = any ('{closed,withdrawn}'::text[])$$;


ALTER FUNCTION core.workflow_is_terminal(status text) OWNER TO enquiries_owner;

-- core.workflow_may_assign_others(text) (function)
CREATE FUNCTION core.workflow_may_assign_others(staff_role text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$select coalesce(staff_role = any ('{supervisor}'::text[]), false)$$;


ALTER FUNCTION core.workflow_may_assign_others(staff_role text) OWNER TO enquiries_owner;

-- core.workflow_step(text, text, text) (function)
CREATE FUNCTION core.workflow_step(from_status text, to_status text, staff_role text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$select case from_status when 'assigned' then case to_status when 'in_progress' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end when 'withdrawn' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end else null end when 'awaiting_citizen' then case to_status when 'in_progress' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end when 'withdrawn' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end else null end when 'closed' then case to_status when 'reopened' then case staff_role when 'supervisor' then 'allowed' else 'other_role' end else null end when 'escalated' then case to_status when 'in_progress' then case staff_role when 'supervisor' then 'allowed' else 'other_role' end when 'resolved' then case staff_role when 'supervisor' then 'allowed' else 'other_role' end else null end when 'in_progress' then case to_status when 'awaiting_citizen' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end when 'escalated' then case staff_role when 'caseworker' then 'needs_approval' when 'supervisor' then 'needs_approval' else 'other_role' end when 'resolved' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end when 'withdrawn' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end else null end when 'new' then case to_status when 'assigned' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end when 'withdrawn' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end else null end when 'reopened' then case to_status when 'in_progress' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end else null end when 'resolved' then case to_status when 'closed' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end when 'in_progress' then case staff_role when 'caseworker' then 'allowed' when 'supervisor' then 'allowed' else 'other_role' end else null end else null end$$;


ALTER FUNCTION core.workflow_step(from_status text, to_status text, staff_role text) OWNER TO enquiries_owner;

-- core.staff_roles (table)
CREATE TABLE core.staff_roles (
    staff_role text NOT NULL,
    db_role name NOT NULL,
    label text NOT NULL,
    may_assign_others boolean NOT NULL,
    description text NOT NULL,
    CONSTRAINT staff_roles_staff_role_check CHECK ((staff_role ~ '^[a-z_]+$'::text))
);


ALTER TABLE core.staff_roles OWNER TO enquiries_owner;

-- core.status_transitions (table)
CREATE TABLE core.status_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    staff_role text NOT NULL,
    requires_approval boolean DEFAULT false NOT NULL,
    description text NOT NULL,
    CONSTRAINT status_transitions_check CHECK ((from_status <> to_status))
);


ALTER TABLE core.status_transitions OWNER TO enquiries_owner;

-- core.TABLE status_transitions (comment)
COMMENT ON TABLE core.status_transitions IS 'The enquiry workflow: which staff role may move an enquiry from one status to another, and which moves need an approved escalation.';

-- core.channels (table)
CREATE TABLE core.channels (
    channel text NOT NULL,
    label text NOT NULL,
    CONSTRAINT channels_channel_check CHECK ((channel ~ '^[a-z_]+$'::text))
);


ALTER TABLE core.channels OWNER TO enquiries_owner;

-- core.enquiry_types (table)
CREATE TABLE core.enquiry_types (
    enquiry_type text NOT NULL,
    label text NOT NULL,
    description text NOT NULL,
    CONSTRAINT enquiry_types_enquiry_type_check CHECK ((enquiry_type ~ '^[a-z_]+$'::text))
);


ALTER TABLE core.enquiry_types OWNER TO enquiries_owner;

-- core.priorities (table)
CREATE TABLE core.priorities (
    priority text NOT NULL,
    label text NOT NULL,
    sla_factor numeric(4,2) NOT NULL,
    sort_order integer NOT NULL,
    CONSTRAINT priorities_priority_check CHECK ((priority ~ '^[a-z_]+$'::text)),
    CONSTRAINT priorities_sla_factor_check CHECK ((sla_factor > (0)::numeric))
);


ALTER TABLE core.priorities OWNER TO enquiries_owner;

-- core.statuses (table)
CREATE TABLE core.statuses (
    status text NOT NULL,
    label text NOT NULL,
    description text NOT NULL,
    is_initial boolean DEFAULT false NOT NULL,
    is_terminal boolean DEFAULT false NOT NULL,
    is_open boolean NOT NULL,
    sla_clock_runs boolean NOT NULL,
    sort_order integer NOT NULL,
    CONSTRAINT statuses_status_check CHECK ((status ~ '^[a-z_]+$'::text))
);


ALTER TABLE core.statuses OWNER TO enquiries_owner;

-- core.channels channels_pkey (constraint)
ALTER TABLE ONLY core.channels
    ADD CONSTRAINT channels_pkey PRIMARY KEY (channel);

-- core.enquiry_types enquiry_types_pkey (constraint)
ALTER TABLE ONLY core.enquiry_types
    ADD CONSTRAINT enquiry_types_pkey PRIMARY KEY (enquiry_type);

-- core.priorities priorities_pkey (constraint)
ALTER TABLE ONLY core.priorities
    ADD CONSTRAINT priorities_pkey PRIMARY KEY (priority);

-- core.priorities priorities_sort_order_key (constraint)
ALTER TABLE ONLY core.priorities
    ADD CONSTRAINT priorities_sort_order_key UNIQUE (sort_order);

-- core.staff_roles staff_roles_db_role_key (constraint)
ALTER TABLE ONLY core.staff_roles
    ADD CONSTRAINT staff_roles_db_role_key UNIQUE (db_role);

-- core.staff_roles staff_roles_pkey (constraint)
ALTER TABLE ONLY core.staff_roles
    ADD CONSTRAINT staff_roles_pkey PRIMARY KEY (staff_role);

-- core.status_transitions status_transitions_pkey (constraint)
ALTER TABLE ONLY core.status_transitions
    ADD CONSTRAINT status_transitions_pkey PRIMARY KEY (from_status, to_status, staff_role);

-- core.statuses statuses_pkey (constraint)
ALTER TABLE ONLY core.statuses
    ADD CONSTRAINT statuses_pkey PRIMARY KEY (status);

-- core.statuses statuses_sort_order_key (constraint)
ALTER TABLE ONLY core.statuses
    ADD CONSTRAINT statuses_sort_order_key UNIQUE (sort_order);

-- core.statuses_one_initial (index)
CREATE UNIQUE INDEX statuses_one_initial ON core.statuses USING btree (is_initial) WHERE is_initial;

-- core.status_transitions status_transitions_from_status_fkey (fk constraint)
ALTER TABLE ONLY core.status_transitions
    ADD CONSTRAINT status_transitions_from_status_fkey FOREIGN KEY (from_status) REFERENCES core.statuses(status) ON DELETE RESTRICT;

-- core.status_transitions status_transitions_staff_role_fkey (fk constraint)
ALTER TABLE ONLY core.status_transitions
    ADD CONSTRAINT status_transitions_staff_role_fkey FOREIGN KEY (staff_role) REFERENCES core.staff_roles(staff_role) ON DELETE RESTRICT;

-- core.status_transitions status_transitions_to_status_fkey (fk constraint)
ALTER TABLE ONLY core.status_transitions
    ADD CONSTRAINT status_transitions_to_status_fkey FOREIGN KEY (to_status) REFERENCES core.statuses(status) ON DELETE RESTRICT;

-- core.channels (rows)
INSERT INTO core.channels (channel, label) VALUES ('web_form', 'Web form');
INSERT INTO core.channels (channel, label) VALUES ('email', 'Email');
INSERT INTO core.channels (channel, label) VALUES ('phone', 'Phone');
INSERT INTO core.channels (channel, label) VALUES ('letter', 'Letter');
INSERT INTO core.channels (channel, label) VALUES ('in_person', 'In person');

-- core.enquiry_types (rows)
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('general', 'General enquiry', 'A question that fits no other type');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('complaint', 'Complaint', 'Dissatisfaction with a service or decision');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('foi_request', 'Freedom of Information', 'A request under the Freedom of Information Act 2000');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('subject_access', 'Subject access request', 'A request for personal data under UK GDPR');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('payment_query', 'Payment query', 'A question about a payment, refund or charge');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('application_status', 'Application status', 'Progress of an application or claim');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('eligibility', 'Eligibility', 'Whether a service, benefit or licence applies');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('correspondence_mp', 'MP correspondence', 'A letter from a Member of Parliament on a constituent''s behalf');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('change_of_details', 'Change of details', 'Updating a name, address or contact details');
INSERT INTO core.enquiry_types (enquiry_type, label, description) VALUES ('appeal', 'Appeal', 'Challenge to a decision');

-- core.priorities (rows)
INSERT INTO core.priorities (priority, label, sla_factor, sort_order) VALUES ('urgent', 'Urgent', 0.25, 10);
INSERT INTO core.priorities (priority, label, sla_factor, sort_order) VALUES ('high', 'High', 0.50, 20);
INSERT INTO core.priorities (priority, label, sla_factor, sort_order) VALUES ('normal', 'Normal', 1.00, 30);
INSERT INTO core.priorities (priority, label, sla_factor, sort_order) VALUES ('low', 'Low', 1.50, 40);

-- core.staff_roles (rows)
INSERT INTO core.staff_roles (staff_role, db_role, label, may_assign_others, description) VALUES ('caseworker', 'enquiries_caseworker', 'Caseworker', false, 'Works their queue; may take (self-assign) new enquiries');
INSERT INTO core.staff_roles (staff_role, db_role, label, may_assign_others, description) VALUES ('supervisor', 'enquiries_supervisor', 'Supervisor', true, 'Assigns and reassigns, approves escalations, places legal holds');
INSERT INTO core.staff_roles (staff_role, db_role, label, may_assign_others, description) VALUES ('auditor', 'enquiries_auditor', 'Auditor', false, 'Reads the department''s data and audit trail; changes nothing');
INSERT INTO core.staff_roles (staff_role, db_role, label, may_assign_others, description) VALUES ('retention_officer', 'enquiries_retention_officer', 'Retention officer', false, 'Disposes of records past retention; places legal holds');

-- core.statuses (rows)
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('new', 'New', 'Received, not yet assigned', true, false, true, true, 10);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('assigned', 'Assigned', 'Assigned to a caseworker, not started', false, false, true, true, 20);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('in_progress', 'In progress', 'Being worked on', false, false, true, true, 30);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('awaiting_citizen', 'Awaiting citizen', 'Waiting for information from the citizen', false, false, true, false, 40);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('escalated', 'Escalated', 'Escalated with a supervisor''s approval', false, false, true, true, 50);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('resolved', 'Resolved', 'Answer given; may still be reopened before closure', false, false, false, false, 60);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('closed', 'Closed', 'Closed; the seven-year retention clock runs', false, true, false, false, 70);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('reopened', 'Reopened', 'Closed case reopened by a supervisor', false, false, true, true, 80);
INSERT INTO core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) VALUES ('withdrawn', 'Withdrawn', 'Withdrawn by the citizen; retention clock runs', false, true, false, false, 90);

-- core.status_transitions (rows)
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('new', 'assigned', 'caseworker', false, 'Taken by a caseworker or assigned by a supervisor');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('new', 'assigned', 'supervisor', false, 'Taken by a caseworker or assigned by a supervisor');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('new', 'withdrawn', 'caseworker', false, 'Citizen withdrew before work started');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('new', 'withdrawn', 'supervisor', false, 'Citizen withdrew before work started');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('assigned', 'in_progress', 'caseworker', false, 'Work started');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('assigned', 'in_progress', 'supervisor', false, 'Work started');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('assigned', 'withdrawn', 'caseworker', false, 'Citizen withdrew');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('assigned', 'withdrawn', 'supervisor', false, 'Citizen withdrew');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'awaiting_citizen', 'caseworker', false, 'Information requested from the citizen');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'awaiting_citizen', 'supervisor', false, 'Information requested from the citizen');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'escalated', 'caseworker', true, 'Escalated once a supervisor approved it');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'escalated', 'supervisor', true, 'Escalated once a supervisor approved it');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'resolved', 'caseworker', false, 'Answer given');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'resolved', 'supervisor', false, 'Answer given');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'withdrawn', 'caseworker', false, 'Citizen withdrew');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('in_progress', 'withdrawn', 'supervisor', false, 'Citizen withdrew');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('awaiting_citizen', 'in_progress', 'caseworker', false, 'Citizen replied');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('awaiting_citizen', 'in_progress', 'supervisor', false, 'Citizen replied');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('awaiting_citizen', 'withdrawn', 'caseworker', false, 'Citizen withdrew or never replied');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('awaiting_citizen', 'withdrawn', 'supervisor', false, 'Citizen withdrew or never replied');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('escalated', 'in_progress', 'supervisor', false, 'Returned to the caseworker after escalation');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('escalated', 'resolved', 'supervisor', false, 'Resolved at the escalated level');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('resolved', 'in_progress', 'caseworker', false, 'Citizen not satisfied before closure');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('resolved', 'in_progress', 'supervisor', false, 'Citizen not satisfied before closure');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('resolved', 'closed', 'caseworker', false, 'Closed; starts the retention clock');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('resolved', 'closed', 'supervisor', false, 'Closed; starts the retention clock');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('closed', 'reopened', 'supervisor', false, 'A closed case reopened (stops the retention clock)');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('reopened', 'in_progress', 'caseworker', false, 'Work resumed on a reopened case');
INSERT INTO core.status_transitions (from_status, to_status, staff_role, requires_approval, description) VALUES ('reopened', 'in_progress', 'supervisor', false, 'Work resumed on a reopened case');

-- core.statuses statuses_never_removed (trigger)
CREATE TRIGGER statuses_never_removed BEFORE DELETE OR UPDATE OF status ON core.statuses FOR EACH ROW EXECUTE FUNCTION core.refuse_status_removal();

-- core.statuses statuses_never_truncated (trigger)
CREATE TRIGGER statuses_never_truncated BEFORE TRUNCATE ON core.statuses FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_status_removal();

-- core.status_transitions transitions_not_into_initial (trigger)
CREATE TRIGGER transitions_not_into_initial BEFORE INSERT OR UPDATE ON core.status_transitions FOR EACH ROW EXECUTE FUNCTION core.refuse_transition_into_initial();

-- core.staff_roles workflow_compiled (trigger)
CREATE TRIGGER workflow_compiled AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON core.staff_roles FOR EACH STATEMENT EXECUTE FUNCTION core.recompile_workflow();

-- core.status_transitions workflow_compiled (trigger)
CREATE TRIGGER workflow_compiled AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON core.status_transitions FOR EACH STATEMENT EXECUTE FUNCTION core.recompile_workflow();

-- core.statuses workflow_compiled (trigger)
CREATE TRIGGER workflow_compiled AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON core.statuses FOR EACH STATEMENT EXECUTE FUNCTION core.recompile_workflow();

