-- 005 tenant tables: the department-scoped tables with their final keys, checks and storage settings.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 008_tenant_organisation.sql =====
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
--
-- ===== from 009_tenant_casework.sql =====
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
--
-- ===== from 028_implied_tenant_foreign_keys_dropped.sql =====
-- 028 implied tenant foreign keys dropped: a table whose composite foreign key already reaches
-- another tenant table no longer checks tenant_id against tenant.departments as well.
--
-- tenant.enquiries references (tenant_id, contact_id) in tenant.contacts, and notes,
-- assignments, escalations and legal holds reference (tenant_id, enquiry_id) in
-- tenant.enquiries. Those keys are NOT NULL, so every row passes the composite check, and the
-- row it finds carries the same tenant_id, which its own table checked against
-- tenant.departments when it was written (contacts keep that key, and so do staff and
-- teams). The single-column key said nothing the composite one did not; its only effect was
-- one more foreign-key check, a query with a row lock on the department row, for every row
-- inserted: ~4.5% of the generator's server instructions (docs/benchmarks.md, Generator).
--
-- Guarantees: unchanged. A row still cannot name a department that does not exist (its
-- composite key finds no row there) or another department's row (23503, "not present", as
-- before); physical deletes are refused for everyone (011), so no department can disappear
-- from under its rows; tenant_id never changes (EL204). Tested by
-- tests/test_isolation.py::test_a_row_cannot_name_a_department_that_does_not_exist.
--
-- ===== from 030_time_ordered_keys.sql =====
-- 030 time-ordered keys: every generated key of a tenant table is a UUID version 7, whose
-- first 48 bits are the time it was made (RFC 9562), instead of a random version 4.
--
-- Why: a random key sends each new index entry to a random leaf of the whole index, so every
-- index keyed by one (the primary keys, and enquiries_contact, notes_enquiry and
-- assignments_enquiry, which lead with a random enquiry or contact id) needs all of its pages
-- in memory; once the indexes outgrow shared_buffers each insert or workflow update reads a
-- page back and writes another out, and after every checkpoint the first change to each page
-- logs a full-page image. Measured on a million-enquiry generation: 3.4 of its 7.0 buffer
-- misses per enquiry were such leaves (docs/benchmarks.md). Time-ordered keys keep the recent
-- records, which are the ones being worked on, together at the right of each index.
-- (PostgreSQL 18's uuidv7() makes the same layout; this function also runs on 15-17.)
--
-- Guarantees:
--   * core.time_ordered_uuid(at, random_bits) is random_bits with its first 48 bits replaced
--     by `at` in Unix milliseconds and the version (7) and variant bits set: deterministic, so
--     a replayed history gives the same ids;
--   * every uuid key column of a tenant table defaults to a time-ordered key of the wall clock
--     with 74 random bits;
--   * an assignment's id is the time-ordered key of its business time whose other bits come
--     from the enquiry and version, as before (so replaying the same history still gives the
--     same rows), in both the statement form (013) and the row form (019, the Citus profile).
-- (tests/test_keys.py)
--
-- ===== from 032_enquiry_updates_stay_on_their_page.sql =====
-- 032 enquiry updates stay on their page: the status index goes, and enquiry pages keep room
-- for the next version of their rows.
--
-- Why: every workflow step is an UPDATE of tenant.enquiries. An UPDATE that changes an indexed
-- column, or finds no room on the row's page, writes the new version elsewhere and a new entry
-- in every index of the table (seven here), and the whole ~1 KB row goes to the WAL again.
-- The status changes at every step, and (tenant_id, status, received_at) was indexed for the
-- supervisor dashboard, but no shipped query uses that index: the dashboard counts all of a
-- department's enquiries (a sequential or bitmap scan), the queue uses the assignee index, the
-- month report the type index (plans in docs/benchmarks.md; tests/test_plan_guards.py checks
-- what the patterns need). Without it, a step that changes neither the assignee nor closed_at
-- (starting work, waiting on the citizen, resolving) can be a HOT update: the new version on
-- the same page, no index entry, only the changed bytes logged. A fill factor of 70 leaves the
-- room on each page for that; pruning frees a page's dead versions for the next one.
-- Measured side by side on 100,000 enquiries (benchmarks/generator_io.py): WAL records per
-- enquiry 93.4 -> 76.8, server CPU ~11% lower, the enquiries heap a quarter smaller.
--
-- Guarantees: none changes; the status is still checked by the workflow trigger (029, 031).
--
-- ===== from 035_enquiry_pages_keep_half_free.sql =====
-- 035 enquiry pages keep half free: tenant.enquiries' fill factor goes from 70 (032) to 50.
--
-- Why: a workflow step is a HOT update (the new version on the row's own page, no index entry)
-- only if the page has room for it. The generator, like any batch of casework, changes many
-- enquiries of a page in one transaction, and the page's dead versions cannot be pruned before
-- that transaction ends, so each page needs room for a new version of most of its rows at once:
-- with 30% free, 40% of the steps that could be HOT were not (pg_waldump: 1.9 HOT against 3.0
-- other updates per enquiry), and each of those wrote an entry into every index of the table.
-- With half of each page free, side by side on 100,000 enquiries (benchmarks/generator_io.py):
-- WAL per enquiry 16.0 -> 15.5 KiB, server CPU over client CPU 3.48, 3.41 -> 3.34, 3.28, and the
-- database is smaller, not larger (fewer index entries outweigh the emptier pages). A fill
-- factor of 40 measured the same as 50 within noise, 60 in between (docs/benchmarks.md, fifth
-- pass).
--
-- Applies to pages written from now on; existing pages keep their rows (a VACUUM FULL or
-- pg_repack repacks them, if wanted). Guarantees: none changes.

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- core.time_ordered_uuid(timestamp with time zone, uuid) (function)
CREATE FUNCTION core.time_ordered_uuid(at timestamp with time zone, random_bits uuid) RETURNS uuid
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (encode(set_byte(set_byte(OVERLAY(uuid_send(random_bits) PLACING SUBSTRING(int8send((floor((EXTRACT(epoch FROM (at - '1970-01-01 00:00:00+00'::timestamp with time zone)) * (1000)::numeric)))::bigint) FROM 3) FROM 1 FOR 6), 6, ((get_byte(uuid_send(random_bits), 6) & 15) | 112)), 8, ((get_byte(uuid_send(random_bits), 8) & 63) | 128)), 'hex'::text))::uuid;


ALTER FUNCTION core.time_ordered_uuid(at timestamp with time zone, random_bits uuid) OWNER TO enquiries_owner;

-- core.FUNCTION time_ordered_uuid(at timestamp with time zone, random_bits uuid) (comment)
COMMENT ON FUNCTION core.time_ordered_uuid(at timestamp with time zone, random_bits uuid) IS 'UUID version 7 (RFC 9562): the time in Unix milliseconds, then the other bits of random_bits.';

-- tenant.assignments (table)
CREATE TABLE tenant.assignments (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    assignment_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    enquiry_id uuid NOT NULL,
    from_staff_id uuid,
    to_staff_id uuid NOT NULL,
    assigned_at timestamp with time zone NOT NULL,
    assigned_by uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT assignments_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT assignments_check1 CHECK ((from_staff_id IS DISTINCT FROM to_staff_id))
);

ALTER TABLE ONLY tenant.assignments FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.assignments OWNER TO enquiries_owner;

-- tenant.contacts (table)
CREATE TABLE tenant.contacts (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    contact_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    full_name text NOT NULL,
    email text,
    phone text,
    address_line1 text,
    address_line2 text,
    town text,
    postcode text,
    preferred_channel core.channel,
    disposed_at timestamp with time zone,
    disposed_by uuid,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT contacts_address_line1_check CHECK ((length(address_line1) <= 200)),
    CONSTRAINT contacts_address_line2_check CHECK ((length(address_line2) <= 200)),
    CONSTRAINT contacts_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT contacts_check1 CHECK (((disposed_at IS NULL) = (disposed_by IS NULL))),
    CONSTRAINT contacts_email_check CHECK ((length(email) <= 320)),
    CONSTRAINT contacts_full_name_check CHECK (((length(full_name) >= 1) AND (length(full_name) <= 200))),
    CONSTRAINT contacts_phone_check CHECK ((length(phone) <= 40)),
    CONSTRAINT contacts_postcode_check CHECK ((length(postcode) <= 10)),
    CONSTRAINT contacts_town_check CHECK ((length(town) <= 100))
);

ALTER TABLE ONLY tenant.contacts FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.contacts OWNER TO enquiries_owner;

-- tenant.department_enquiry_types (table)
CREATE TABLE tenant.department_enquiry_types (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    department_enquiry_type_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    enquiry_type text NOT NULL,
    sla_days integer NOT NULL,
    escalate_after_days integer,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT department_enquiry_types_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT department_enquiry_types_escalate_after_days_check CHECK (((escalate_after_days >= 1) AND (escalate_after_days <= 365))),
    CONSTRAINT department_enquiry_types_sla_days_check CHECK (((sla_days >= 1) AND (sla_days <= 365)))
);

ALTER TABLE ONLY tenant.department_enquiry_types FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.department_enquiry_types OWNER TO enquiries_owner;

-- tenant.departments (table)
CREATE TABLE tenant.departments (
    tenant_id uuid NOT NULL,
    code text NOT NULL,
    name text NOT NULL,
    default_sla_days integer DEFAULT 20 NOT NULL,
    escalation_after_days integer DEFAULT 10 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT departments_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT departments_code_check CHECK ((code ~ '^[A-Z][A-Z0-9]{1,11}$'::text)),
    CONSTRAINT departments_default_sla_days_check CHECK (((default_sla_days >= 1) AND (default_sla_days <= 365))),
    CONSTRAINT departments_escalation_after_days_check CHECK (((escalation_after_days >= 1) AND (escalation_after_days <= 365))),
    CONSTRAINT departments_name_check CHECK (((length(name) >= 2) AND (length(name) <= 200)))
);

ALTER TABLE ONLY tenant.departments FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.departments OWNER TO enquiries_owner;

-- tenant.TABLE departments (comment)
COMMENT ON TABLE tenant.departments IS 'The tenants. A session sees only its own department''s row; only the provisioner creates them.';

-- tenant.enquiries (table)
CREATE TABLE tenant.enquiries (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    enquiry_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    reference core.enquiry_reference NOT NULL,
    contact_id uuid NOT NULL,
    enquiry_type text NOT NULL,
    channel core.channel NOT NULL,
    priority core.priority DEFAULT 'normal'::text NOT NULL,
    subject core.enquiry_subject NOT NULL,
    body core.enquiry_body NOT NULL,
    status text NOT NULL,
    assigned_to uuid,
    received_at timestamp with time zone NOT NULL,
    due_at timestamp with time zone NOT NULL,
    resolved_at timestamp with time zone,
    closed_at timestamp with time zone,
    escalation_count integer DEFAULT 0 NOT NULL,
    version integer DEFAULT 1 NOT NULL,
    disposed_at timestamp with time zone,
    disposed_by uuid,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT enquiries_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT enquiries_check1 CHECK (((disposed_at IS NULL) = (disposed_by IS NULL))),
    CONSTRAINT enquiries_check2 CHECK (((disposed_at IS NULL) OR (closed_at IS NOT NULL) OR (deleted_at IS NOT NULL))),
    CONSTRAINT enquiries_escalation_count_check CHECK ((escalation_count >= 0)),
    CONSTRAINT enquiries_version_check CHECK ((version >= 1))
)
WITH (fillfactor='50');

ALTER TABLE ONLY tenant.enquiries FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.enquiries OWNER TO enquiries_owner;

-- tenant.legal_holds (table)
CREATE TABLE tenant.legal_holds (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    legal_hold_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    enquiry_id uuid NOT NULL,
    reason text NOT NULL,
    placed_by uuid NOT NULL,
    placed_at timestamp with time zone NOT NULL,
    released_by uuid,
    released_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT legal_holds_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT legal_holds_check1 CHECK (((released_at IS NULL) = (released_by IS NULL))),
    CONSTRAINT legal_holds_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 2000)))
);

ALTER TABLE ONLY tenant.legal_holds FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.legal_holds OWNER TO enquiries_owner;

-- tenant.escalations (table)
CREATE TABLE tenant.escalations (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    escalation_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    enquiry_id uuid NOT NULL,
    reason text NOT NULL,
    requested_by uuid NOT NULL,
    requested_at timestamp with time zone NOT NULL,
    decision text DEFAULT 'pending'::text NOT NULL,
    decided_by uuid,
    decided_at timestamp with time zone,
    decision_note text,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT escalations_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT escalations_check1 CHECK (((decision = 'pending'::text) = ((decided_by IS NULL) AND (decided_at IS NULL)))),
    CONSTRAINT escalations_decision_check CHECK ((decision = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text]))),
    CONSTRAINT escalations_decision_note_check CHECK ((length(decision_note) <= 2000)),
    CONSTRAINT escalations_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 2000)))
);

ALTER TABLE ONLY tenant.escalations FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.escalations OWNER TO enquiries_owner;

-- tenant.notes (table)
CREATE TABLE tenant.notes (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    note_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    enquiry_id uuid NOT NULL,
    direction text NOT NULL,
    channel core.channel,
    body text NOT NULL,
    disposed_at timestamp with time zone,
    disposed_by uuid,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT notes_body_check CHECK ((length(body) <= 20000)),
    CONSTRAINT notes_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT notes_check1 CHECK (((disposed_at IS NULL) = (disposed_by IS NULL))),
    CONSTRAINT notes_direction_check CHECK ((direction = ANY (ARRAY['internal'::text, 'inbound'::text, 'outbound'::text])))
);

ALTER TABLE ONLY tenant.notes FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.notes OWNER TO enquiries_owner;

-- tenant.staff (table)
CREATE TABLE tenant.staff (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    staff_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    team_id uuid,
    staff_role text NOT NULL,
    full_name text NOT NULL,
    email text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT staff_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT staff_email_check CHECK (((email ~ '^[^@\s]+@[^@\s]+$'::text) AND (length(email) <= 320))),
    CONSTRAINT staff_full_name_check CHECK (((length(full_name) >= 1) AND (length(full_name) <= 200)))
);

ALTER TABLE ONLY tenant.staff FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.staff OWNER TO enquiries_owner;

-- tenant.teams (table)
CREATE TABLE tenant.teams (
    tenant_id uuid DEFAULT tenant.current_tenant_id() NOT NULL,
    team_id uuid DEFAULT core.time_ordered_uuid(clock_timestamp(), gen_random_uuid()) NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    created_by uuid NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    updated_by uuid NOT NULL,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    CONSTRAINT teams_check CHECK (((deleted_at IS NULL) = (deleted_by IS NULL))),
    CONSTRAINT teams_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

ALTER TABLE ONLY tenant.teams FORCE ROW LEVEL SECURITY;


ALTER TABLE tenant.teams OWNER TO enquiries_owner;

-- tenant.assignments assignments_pkey (constraint)
ALTER TABLE ONLY tenant.assignments
    ADD CONSTRAINT assignments_pkey PRIMARY KEY (tenant_id, assignment_id);

-- tenant.contacts contacts_pkey (constraint)
ALTER TABLE ONLY tenant.contacts
    ADD CONSTRAINT contacts_pkey PRIMARY KEY (tenant_id, contact_id);

-- tenant.department_enquiry_types department_enquiry_types_pkey (constraint)
ALTER TABLE ONLY tenant.department_enquiry_types
    ADD CONSTRAINT department_enquiry_types_pkey PRIMARY KEY (tenant_id, department_enquiry_type_id);

-- tenant.department_enquiry_types department_enquiry_types_tenant_id_enquiry_type_key (constraint)
ALTER TABLE ONLY tenant.department_enquiry_types
    ADD CONSTRAINT department_enquiry_types_tenant_id_enquiry_type_key UNIQUE (tenant_id, enquiry_type);

-- tenant.departments departments_code_key (constraint)
ALTER TABLE ONLY tenant.departments
    -- lint: allow unique-without-tenant: the department register itself; only the provisioner writes it
    ADD CONSTRAINT departments_code_key UNIQUE (code);

-- tenant.departments departments_pkey (constraint)
ALTER TABLE ONLY tenant.departments
    ADD CONSTRAINT departments_pkey PRIMARY KEY (tenant_id);

-- tenant.enquiries enquiries_pkey (constraint)
ALTER TABLE ONLY tenant.enquiries
    ADD CONSTRAINT enquiries_pkey PRIMARY KEY (tenant_id, enquiry_id);

-- tenant.enquiries enquiries_tenant_id_reference_key (constraint)
ALTER TABLE ONLY tenant.enquiries
    ADD CONSTRAINT enquiries_tenant_id_reference_key UNIQUE (tenant_id, reference);

-- tenant.escalations escalations_pkey (constraint)
ALTER TABLE ONLY tenant.escalations
    ADD CONSTRAINT escalations_pkey PRIMARY KEY (tenant_id, escalation_id);

-- tenant.legal_holds legal_holds_pkey (constraint)
ALTER TABLE ONLY tenant.legal_holds
    ADD CONSTRAINT legal_holds_pkey PRIMARY KEY (tenant_id, legal_hold_id);

-- tenant.notes notes_pkey (constraint)
ALTER TABLE ONLY tenant.notes
    ADD CONSTRAINT notes_pkey PRIMARY KEY (tenant_id, note_id);

-- tenant.staff staff_pkey (constraint)
ALTER TABLE ONLY tenant.staff
    ADD CONSTRAINT staff_pkey PRIMARY KEY (tenant_id, staff_id);

-- tenant.staff staff_tenant_id_email_key (constraint)
ALTER TABLE ONLY tenant.staff
    ADD CONSTRAINT staff_tenant_id_email_key UNIQUE (tenant_id, email);

-- tenant.teams teams_pkey (constraint)
ALTER TABLE ONLY tenant.teams
    ADD CONSTRAINT teams_pkey PRIMARY KEY (tenant_id, team_id);

-- tenant.teams teams_tenant_id_name_key (constraint)
ALTER TABLE ONLY tenant.teams
    ADD CONSTRAINT teams_tenant_id_name_key UNIQUE (tenant_id, name);

-- tenant.assignments_enquiry (index)
CREATE INDEX assignments_enquiry ON tenant.assignments USING btree (tenant_id, enquiry_id, assigned_at);

-- tenant.assignments_from (index)
CREATE INDEX assignments_from ON tenant.assignments USING btree (tenant_id, from_staff_id);

-- tenant.assignments_to (index)
CREATE INDEX assignments_to ON tenant.assignments USING btree (tenant_id, to_staff_id);

-- tenant.contacts_postcode (index)
CREATE INDEX contacts_postcode ON tenant.contacts USING btree (tenant_id, postcode);

-- tenant.enquiries_closed (index)
CREATE INDEX enquiries_closed ON tenant.enquiries USING btree (tenant_id, closed_at) WHERE (closed_at IS NOT NULL);

-- tenant.enquiries_contact (index)
CREATE INDEX enquiries_contact ON tenant.enquiries USING btree (tenant_id, contact_id);

-- tenant.enquiries_queue (index)
CREATE INDEX enquiries_queue ON tenant.enquiries USING btree (tenant_id, assigned_to, received_at);

-- tenant.enquiries_type (index)
CREATE INDEX enquiries_type ON tenant.enquiries USING btree (tenant_id, enquiry_type, received_at);

-- tenant.escalations_decider (index)
CREATE INDEX escalations_decider ON tenant.escalations USING btree (tenant_id, decided_by);

-- tenant.escalations_enquiry (index)
CREATE INDEX escalations_enquiry ON tenant.escalations USING btree (tenant_id, enquiry_id, decision);

-- tenant.escalations_requester (index)
CREATE INDEX escalations_requester ON tenant.escalations USING btree (tenant_id, requested_by);

-- tenant.legal_holds_enquiry (index)
CREATE INDEX legal_holds_enquiry ON tenant.legal_holds USING btree (tenant_id, enquiry_id);

-- tenant.legal_holds_placed (index)
CREATE INDEX legal_holds_placed ON tenant.legal_holds USING btree (tenant_id, placed_by);

-- tenant.legal_holds_released (index)
CREATE INDEX legal_holds_released ON tenant.legal_holds USING btree (tenant_id, released_by);

-- tenant.notes_enquiry (index)
CREATE INDEX notes_enquiry ON tenant.notes USING btree (tenant_id, enquiry_id, created_at);

-- tenant.staff_role (index)
CREATE INDEX staff_role ON tenant.staff USING btree (tenant_id, staff_role);

-- tenant.staff_team (index)
CREATE INDEX staff_team ON tenant.staff USING btree (tenant_id, team_id);

-- tenant.assignments assignments_tenant_id_enquiry_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.assignments
    ADD CONSTRAINT assignments_tenant_id_enquiry_id_fkey FOREIGN KEY (tenant_id, enquiry_id) REFERENCES tenant.enquiries(tenant_id, enquiry_id) ON DELETE RESTRICT;

-- tenant.assignments assignments_tenant_id_from_staff_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.assignments
    ADD CONSTRAINT assignments_tenant_id_from_staff_id_fkey FOREIGN KEY (tenant_id, from_staff_id) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.assignments assignments_tenant_id_to_staff_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.assignments
    ADD CONSTRAINT assignments_tenant_id_to_staff_id_fkey FOREIGN KEY (tenant_id, to_staff_id) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.contacts contacts_tenant_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.contacts
    ADD CONSTRAINT contacts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenant.departments(tenant_id) ON DELETE RESTRICT;

-- tenant.department_enquiry_types department_enquiry_types_enquiry_type_fkey (fk constraint)
ALTER TABLE ONLY tenant.department_enquiry_types
    ADD CONSTRAINT department_enquiry_types_enquiry_type_fkey FOREIGN KEY (enquiry_type) REFERENCES core.enquiry_types(enquiry_type) ON DELETE RESTRICT;

-- tenant.department_enquiry_types department_enquiry_types_tenant_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.department_enquiry_types
    ADD CONSTRAINT department_enquiry_types_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenant.departments(tenant_id) ON DELETE RESTRICT;

-- tenant.enquiries enquiries_tenant_id_assigned_to_fkey (fk constraint)
ALTER TABLE ONLY tenant.enquiries
    ADD CONSTRAINT enquiries_tenant_id_assigned_to_fkey FOREIGN KEY (tenant_id, assigned_to) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.enquiries enquiries_tenant_id_contact_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.enquiries
    ADD CONSTRAINT enquiries_tenant_id_contact_id_fkey FOREIGN KEY (tenant_id, contact_id) REFERENCES tenant.contacts(tenant_id, contact_id) ON DELETE RESTRICT;

-- tenant.enquiries enquiries_tenant_id_enquiry_type_fkey (fk constraint)
ALTER TABLE ONLY tenant.enquiries
    ADD CONSTRAINT enquiries_tenant_id_enquiry_type_fkey FOREIGN KEY (tenant_id, enquiry_type) REFERENCES tenant.department_enquiry_types(tenant_id, enquiry_type) ON DELETE RESTRICT;

-- tenant.escalations escalations_tenant_id_decided_by_fkey (fk constraint)
ALTER TABLE ONLY tenant.escalations
    ADD CONSTRAINT escalations_tenant_id_decided_by_fkey FOREIGN KEY (tenant_id, decided_by) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.escalations escalations_tenant_id_enquiry_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.escalations
    ADD CONSTRAINT escalations_tenant_id_enquiry_id_fkey FOREIGN KEY (tenant_id, enquiry_id) REFERENCES tenant.enquiries(tenant_id, enquiry_id) ON DELETE RESTRICT;

-- tenant.escalations escalations_tenant_id_requested_by_fkey (fk constraint)
ALTER TABLE ONLY tenant.escalations
    ADD CONSTRAINT escalations_tenant_id_requested_by_fkey FOREIGN KEY (tenant_id, requested_by) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.legal_holds legal_holds_tenant_id_enquiry_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.legal_holds
    ADD CONSTRAINT legal_holds_tenant_id_enquiry_id_fkey FOREIGN KEY (tenant_id, enquiry_id) REFERENCES tenant.enquiries(tenant_id, enquiry_id) ON DELETE RESTRICT;

-- tenant.legal_holds legal_holds_tenant_id_placed_by_fkey (fk constraint)
ALTER TABLE ONLY tenant.legal_holds
    ADD CONSTRAINT legal_holds_tenant_id_placed_by_fkey FOREIGN KEY (tenant_id, placed_by) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.legal_holds legal_holds_tenant_id_released_by_fkey (fk constraint)
ALTER TABLE ONLY tenant.legal_holds
    ADD CONSTRAINT legal_holds_tenant_id_released_by_fkey FOREIGN KEY (tenant_id, released_by) REFERENCES tenant.staff(tenant_id, staff_id) ON DELETE RESTRICT;

-- tenant.notes notes_tenant_id_enquiry_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.notes
    ADD CONSTRAINT notes_tenant_id_enquiry_id_fkey FOREIGN KEY (tenant_id, enquiry_id) REFERENCES tenant.enquiries(tenant_id, enquiry_id) ON DELETE RESTRICT;

-- tenant.staff staff_staff_role_fkey (fk constraint)
ALTER TABLE ONLY tenant.staff
    ADD CONSTRAINT staff_staff_role_fkey FOREIGN KEY (staff_role) REFERENCES core.staff_roles(staff_role) ON DELETE RESTRICT;

-- tenant.staff staff_tenant_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.staff
    ADD CONSTRAINT staff_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenant.departments(tenant_id) ON DELETE RESTRICT;

-- tenant.staff staff_tenant_id_team_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.staff
    ADD CONSTRAINT staff_tenant_id_team_id_fkey FOREIGN KEY (tenant_id, team_id) REFERENCES tenant.teams(tenant_id, team_id) ON DELETE RESTRICT;

-- tenant.teams teams_tenant_id_fkey (fk constraint)
ALTER TABLE ONLY tenant.teams
    ADD CONSTRAINT teams_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenant.departments(tenant_id) ON DELETE RESTRICT;

