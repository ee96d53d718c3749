-- 004 core reference data: the shared vocabulary every department uses.
--
-- Guarantees:
--   * statuses, priorities, channels, enquiry types and staff roles are rows, not code:
--     triggers, views and the generator read them from here;
--   * exactly one status is initial; terminal statuses start the retention clock;
--   * each staff role maps to exactly one database role, which is how the database knows
--     what the acting user is allowed to do;
--   * reference data is readable by every lab role and writable by none of them.

set local role enquiries_owner;

create table core.statuses (
    status          text primary key check (status ~ '^[a-z_]+$'),
    label           text not null,
    description     text not null,
    is_initial      boolean not null default false,
    is_terminal     boolean not null default false,   -- entering it sets closed_at (retention clock)
    is_open         boolean not null,                  -- counts as open work on a queue
    sla_clock_runs  boolean not null,                  -- false while waiting on the citizen
    sort_order      integer not null unique
);
create unique index statuses_one_initial on core.statuses (is_initial) where is_initial;

insert into core.statuses (status, label, description, is_initial, is_terminal, is_open, sla_clock_runs, sort_order) values
    ('new',              'New',              'Received, not yet assigned',                          true,  false, true,  true,  10),
    ('assigned',         'Assigned',         'Assigned to a caseworker, not started',               false, false, true,  true,  20),
    ('in_progress',      'In progress',      'Being worked on',                                     false, false, true,  true,  30),
    ('awaiting_citizen', 'Awaiting citizen', 'Waiting for information from the citizen',            false, false, true,  false, 40),
    ('escalated',        'Escalated',        'Escalated with a supervisor''s approval',             false, false, true,  true,  50),
    ('resolved',         'Resolved',         'Answer given; may still be reopened before closure',  false, false, false, false, 60),
    ('closed',           'Closed',           'Closed; the seven-year retention clock runs',         false, true,  false, false, 70),
    ('reopened',         'Reopened',         'Closed case reopened by a supervisor',                false, false, true,  true,  80),
    ('withdrawn',        'Withdrawn',        'Withdrawn by the citizen; retention clock runs',      false, true,  false, false, 90);

create table core.priorities (
    priority    text primary key check (priority ~ '^[a-z_]+$'),
    label       text not null,
    sla_factor  numeric(4,2) not null check (sla_factor > 0),  -- multiplies the department's SLA target
    sort_order  integer not null unique
);
insert into core.priorities values
    ('urgent', 'Urgent', 0.25, 10),
    ('high',   'High',   0.50, 20),
    ('normal', 'Normal', 1.00, 30),
    ('low',    'Low',    1.50, 40);

create table core.channels (
    channel  text primary key check (channel ~ '^[a-z_]+$'),
    label    text not null
);
insert into core.channels values
    ('web_form', 'Web form'), ('email', 'Email'), ('phone', 'Phone'), ('letter', 'Letter'), ('in_person', 'In person');

create table core.enquiry_types (
    enquiry_type  text primary key check (enquiry_type ~ '^[a-z_]+$'),
    label         text not null,
    description   text not null
);
insert into core.enquiry_types values
    ('general',             'General enquiry',        'A question that fits no other type'),
    ('complaint',           'Complaint',              'Dissatisfaction with a service or decision'),
    ('foi_request',         'Freedom of Information', 'A request under the Freedom of Information Act 2000'),
    ('subject_access',      'Subject access request', 'A request for personal data under UK GDPR'),
    ('payment_query',       'Payment query',          'A question about a payment, refund or charge'),
    ('application_status',  'Application status',     'Progress of an application or claim'),
    ('eligibility',         'Eligibility',            'Whether a service, benefit or licence applies'),
    ('correspondence_mp',   'MP correspondence',      'A letter from a Member of Parliament on a constituent''s behalf'),
    ('change_of_details',   'Change of details',      'Updating a name, address or contact details'),
    ('appeal',              'Appeal',                 'Challenge to a decision');

create table core.staff_roles (
    staff_role         text primary key check (staff_role ~ '^[a-z_]+$'),
    db_role            name not null unique,
    label              text not null,
    may_assign_others  boolean not null,   -- may assign or reassign an enquiry to someone else
    description        text not null
);
insert into core.staff_roles values
    ('caseworker',        'enquiries_caseworker',        'Caseworker',        false, 'Works their queue; may take (self-assign) new enquiries'),
    ('supervisor',        'enquiries_supervisor',        'Supervisor',        true,  'Assigns and reassigns, approves escalations, places legal holds'),
    ('auditor',           'enquiries_auditor',           'Auditor',           false, 'Reads the department''s data and audit trail; changes nothing'),
    ('retention_officer', 'enquiries_retention_officer', 'Retention officer', false, 'Disposes of records past retention; places legal holds');

-- The acting user's staff role, from the database role the session switched to.
create function core.current_staff_role() returns text
    language sql stable parallel safe
    as $$ select staff_role from core.staff_roles where db_role = current_user $$;

grant select on all tables in schema core to public;
grant execute on function core.current_staff_role() to public;
