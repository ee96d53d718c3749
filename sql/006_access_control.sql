-- 006 access control: privileges, row level security and the DDL guard.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 007_ddl_guard.sql =====
-- 007 DDL guard: the owner cannot switch the safeguards off.
--
-- Table owners may normally disable triggers, drop policies or turn RLS off on their
-- own tables. Object ownership is held by enquiries_owner (NOLOGIN), but any login that
-- is made a member of it could do so; these event triggers refuse it.
--
-- Guarantees, for every session whose login is not a superuser:
--   * no DDL at all on objects in the audit schema (EL202);
--   * no trigger on a tenant or audit table may be left disabled (EL202);
--   * no tenant table that has policies may be left without RLS enabled and forced (EL202);
--   * nobody may be granted UPDATE, DELETE or TRUNCATE on audit.entries, nor DELETE,
--     TRUNCATE, REFERENCES or TRIGGER on a tenant table (EL202);
--   * nothing in the audit schema, and no policy or trigger on a tenant table, can be
--     dropped (EL202).
-- Superusers are outside the database's protection by definition; what they can still
-- do to the audit trail is made detectable by tamper evidence (see docs/security-model.md).
-- Creating event triggers needs a superuser: migrations run as one.
--
-- ===== from 010_access_control.sql =====
-- 010 access control: who may do what to which table, as data, enforced by GRANTs and
-- Row Level Security generated from that data.
--
-- Guarantees:
--   * core.table_privileges is the whole access model: a role holds a privilege on a
--     table only if a row here says so (tests iterate over it; nothing else grants);
--   * RLS is ENABLED and FORCED on every tenant table and on audit.entries, so the owner
--     is filtered too;
--   * department isolation is a RESTRICTIVE policy (tenant_isolation) that no permissive
--     policy can widen; each permissive policy repeats the tenant check as well, because
--     Citus copies restrictive policies to shards as permissive (docs/scale-out.md);
--   * one permissive policy per role and command, with WITH CHECK on INSERT and UPDATE so
--     no row can be written into, or moved to, another department;
--   * the context lookup is a sub-select, evaluated once per query (InitPlan), so
--     tenant_id remains an index condition;
--   * no lab role is granted DELETE, TRUNCATE, REFERENCES or TRIGGER on any table;
--   * tenant_id defaults to the context's department, so clients need not repeat it.

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- audit.guard_ddl() (function)
CREATE FUNCTION audit.guard_ddl() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    cmd record;
    offender text;
begin
    if (select rolsuper from pg_roles where rolname = session_user) then
        return;
    end if;
    for cmd in select * from pg_event_trigger_ddl_commands() loop
        if cmd.schema_name = 'audit' then
            raise exception 'DDL on the audit trail is refused (%: %)', cmd.command_tag, cmd.object_identity
                using errcode = 'EL202';
        end if;
    end loop;
    select format('trigger %s on %s is disabled', t.tgname, t.tgrelid::regclass) into offender
    from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('tenant', 'audit') and not t.tgisinternal and t.tgenabled = 'D'
    limit 1;
    if offender is null then
        select format('row level security is not enabled and forced on %s', c.oid::regclass) into offender
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind in ('r', 'p')
          and not (c.relrowsecurity and c.relforcerowsecurity)
          and exists (select from pg_policy p where p.polrelid = c.oid)
        limit 1;
    end if;
    if offender is null then
        select format('%s holds %s on %s', coalesce(r.rolname, 'PUBLIC'), a.privilege_type, c.oid::regclass) into offender
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join lateral aclexplode(c.relacl) a
        left join pg_roles r on r.oid = a.grantee
        where n.nspname in ('tenant', 'audit') and c.relkind in ('r', 'p')
          and a.privilege_type in ('UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')
          and (n.nspname = 'audit' and c.relname = 'entries' and a.privilege_type <> 'REFERENCES' and a.privilege_type <> 'TRIGGER'
               or a.privilege_type in ('DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER') and a.grantee <> c.relowner)
        limit 1;
    end if;
    if offender is not null then
        raise exception 'refused: % (the audit and isolation safeguards cannot be switched off)', offender
            using errcode = 'EL202';
    end if;
end
$$;

-- audit.guard_drop() (function)
CREATE FUNCTION audit.guard_drop() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    obj record;
begin
    if (select rolsuper from pg_roles where rolname = session_user) then
        return;
    end if;
    for obj in select * from pg_event_trigger_dropped_objects() loop
        if obj.schema_name = 'audit'
           or (obj.schema_name = 'tenant' and obj.object_type in ('policy', 'trigger', 'table')) then
            raise exception 'dropping % % is refused', obj.object_type, obj.object_identity
                using errcode = 'EL202';
        end if;
    end loop;
end
$$;

-- core.table_privileges (table)
CREATE TABLE core.table_privileges (
    table_name text NOT NULL,
    db_role name NOT NULL,
    privilege text NOT NULL,
    extra_check text,
    reason text,
    CONSTRAINT table_privileges_privilege_check CHECK ((privilege = ANY (ARRAY['SELECT'::text, 'INSERT'::text, 'UPDATE'::text, 'SOFT_DELETE'::text])))
);


ALTER TABLE core.table_privileges OWNER TO enquiries_owner;

-- core.TABLE table_privileges (comment)
COMMENT ON TABLE core.table_privileges IS 'The access model: each row grants one privilege on one table to one role (SOFT_DELETE is checked by the row-stamp trigger).';

-- core.table_privileges table_privileges_pkey (constraint)
ALTER TABLE ONLY core.table_privileges
    ADD CONSTRAINT table_privileges_pkey PRIMARY KEY (table_name, db_role, privilege);

-- tenant.assignments (row security)
ALTER TABLE tenant.assignments ENABLE ROW LEVEL SECURITY;

-- tenant.staff audit_writer_select (policy)
CREATE POLICY audit_writer_select ON tenant.staff FOR SELECT TO enquiries_audit_writer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.assignments auditor_select (policy)
CREATE POLICY auditor_select ON tenant.assignments FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts auditor_select (policy)
CREATE POLICY auditor_select ON tenant.contacts FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types auditor_select (policy)
CREATE POLICY auditor_select ON tenant.department_enquiry_types FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments auditor_select (policy)
CREATE POLICY auditor_select ON tenant.departments FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries auditor_select (policy)
CREATE POLICY auditor_select ON tenant.enquiries FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations auditor_select (policy)
CREATE POLICY auditor_select ON tenant.escalations FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds auditor_select (policy)
CREATE POLICY auditor_select ON tenant.legal_holds FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes auditor_select (policy)
CREATE POLICY auditor_select ON tenant.notes FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff auditor_select (policy)
CREATE POLICY auditor_select ON tenant.staff FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams auditor_select (policy)
CREATE POLICY auditor_select ON tenant.teams FOR SELECT TO enquiries_auditor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.assignments caseworker_insert (policy)
CREATE POLICY caseworker_insert ON tenant.assignments FOR INSERT TO enquiries_caseworker WITH CHECK (((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)) AND (pg_trigger_depth() > 0)));

-- tenant.contacts caseworker_insert (policy)
CREATE POLICY caseworker_insert ON tenant.contacts FOR INSERT TO enquiries_caseworker WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries caseworker_insert (policy)
CREATE POLICY caseworker_insert ON tenant.enquiries FOR INSERT TO enquiries_caseworker WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations caseworker_insert (policy)
CREATE POLICY caseworker_insert ON tenant.escalations FOR INSERT TO enquiries_caseworker WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes caseworker_insert (policy)
CREATE POLICY caseworker_insert ON tenant.notes FOR INSERT TO enquiries_caseworker WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.assignments caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.assignments FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.contacts FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.department_enquiry_types FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.departments FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.enquiries FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.escalations FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.legal_holds FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.notes FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.staff FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams caseworker_select (policy)
CREATE POLICY caseworker_select ON tenant.teams FOR SELECT TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts caseworker_update (policy)
CREATE POLICY caseworker_update ON tenant.contacts FOR UPDATE TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries caseworker_update (policy)
CREATE POLICY caseworker_update ON tenant.enquiries FOR UPDATE TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes caseworker_update (policy)
CREATE POLICY caseworker_update ON tenant.notes FOR UPDATE TO enquiries_caseworker USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts (row security)
ALTER TABLE tenant.contacts ENABLE ROW LEVEL SECURITY;

-- tenant.department_enquiry_types (row security)
ALTER TABLE tenant.department_enquiry_types ENABLE ROW LEVEL SECURITY;

-- tenant.departments (row security)
ALTER TABLE tenant.departments ENABLE ROW LEVEL SECURITY;

-- tenant.enquiries (row security)
ALTER TABLE tenant.enquiries ENABLE ROW LEVEL SECURITY;

-- tenant.escalations (row security)
ALTER TABLE tenant.escalations ENABLE ROW LEVEL SECURITY;

-- tenant.legal_holds (row security)
ALTER TABLE tenant.legal_holds ENABLE ROW LEVEL SECURITY;

-- tenant.notes (row security)
ALTER TABLE tenant.notes ENABLE ROW LEVEL SECURITY;

-- tenant.department_enquiry_types provisioner_insert (policy)
CREATE POLICY provisioner_insert ON tenant.department_enquiry_types FOR INSERT TO enquiries_provisioner WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments provisioner_insert (policy)
CREATE POLICY provisioner_insert ON tenant.departments FOR INSERT TO enquiries_provisioner WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff provisioner_insert (policy)
CREATE POLICY provisioner_insert ON tenant.staff FOR INSERT TO enquiries_provisioner WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams provisioner_insert (policy)
CREATE POLICY provisioner_insert ON tenant.teams FOR INSERT TO enquiries_provisioner WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types provisioner_select (policy)
CREATE POLICY provisioner_select ON tenant.department_enquiry_types FOR SELECT TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments provisioner_select (policy)
CREATE POLICY provisioner_select ON tenant.departments FOR SELECT TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff provisioner_select (policy)
CREATE POLICY provisioner_select ON tenant.staff FOR SELECT TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams provisioner_select (policy)
CREATE POLICY provisioner_select ON tenant.teams FOR SELECT TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types provisioner_update (policy)
CREATE POLICY provisioner_update ON tenant.department_enquiry_types FOR UPDATE TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments provisioner_update (policy)
CREATE POLICY provisioner_update ON tenant.departments FOR UPDATE TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff provisioner_update (policy)
CREATE POLICY provisioner_update ON tenant.staff FOR UPDATE TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams provisioner_update (policy)
CREATE POLICY provisioner_update ON tenant.teams FOR UPDATE TO enquiries_provisioner USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds retention_officer_insert (policy)
CREATE POLICY retention_officer_insert ON tenant.legal_holds FOR INSERT TO enquiries_retention_officer WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.assignments retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.assignments FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.contacts FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.department_enquiry_types FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.departments FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.enquiries FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.escalations FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.legal_holds FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.notes FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.staff FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams retention_officer_select (policy)
CREATE POLICY retention_officer_select ON tenant.teams FOR SELECT TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts retention_officer_update (policy)
CREATE POLICY retention_officer_update ON tenant.contacts FOR UPDATE TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries retention_officer_update (policy)
CREATE POLICY retention_officer_update ON tenant.enquiries FOR UPDATE TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds retention_officer_update (policy)
CREATE POLICY retention_officer_update ON tenant.legal_holds FOR UPDATE TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes retention_officer_update (policy)
CREATE POLICY retention_officer_update ON tenant.notes FOR UPDATE TO enquiries_retention_officer USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff (row security)
ALTER TABLE tenant.staff ENABLE ROW LEVEL SECURITY;

-- tenant.assignments supervisor_insert (policy)
CREATE POLICY supervisor_insert ON tenant.assignments FOR INSERT TO enquiries_supervisor WITH CHECK (((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)) AND (pg_trigger_depth() > 0)));

-- tenant.contacts supervisor_insert (policy)
CREATE POLICY supervisor_insert ON tenant.contacts FOR INSERT TO enquiries_supervisor WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries supervisor_insert (policy)
CREATE POLICY supervisor_insert ON tenant.enquiries FOR INSERT TO enquiries_supervisor WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations supervisor_insert (policy)
CREATE POLICY supervisor_insert ON tenant.escalations FOR INSERT TO enquiries_supervisor WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds supervisor_insert (policy)
CREATE POLICY supervisor_insert ON tenant.legal_holds FOR INSERT TO enquiries_supervisor WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes supervisor_insert (policy)
CREATE POLICY supervisor_insert ON tenant.notes FOR INSERT TO enquiries_supervisor WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.assignments supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.assignments FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.contacts FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.department_enquiry_types FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.departments FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.enquiries FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.escalations FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.legal_holds FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.notes FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.staff FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams supervisor_select (policy)
CREATE POLICY supervisor_select ON tenant.teams FOR SELECT TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts supervisor_update (policy)
CREATE POLICY supervisor_update ON tenant.contacts FOR UPDATE TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries supervisor_update (policy)
CREATE POLICY supervisor_update ON tenant.enquiries FOR UPDATE TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations supervisor_update (policy)
CREATE POLICY supervisor_update ON tenant.escalations FOR UPDATE TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds supervisor_update (policy)
CREATE POLICY supervisor_update ON tenant.legal_holds FOR UPDATE TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes supervisor_update (policy)
CREATE POLICY supervisor_update ON tenant.notes FOR UPDATE TO enquiries_supervisor USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams (row security)
ALTER TABLE tenant.teams ENABLE ROW LEVEL SECURITY;

-- tenant.assignments tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.assignments AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.contacts tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.contacts AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.department_enquiry_types tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.department_enquiry_types AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.departments tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.departments AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.enquiries tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.enquiries AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.escalations tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.escalations AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.legal_holds tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.legal_holds AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.notes tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.notes AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.staff tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.staff AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- tenant.teams tenant_isolation (policy)
CREATE POLICY tenant_isolation ON tenant.teams AS RESTRICTIVE USING ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id))) WITH CHECK ((tenant_id = ( SELECT tenant.current_tenant_id() AS current_tenant_id)));

-- SCHEMA app (acl)
GRANT USAGE ON SCHEMA app TO enquiries_caseworker;
GRANT USAGE ON SCHEMA app TO enquiries_supervisor;
GRANT USAGE ON SCHEMA app TO enquiries_auditor;
GRANT USAGE ON SCHEMA app TO enquiries_retention_officer;
GRANT USAGE ON SCHEMA app TO enquiries_provisioner;
GRANT USAGE ON SCHEMA app TO enquiries_audit_writer;

-- SCHEMA audit (acl)
GRANT USAGE ON SCHEMA audit TO enquiries_caseworker;
GRANT USAGE ON SCHEMA audit TO enquiries_supervisor;
GRANT USAGE ON SCHEMA audit TO enquiries_auditor;
GRANT USAGE ON SCHEMA audit TO enquiries_retention_officer;
GRANT USAGE ON SCHEMA audit TO enquiries_provisioner;
GRANT USAGE ON SCHEMA audit TO enquiries_audit_writer;

-- SCHEMA core (acl)
GRANT USAGE ON SCHEMA core TO enquiries_caseworker;
GRANT USAGE ON SCHEMA core TO enquiries_supervisor;
GRANT USAGE ON SCHEMA core TO enquiries_auditor;
GRANT USAGE ON SCHEMA core TO enquiries_retention_officer;
GRANT USAGE ON SCHEMA core TO enquiries_provisioner;
GRANT USAGE ON SCHEMA core TO enquiries_audit_writer;

-- SCHEMA tenant (acl)
GRANT USAGE ON SCHEMA tenant TO enquiries_caseworker;
GRANT USAGE ON SCHEMA tenant TO enquiries_supervisor;
GRANT USAGE ON SCHEMA tenant TO enquiries_auditor;
GRANT USAGE ON SCHEMA tenant TO enquiries_retention_officer;
GRANT USAGE ON SCHEMA tenant TO enquiries_provisioner;
GRANT USAGE ON SCHEMA tenant TO enquiries_audit_writer;

-- audit.FUNCTION business_time_mode() (acl)
GRANT ALL ON FUNCTION audit.business_time_mode() TO enquiries_audit_writer;

-- tenant.FUNCTION current_tenant_id() (acl)
GRANT ALL ON FUNCTION tenant.current_tenant_id() TO enquiries_audit_writer;

-- core.FUNCTION compile_reference_types() (acl)
REVOKE ALL ON FUNCTION core.compile_reference_types() FROM PUBLIC;

-- core.FUNCTION compile_workflow() (acl)
REVOKE ALL ON FUNCTION core.compile_workflow() FROM PUBLIC;

-- core.FUNCTION recompile_reference_types() (acl)
REVOKE ALL ON FUNCTION core.recompile_reference_types() FROM PUBLIC;

-- core.FUNCTION recompile_workflow() (acl)
REVOKE ALL ON FUNCTION core.recompile_workflow() FROM PUBLIC;

-- core.FUNCTION refuse_reference_removal() (acl)
REVOKE ALL ON FUNCTION core.refuse_reference_removal() FROM PUBLIC;

-- core.FUNCTION refuse_status_removal() (acl)
REVOKE ALL ON FUNCTION core.refuse_status_removal() FROM PUBLIC;

-- core.FUNCTION refuse_transition_into_initial() (acl)
REVOKE ALL ON FUNCTION core.refuse_transition_into_initial() FROM PUBLIC;

-- tenant.FUNCTION require_actor() (acl)
GRANT ALL ON FUNCTION tenant.require_actor() TO enquiries_audit_writer;

-- tenant.TABLE assignments (acl)
GRANT SELECT ON TABLE tenant.assignments TO enquiries_auditor;
GRANT SELECT,INSERT ON TABLE tenant.assignments TO enquiries_caseworker;
GRANT SELECT ON TABLE tenant.assignments TO enquiries_retention_officer;
GRANT SELECT,INSERT ON TABLE tenant.assignments TO enquiries_supervisor;

-- tenant.TABLE contacts (acl)
GRANT SELECT ON TABLE tenant.contacts TO enquiries_auditor;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.contacts TO enquiries_caseworker;
GRANT SELECT,UPDATE ON TABLE tenant.contacts TO enquiries_retention_officer;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.contacts TO enquiries_supervisor;

-- tenant.TABLE department_enquiry_types (acl)
GRANT SELECT ON TABLE tenant.department_enquiry_types TO enquiries_auditor;
GRANT SELECT ON TABLE tenant.department_enquiry_types TO enquiries_caseworker;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.department_enquiry_types TO enquiries_provisioner;
GRANT SELECT ON TABLE tenant.department_enquiry_types TO enquiries_retention_officer;
GRANT SELECT ON TABLE tenant.department_enquiry_types TO enquiries_supervisor;

-- tenant.TABLE departments (acl)
GRANT SELECT ON TABLE tenant.departments TO enquiries_auditor;
GRANT SELECT ON TABLE tenant.departments TO enquiries_caseworker;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.departments TO enquiries_provisioner;
GRANT SELECT ON TABLE tenant.departments TO enquiries_retention_officer;
GRANT SELECT ON TABLE tenant.departments TO enquiries_supervisor;

-- tenant.TABLE enquiries (acl)
GRANT SELECT ON TABLE tenant.enquiries TO enquiries_auditor;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.enquiries TO enquiries_caseworker;
GRANT SELECT,UPDATE ON TABLE tenant.enquiries TO enquiries_retention_officer;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.enquiries TO enquiries_supervisor;

-- tenant.TABLE legal_holds (acl)
GRANT SELECT ON TABLE tenant.legal_holds TO enquiries_auditor;
GRANT SELECT ON TABLE tenant.legal_holds TO enquiries_caseworker;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.legal_holds TO enquiries_retention_officer;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.legal_holds TO enquiries_supervisor;

-- tenant.TABLE escalations (acl)
GRANT SELECT ON TABLE tenant.escalations TO enquiries_auditor;
GRANT SELECT,INSERT ON TABLE tenant.escalations TO enquiries_caseworker;
GRANT SELECT ON TABLE tenant.escalations TO enquiries_retention_officer;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.escalations TO enquiries_supervisor;

-- tenant.TABLE notes (acl)
GRANT SELECT ON TABLE tenant.notes TO enquiries_auditor;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.notes TO enquiries_caseworker;
GRANT SELECT,UPDATE ON TABLE tenant.notes TO enquiries_retention_officer;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.notes TO enquiries_supervisor;

-- tenant.TABLE staff (acl)
GRANT SELECT ON TABLE tenant.staff TO enquiries_audit_writer;
GRANT SELECT ON TABLE tenant.staff TO enquiries_auditor;
GRANT SELECT ON TABLE tenant.staff TO enquiries_caseworker;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.staff TO enquiries_provisioner;
GRANT SELECT ON TABLE tenant.staff TO enquiries_retention_officer;
GRANT SELECT ON TABLE tenant.staff TO enquiries_supervisor;

-- tenant.TABLE teams (acl)
GRANT SELECT ON TABLE tenant.teams TO enquiries_auditor;
GRANT SELECT ON TABLE tenant.teams TO enquiries_caseworker;
GRANT SELECT,INSERT,UPDATE ON TABLE tenant.teams TO enquiries_provisioner;
GRANT SELECT ON TABLE tenant.teams TO enquiries_retention_officer;
GRANT SELECT ON TABLE tenant.teams TO enquiries_supervisor;

-- core.TABLE staff_roles (acl)
GRANT SELECT ON TABLE core.staff_roles TO PUBLIC;

-- core.TABLE status_transitions (acl)
GRANT SELECT ON TABLE core.status_transitions TO PUBLIC;

-- core.TABLE channels (acl)
GRANT SELECT ON TABLE core.channels TO PUBLIC;

-- core.TABLE enquiry_types (acl)
GRANT SELECT ON TABLE core.enquiry_types TO PUBLIC;

-- core.TABLE priorities (acl)
GRANT SELECT ON TABLE core.priorities TO PUBLIC;

-- core.TABLE statuses (acl)
GRANT SELECT ON TABLE core.statuses TO PUBLIC;

-- core.TABLE table_privileges (acl)
GRANT SELECT ON TABLE core.table_privileges TO PUBLIC;

-- enquiries_guard_ddl (event trigger)
CREATE EVENT TRIGGER enquiries_guard_ddl ON ddl_command_end
   EXECUTE FUNCTION audit.guard_ddl();

-- enquiries_guard_drop (event trigger)
CREATE EVENT TRIGGER enquiries_guard_drop ON sql_drop
   EXECUTE FUNCTION audit.guard_drop();

-- core.table_privileges (rows)
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.assignments', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_caseworker', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.assignments', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_supervisor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.assignments', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.assignments', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_retention_officer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_provisioner', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_provisioner', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.departments', 'enquiries_provisioner', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_provisioner', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_provisioner', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_provisioner', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.department_enquiry_types', 'enquiries_provisioner', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_provisioner', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_provisioner', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_provisioner', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.teams', 'enquiries_provisioner', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_provisioner', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_provisioner', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_provisioner', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_provisioner', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_caseworker', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_caseworker', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_caseworker', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_caseworker', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_caseworker', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_caseworker', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_caseworker', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_caseworker', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_supervisor', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_supervisor', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_supervisor', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_supervisor', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_supervisor', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_supervisor', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_supervisor', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_supervisor', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_supervisor', 'SOFT_DELETE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_supervisor', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.escalations', 'enquiries_supervisor', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_supervisor', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_supervisor', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.enquiries', 'enquiries_retention_officer', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.contacts', 'enquiries_retention_officer', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.notes', 'enquiries_retention_officer', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_retention_officer', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.legal_holds', 'enquiries_retention_officer', 'UPDATE', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('audit.entries', 'enquiries_auditor', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('audit.entries', 'enquiries_audit_writer', 'INSERT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.staff', 'enquiries_audit_writer', 'SELECT', NULL, NULL);
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.assignments', 'enquiries_caseworker', 'INSERT', 'pg_trigger_depth() > 0', 'assignment history is recorded by the enquiry trigger only');
INSERT INTO core.table_privileges (table_name, db_role, privilege, extra_check, reason) VALUES ('tenant.assignments', 'enquiries_supervisor', 'INSERT', 'pg_trigger_depth() > 0', 'assignment history is recorded by the enquiry trigger only');

