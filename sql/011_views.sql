-- 011 views: the app read views (security_invoker, soft-deleted rows hidden).
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 015_app_views.sql =====
-- 015 app views: what the application and the notebooks read.
--
-- Guarantees:
--   * app.<table> for every tenant table shows its live rows only (soft-deleted rows
--     hidden); the base tables keep everything for auditors;
--   * every view is security_invoker, so RLS on the base tables applies to the caller
--     (a view running as its owner would bypass department isolation);
--   * a role may read a view exactly when core.table_privileges lets it read the table.

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- app.create_views() (function)
CREATE FUNCTION app.create_views() RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
declare
    t record;
    p record;
    created integer := 0;
begin
    -- app.<table>: the live rows of every tenant table, RLS applying to the caller (015).
    for t in
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind = 'r'
          and to_regclass(format('app.%I', c.relname)) is null
        order by c.relname
    loop
        execute format('create view app.%1$I with (security_invoker = true) as '
                       'select * from tenant.%1$I where deleted_at is null', t.relname);
        execute format('comment on view app.%1$I is %2$L', t.relname,
                       format('Live rows of tenant.%s (soft-deleted rows hidden); RLS applies to the caller.', t.relname));
        for p in
            select db_role from core.table_privileges
            where privilege = 'SELECT' and table_name = 'tenant.' || t.relname
        loop
            execute format('grant select on app.%I to %I', t.relname, p.db_role);
        end loop;
        created := created + 1;
    end loop;
    if to_regclass('app.disposal_candidates') is null then
        -- Enquiries whose retention period has passed, with no active legal hold (015).
        create view app.disposal_candidates with (security_invoker = true) as
        select e.tenant_id, e.enquiry_id, e.reference, e.status, e.closed_at, e.deleted_at,
               coalesce(e.closed_at, e.deleted_at) + r.retention_period as disposable_from
        from tenant.enquiries e
        cross join core.retention_rules r
        where r.rule = 'enquiry_records'
          and e.disposed_at is null
          and coalesce(e.closed_at, e.deleted_at) + r.retention_period <= now()
          and not exists (select from tenant.legal_holds h
                          where h.tenant_id = e.tenant_id and h.enquiry_id = e.enquiry_id
                            and h.released_at is null and h.deleted_at is null);
        grant select on app.disposal_candidates to enquiries_retention_officer, enquiries_supervisor, enquiries_auditor;
        created := created + 1;
    end if;
    return created;
end
$_$;


ALTER FUNCTION app.create_views() OWNER TO enquiries_owner;

-- app.FUNCTION create_views() (comment)
COMMENT ON FUNCTION app.create_views() IS 'Creates the app views (015) that are missing: a migration that changes a tenant column''s type drops the views naming it and calls this.';

-- app.assignments (view)
CREATE VIEW app.assignments WITH (security_invoker='true') AS
 SELECT assignments.tenant_id,
    assignments.assignment_id,
    assignments.enquiry_id,
    assignments.from_staff_id,
    assignments.to_staff_id,
    assignments.assigned_at,
    assignments.assigned_by,
    assignments.created_at,
    assignments.created_by,
    assignments.updated_at,
    assignments.updated_by,
    assignments.deleted_at,
    assignments.deleted_by
   FROM tenant.assignments
  WHERE (assignments.deleted_at IS NULL);


ALTER TABLE app.assignments OWNER TO enquiries_owner;

-- app.VIEW assignments (comment)
COMMENT ON VIEW app.assignments IS 'Live rows of tenant.assignments (soft-deleted rows hidden); RLS applies to the caller.';

-- app.contacts (view)
CREATE VIEW app.contacts WITH (security_invoker='true') AS
 SELECT contacts.tenant_id,
    contacts.contact_id,
    contacts.full_name,
    contacts.email,
    contacts.phone,
    contacts.address_line1,
    contacts.address_line2,
    contacts.town,
    contacts.postcode,
    contacts.preferred_channel,
    contacts.disposed_at,
    contacts.disposed_by,
    contacts.created_at,
    contacts.created_by,
    contacts.updated_at,
    contacts.updated_by,
    contacts.deleted_at,
    contacts.deleted_by
   FROM tenant.contacts
  WHERE (contacts.deleted_at IS NULL);


ALTER TABLE app.contacts OWNER TO enquiries_owner;

-- app.VIEW contacts (comment)
COMMENT ON VIEW app.contacts IS 'Live rows of tenant.contacts (soft-deleted rows hidden); RLS applies to the caller.';

-- app.department_enquiry_types (view)
CREATE VIEW app.department_enquiry_types WITH (security_invoker='true') AS
 SELECT department_enquiry_types.tenant_id,
    department_enquiry_types.department_enquiry_type_id,
    department_enquiry_types.enquiry_type,
    department_enquiry_types.sla_days,
    department_enquiry_types.escalate_after_days,
    department_enquiry_types.created_at,
    department_enquiry_types.created_by,
    department_enquiry_types.updated_at,
    department_enquiry_types.updated_by,
    department_enquiry_types.deleted_at,
    department_enquiry_types.deleted_by
   FROM tenant.department_enquiry_types
  WHERE (department_enquiry_types.deleted_at IS NULL);


ALTER TABLE app.department_enquiry_types OWNER TO enquiries_owner;

-- app.VIEW department_enquiry_types (comment)
COMMENT ON VIEW app.department_enquiry_types IS 'Live rows of tenant.department_enquiry_types (soft-deleted rows hidden); RLS applies to the caller.';

-- app.departments (view)
CREATE VIEW app.departments WITH (security_invoker='true') AS
 SELECT departments.tenant_id,
    departments.code,
    departments.name,
    departments.default_sla_days,
    departments.escalation_after_days,
    departments.created_at,
    departments.created_by,
    departments.updated_at,
    departments.updated_by,
    departments.deleted_at,
    departments.deleted_by
   FROM tenant.departments
  WHERE (departments.deleted_at IS NULL);


ALTER TABLE app.departments OWNER TO enquiries_owner;

-- app.VIEW departments (comment)
COMMENT ON VIEW app.departments IS 'Live rows of tenant.departments (soft-deleted rows hidden); RLS applies to the caller.';

-- app.disposal_candidates (view)
CREATE VIEW app.disposal_candidates WITH (security_invoker='true') AS
 SELECT e.tenant_id,
    e.enquiry_id,
    e.reference,
    e.status,
    e.closed_at,
    e.deleted_at,
    (COALESCE(e.closed_at, e.deleted_at) + r.retention_period) AS disposable_from
   FROM (tenant.enquiries e
     CROSS JOIN core.retention_rules r)
  WHERE ((r.rule = 'enquiry_records'::text) AND (e.disposed_at IS NULL) AND ((COALESCE(e.closed_at, e.deleted_at) + r.retention_period) <= now()) AND (NOT (EXISTS ( SELECT
           FROM tenant.legal_holds h
          WHERE ((h.tenant_id = e.tenant_id) AND (h.enquiry_id = e.enquiry_id) AND (h.released_at IS NULL) AND (h.deleted_at IS NULL))))));


ALTER TABLE app.disposal_candidates OWNER TO enquiries_owner;

-- app.enquiries (view)
CREATE VIEW app.enquiries WITH (security_invoker='true') AS
 SELECT enquiries.tenant_id,
    enquiries.enquiry_id,
    enquiries.reference,
    enquiries.contact_id,
    enquiries.enquiry_type,
    enquiries.channel,
    enquiries.priority,
    enquiries.subject,
    enquiries.body,
    enquiries.status,
    enquiries.assigned_to,
    enquiries.received_at,
    enquiries.due_at,
    enquiries.resolved_at,
    enquiries.closed_at,
    enquiries.escalation_count,
    enquiries.version,
    enquiries.disposed_at,
    enquiries.disposed_by,
    enquiries.created_at,
    enquiries.created_by,
    enquiries.updated_at,
    enquiries.updated_by,
    enquiries.deleted_at,
    enquiries.deleted_by
   FROM tenant.enquiries
  WHERE (enquiries.deleted_at IS NULL);


ALTER TABLE app.enquiries OWNER TO enquiries_owner;

-- app.VIEW enquiries (comment)
COMMENT ON VIEW app.enquiries IS 'Live rows of tenant.enquiries (soft-deleted rows hidden); RLS applies to the caller.';

-- app.escalations (view)
CREATE VIEW app.escalations WITH (security_invoker='true') AS
 SELECT escalations.tenant_id,
    escalations.escalation_id,
    escalations.enquiry_id,
    escalations.reason,
    escalations.requested_by,
    escalations.requested_at,
    escalations.decision,
    escalations.decided_by,
    escalations.decided_at,
    escalations.decision_note,
    escalations.created_at,
    escalations.created_by,
    escalations.updated_at,
    escalations.updated_by,
    escalations.deleted_at,
    escalations.deleted_by
   FROM tenant.escalations
  WHERE (escalations.deleted_at IS NULL);


ALTER TABLE app.escalations OWNER TO enquiries_owner;

-- app.VIEW escalations (comment)
COMMENT ON VIEW app.escalations IS 'Live rows of tenant.escalations (soft-deleted rows hidden); RLS applies to the caller.';

-- app.legal_holds (view)
CREATE VIEW app.legal_holds WITH (security_invoker='true') AS
 SELECT legal_holds.tenant_id,
    legal_holds.legal_hold_id,
    legal_holds.enquiry_id,
    legal_holds.reason,
    legal_holds.placed_by,
    legal_holds.placed_at,
    legal_holds.released_by,
    legal_holds.released_at,
    legal_holds.created_at,
    legal_holds.created_by,
    legal_holds.updated_at,
    legal_holds.updated_by,
    legal_holds.deleted_at,
    legal_holds.deleted_by
   FROM tenant.legal_holds
  WHERE (legal_holds.deleted_at IS NULL);


ALTER TABLE app.legal_holds OWNER TO enquiries_owner;

-- app.VIEW legal_holds (comment)
COMMENT ON VIEW app.legal_holds IS 'Live rows of tenant.legal_holds (soft-deleted rows hidden); RLS applies to the caller.';

-- app.notes (view)
CREATE VIEW app.notes WITH (security_invoker='true') AS
 SELECT notes.tenant_id,
    notes.note_id,
    notes.enquiry_id,
    notes.direction,
    notes.channel,
    notes.body,
    notes.disposed_at,
    notes.disposed_by,
    notes.created_at,
    notes.created_by,
    notes.updated_at,
    notes.updated_by,
    notes.deleted_at,
    notes.deleted_by
   FROM tenant.notes
  WHERE (notes.deleted_at IS NULL);


ALTER TABLE app.notes OWNER TO enquiries_owner;

-- app.VIEW notes (comment)
COMMENT ON VIEW app.notes IS 'Live rows of tenant.notes (soft-deleted rows hidden); RLS applies to the caller.';

-- app.staff (view)
CREATE VIEW app.staff WITH (security_invoker='true') AS
 SELECT staff.tenant_id,
    staff.staff_id,
    staff.team_id,
    staff.staff_role,
    staff.full_name,
    staff.email,
    staff.active,
    staff.created_at,
    staff.created_by,
    staff.updated_at,
    staff.updated_by,
    staff.deleted_at,
    staff.deleted_by
   FROM tenant.staff
  WHERE (staff.deleted_at IS NULL);


ALTER TABLE app.staff OWNER TO enquiries_owner;

-- app.VIEW staff (comment)
COMMENT ON VIEW app.staff IS 'Live rows of tenant.staff (soft-deleted rows hidden); RLS applies to the caller.';

-- app.teams (view)
CREATE VIEW app.teams WITH (security_invoker='true') AS
 SELECT teams.tenant_id,
    teams.team_id,
    teams.name,
    teams.created_at,
    teams.created_by,
    teams.updated_at,
    teams.updated_by,
    teams.deleted_at,
    teams.deleted_by
   FROM tenant.teams
  WHERE (teams.deleted_at IS NULL);


ALTER TABLE app.teams OWNER TO enquiries_owner;

-- app.VIEW teams (comment)
COMMENT ON VIEW app.teams IS 'Live rows of tenant.teams (soft-deleted rows hidden); RLS applies to the caller.';

-- app.FUNCTION create_views() (acl)
REVOKE ALL ON FUNCTION app.create_views() FROM PUBLIC;

-- app.TABLE assignments (acl)
GRANT SELECT ON TABLE app.assignments TO enquiries_caseworker;
GRANT SELECT ON TABLE app.assignments TO enquiries_supervisor;
GRANT SELECT ON TABLE app.assignments TO enquiries_auditor;
GRANT SELECT ON TABLE app.assignments TO enquiries_retention_officer;

-- app.TABLE contacts (acl)
GRANT SELECT ON TABLE app.contacts TO enquiries_caseworker;
GRANT SELECT ON TABLE app.contacts TO enquiries_supervisor;
GRANT SELECT ON TABLE app.contacts TO enquiries_auditor;
GRANT SELECT ON TABLE app.contacts TO enquiries_retention_officer;

-- app.TABLE department_enquiry_types (acl)
GRANT SELECT ON TABLE app.department_enquiry_types TO enquiries_caseworker;
GRANT SELECT ON TABLE app.department_enquiry_types TO enquiries_supervisor;
GRANT SELECT ON TABLE app.department_enquiry_types TO enquiries_auditor;
GRANT SELECT ON TABLE app.department_enquiry_types TO enquiries_retention_officer;
GRANT SELECT ON TABLE app.department_enquiry_types TO enquiries_provisioner;

-- app.TABLE departments (acl)
GRANT SELECT ON TABLE app.departments TO enquiries_caseworker;
GRANT SELECT ON TABLE app.departments TO enquiries_supervisor;
GRANT SELECT ON TABLE app.departments TO enquiries_auditor;
GRANT SELECT ON TABLE app.departments TO enquiries_retention_officer;
GRANT SELECT ON TABLE app.departments TO enquiries_provisioner;

-- app.TABLE disposal_candidates (acl)
GRANT SELECT ON TABLE app.disposal_candidates TO enquiries_retention_officer;
GRANT SELECT ON TABLE app.disposal_candidates TO enquiries_supervisor;
GRANT SELECT ON TABLE app.disposal_candidates TO enquiries_auditor;

-- app.TABLE enquiries (acl)
GRANT SELECT ON TABLE app.enquiries TO enquiries_caseworker;
GRANT SELECT ON TABLE app.enquiries TO enquiries_supervisor;
GRANT SELECT ON TABLE app.enquiries TO enquiries_auditor;
GRANT SELECT ON TABLE app.enquiries TO enquiries_retention_officer;

-- app.TABLE escalations (acl)
GRANT SELECT ON TABLE app.escalations TO enquiries_caseworker;
GRANT SELECT ON TABLE app.escalations TO enquiries_supervisor;
GRANT SELECT ON TABLE app.escalations TO enquiries_auditor;
GRANT SELECT ON TABLE app.escalations TO enquiries_retention_officer;

-- app.TABLE legal_holds (acl)
GRANT SELECT ON TABLE app.legal_holds TO enquiries_caseworker;
GRANT SELECT ON TABLE app.legal_holds TO enquiries_supervisor;
GRANT SELECT ON TABLE app.legal_holds TO enquiries_auditor;
GRANT SELECT ON TABLE app.legal_holds TO enquiries_retention_officer;

-- app.TABLE notes (acl)
GRANT SELECT ON TABLE app.notes TO enquiries_caseworker;
GRANT SELECT ON TABLE app.notes TO enquiries_supervisor;
GRANT SELECT ON TABLE app.notes TO enquiries_auditor;
GRANT SELECT ON TABLE app.notes TO enquiries_retention_officer;

-- app.TABLE staff (acl)
GRANT SELECT ON TABLE app.staff TO enquiries_caseworker;
GRANT SELECT ON TABLE app.staff TO enquiries_supervisor;
GRANT SELECT ON TABLE app.staff TO enquiries_auditor;
GRANT SELECT ON TABLE app.staff TO enquiries_retention_officer;
GRANT SELECT ON TABLE app.staff TO enquiries_provisioner;
GRANT SELECT ON TABLE app.staff TO enquiries_audit_writer;

-- app.TABLE teams (acl)
GRANT SELECT ON TABLE app.teams TO enquiries_caseworker;
GRANT SELECT ON TABLE app.teams TO enquiries_supervisor;
GRANT SELECT ON TABLE app.teams TO enquiries_auditor;
GRANT SELECT ON TABLE app.teams TO enquiries_retention_officer;
GRANT SELECT ON TABLE app.teams TO enquiries_provisioner;

