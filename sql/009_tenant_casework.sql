-- 009 tenant casework: citizens, enquiries, correspondence, assignment history,
-- escalations and legal holds.
--
-- Guarantees: the same tenant-key rules as 008 (tenant_id leads every key and index;
-- composite foreign keys with ON DELETE RESTRICT), plus:
--   * enquiries.reference is unique per department only;
--   * the current state of an enquiry is its `status`; `version` increases by exactly one
--     per change (optimistic concurrency, enforced in 013);
--   * closed_at is set on entering a terminal status: it starts the retention clock (for a
--     soft-deleted enquiry that never closed, deleted_at does);
--   * disposed_at/disposed_by mark records anonymised by the retention officer (014).
-- Indexes are the ones the shipped query patterns need: the caseworker queue
-- (assignee, oldest first), the supervisor dashboard (status), reports by type and month,
-- search by reference, and a record's children.

set local role enquiries_owner;

create table tenant.contacts (
    tenant_id      uuid not null references tenant.departments (tenant_id) on delete restrict,
    contact_id     uuid not null default gen_random_uuid(),
    full_name      text not null check (length(full_name) between 1 and 200),
    email          text check (length(email) <= 320),
    phone          text check (length(phone) <= 40),
    address_line1  text check (length(address_line1) <= 200),
    address_line2  text check (length(address_line2) <= 200),
    town           text check (length(town) <= 100),
    postcode       text check (length(postcode) <= 10),
    preferred_channel text references core.channels (channel) on delete restrict,
    disposed_at    timestamptz,
    disposed_by    uuid,
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    check ((disposed_at is null) = (disposed_by is null)),
    primary key (tenant_id, contact_id)
);
create index contacts_postcode on tenant.contacts (tenant_id, postcode);

create table tenant.enquiries (
    tenant_id         uuid not null references tenant.departments (tenant_id) on delete restrict,
    enquiry_id        uuid not null default gen_random_uuid(),
    reference         text not null check (reference ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'),
    contact_id        uuid not null,
    enquiry_type      text not null,
    channel           text not null references core.channels (channel) on delete restrict,
    priority          text not null default 'normal' references core.priorities (priority) on delete restrict,
    subject           text not null check (length(subject) between 1 and 300),
    body              text not null check (length(body) <= 20000),
    status            text not null references core.statuses (status) on delete restrict,
    assigned_to       uuid,
    received_at       timestamptz not null,
    due_at            timestamptz not null,   -- SLA target, from the department's rule for the type
    resolved_at       timestamptz,
    closed_at         timestamptz,            -- entering a terminal status; starts the retention clock
    escalation_count  integer not null default 0 check (escalation_count >= 0),
    version           integer not null default 1 check (version >= 1),
    disposed_at       timestamptz,
    disposed_by       uuid,
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    check ((disposed_at is null) = (disposed_by is null)),
    check (disposed_at is null or closed_at is not null or deleted_at is not null),
    primary key (tenant_id, enquiry_id),
    unique (tenant_id, reference),
    foreign key (tenant_id, contact_id) references tenant.contacts (tenant_id, contact_id) on delete restrict,
    foreign key (tenant_id, enquiry_type) references tenant.department_enquiry_types (tenant_id, enquiry_type) on delete restrict,
    foreign key (tenant_id, assigned_to) references tenant.staff (tenant_id, staff_id) on delete restrict
);
create index enquiries_queue    on tenant.enquiries (tenant_id, assigned_to, received_at);
create index enquiries_status   on tenant.enquiries (tenant_id, status, received_at);
create index enquiries_type     on tenant.enquiries (tenant_id, enquiry_type, received_at);
create index enquiries_contact  on tenant.enquiries (tenant_id, contact_id);
create index enquiries_closed   on tenant.enquiries (tenant_id, closed_at) where closed_at is not null;

create table tenant.notes (
    tenant_id    uuid not null references tenant.departments (tenant_id) on delete restrict,
    note_id      uuid not null default gen_random_uuid(),
    enquiry_id   uuid not null,
    direction    text not null check (direction in ('internal', 'inbound', 'outbound')),
    channel      text references core.channels (channel) on delete restrict,
    body         text not null check (length(body) <= 20000),
    disposed_at  timestamptz,
    disposed_by  uuid,
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    check ((disposed_at is null) = (disposed_by is null)),
    primary key (tenant_id, note_id),
    foreign key (tenant_id, enquiry_id) references tenant.enquiries (tenant_id, enquiry_id) on delete restrict
);
create index notes_enquiry on tenant.notes (tenant_id, enquiry_id, created_at);

-- Written only by the enquiry trigger when assigned_to changes (013).
create table tenant.assignments (
    tenant_id      uuid not null references tenant.departments (tenant_id) on delete restrict,
    assignment_id  uuid not null default gen_random_uuid(),
    enquiry_id     uuid not null,
    from_staff_id  uuid,                       -- NULL for the first assignment
    to_staff_id    uuid not null,
    assigned_at    timestamptz not null,
    assigned_by    uuid not null,
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    check (from_staff_id is distinct from to_staff_id),
    primary key (tenant_id, assignment_id),
    foreign key (tenant_id, enquiry_id) references tenant.enquiries (tenant_id, enquiry_id) on delete restrict,
    foreign key (tenant_id, from_staff_id) references tenant.staff (tenant_id, staff_id) on delete restrict,
    foreign key (tenant_id, to_staff_id) references tenant.staff (tenant_id, staff_id) on delete restrict
);
create index assignments_enquiry on tenant.assignments (tenant_id, enquiry_id, assigned_at);
create index assignments_to      on tenant.assignments (tenant_id, to_staff_id);
create index assignments_from    on tenant.assignments (tenant_id, from_staff_id);

-- A caseworker's request to escalate, and the supervisor's decision on it.
create table tenant.escalations (
    tenant_id      uuid not null references tenant.departments (tenant_id) on delete restrict,
    escalation_id  uuid not null default gen_random_uuid(),
    enquiry_id     uuid not null,
    reason         text not null check (length(reason) between 1 and 2000),
    requested_by   uuid not null,
    requested_at   timestamptz not null,
    decision       text not null default 'pending' check (decision in ('pending', 'approved', 'rejected')),
    decided_by     uuid,
    decided_at     timestamptz,
    decision_note  text check (length(decision_note) <= 2000),
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    check ((decision = 'pending') = (decided_by is null and decided_at is null)),
    primary key (tenant_id, escalation_id),
    foreign key (tenant_id, enquiry_id) references tenant.enquiries (tenant_id, enquiry_id) on delete restrict,
    foreign key (tenant_id, requested_by) references tenant.staff (tenant_id, staff_id) on delete restrict,
    foreign key (tenant_id, decided_by) references tenant.staff (tenant_id, staff_id) on delete restrict
);
create index escalations_enquiry   on tenant.escalations (tenant_id, enquiry_id, decision);
create index escalations_requester on tenant.escalations (tenant_id, requested_by);
create index escalations_decider   on tenant.escalations (tenant_id, decided_by);

create table tenant.legal_holds (
    tenant_id      uuid not null references tenant.departments (tenant_id) on delete restrict,
    legal_hold_id  uuid not null default gen_random_uuid(),
    enquiry_id     uuid not null,
    reason         text not null check (length(reason) between 1 and 2000),
    placed_by      uuid not null,
    placed_at      timestamptz not null,
    released_by    uuid,
    released_at    timestamptz,
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    check ((released_at is null) = (released_by is null)),
    primary key (tenant_id, legal_hold_id),
    foreign key (tenant_id, enquiry_id) references tenant.enquiries (tenant_id, enquiry_id) on delete restrict,
    foreign key (tenant_id, placed_by) references tenant.staff (tenant_id, staff_id) on delete restrict,
    foreign key (tenant_id, released_by) references tenant.staff (tenant_id, staff_id) on delete restrict
);
create index legal_holds_enquiry on tenant.legal_holds (tenant_id, enquiry_id);
create index legal_holds_placed  on tenant.legal_holds (tenant_id, placed_by);
create index legal_holds_released on tenant.legal_holds (tenant_id, released_by);
