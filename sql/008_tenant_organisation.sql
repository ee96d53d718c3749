-- 008 tenant organisation: the departments (tenants), their configuration, teams and staff.
--
-- Guarantees (for this and every tenant-scoped table):
--   * tenant_id NOT NULL and the first column of the primary key, every unique key and
--     every index, so uniqueness is per department and tenant_id is always an index prefix;
--   * foreign keys between tenant tables are composite (tenant_id, x_id) with an explicit
--     ON DELETE RESTRICT, so no row can point at another department's row; the only other
--     foreign keys point at core reference data;
--   * created_at/created_by/updated_at/updated_by/deleted_at/deleted_by on every table,
--     stamped by triggers (011), never trusted from the client.
-- RLS, privileges, audit capture and the soft-delete rule are applied in 010-014.

set local role enquiries_owner;

create table tenant.departments (
    tenant_id             uuid primary key,
    code                  text not null check (code ~ '^[A-Z][A-Z0-9]{1,11}$'),
    name                  text not null check (length(name) between 2 and 200),
    default_sla_days      integer not null default 20 check (default_sla_days between 1 and 365),
    escalation_after_days integer not null default 10 check (escalation_after_days between 1 and 365),
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    -- lint: allow unique-without-tenant: the department register itself; only the provisioner writes it
    unique (code)
);
comment on table tenant.departments is
    'The tenants. A session sees only its own department''s row; only the provisioner creates them.';

-- Which enquiry types a department handles, with its SLA target and escalation rule for each.
create table tenant.department_enquiry_types (
    tenant_id                    uuid not null references tenant.departments (tenant_id) on delete restrict,
    department_enquiry_type_id   uuid not null default gen_random_uuid(),
    enquiry_type                 text not null references core.enquiry_types (enquiry_type) on delete restrict,
    sla_days                     integer not null check (sla_days between 1 and 365),
    escalate_after_days          integer check (escalate_after_days between 1 and 365),
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    primary key (tenant_id, department_enquiry_type_id),
    unique (tenant_id, enquiry_type)
);

create table tenant.teams (
    tenant_id   uuid not null references tenant.departments (tenant_id) on delete restrict,
    team_id     uuid not null default gen_random_uuid(),
    name        text not null check (length(name) between 1 and 200),
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    primary key (tenant_id, team_id),
    unique (tenant_id, name)
);

create table tenant.staff (
    tenant_id   uuid not null references tenant.departments (tenant_id) on delete restrict,
    staff_id    uuid not null default gen_random_uuid(),
    team_id     uuid,
    staff_role  text not null references core.staff_roles (staff_role) on delete restrict,
    full_name   text not null check (length(full_name) between 1 and 200),
    email       text not null check (email ~ '^[^@\s]+@[^@\s]+$' and length(email) <= 320),
    active      boolean not null default true,
    created_at  timestamptz not null, created_by uuid not null,
    updated_at  timestamptz not null, updated_by uuid not null,
    deleted_at  timestamptz,          deleted_by uuid,
    check ((deleted_at is null) = (deleted_by is null)),
    primary key (tenant_id, staff_id),
    unique (tenant_id, email),
    foreign key (tenant_id, team_id) references tenant.teams (tenant_id, team_id) on delete restrict
);
create index staff_team on tenant.staff (tenant_id, team_id);
create index staff_role on tenant.staff (tenant_id, staff_role);
