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

set local role enquiries_owner;

create table core.table_privileges (
    table_name   text not null,      -- schema-qualified
    db_role      name not null,
    privilege    text not null check (privilege in ('SELECT', 'INSERT', 'UPDATE', 'SOFT_DELETE')),
    extra_check  text,               -- an extra condition ANDed into the policy, with the reason below
    reason       text,
    primary key (table_name, db_role, privilege)
);
grant select on core.table_privileges to public;  -- the model is no secret; the stamp trigger reads it
comment on table core.table_privileges is
    'The access model: each row grants one privilege on one table to one role (SOFT_DELETE is checked by the row-stamp trigger).';

insert into core.table_privileges (table_name, db_role, privilege)
select 'tenant.' || t, r, 'SELECT'
from unnest(array['departments', 'department_enquiry_types', 'teams', 'staff', 'contacts', 'enquiries',
                  'notes', 'assignments', 'escalations', 'legal_holds']) t
cross join unnest(array['enquiries_caseworker', 'enquiries_supervisor', 'enquiries_auditor',
                        'enquiries_retention_officer']::name[]) r;

insert into core.table_privileges (table_name, db_role, privilege) values
    -- onboarding
    ('tenant.departments',              'enquiries_provisioner', 'SELECT'),
    ('tenant.departments',              'enquiries_provisioner', 'INSERT'),
    ('tenant.departments',              'enquiries_provisioner', 'UPDATE'),
    ('tenant.department_enquiry_types', 'enquiries_provisioner', 'SELECT'),
    ('tenant.department_enquiry_types', 'enquiries_provisioner', 'INSERT'),
    ('tenant.department_enquiry_types', 'enquiries_provisioner', 'UPDATE'),
    ('tenant.department_enquiry_types', 'enquiries_provisioner', 'SOFT_DELETE'),
    ('tenant.teams',                    'enquiries_provisioner', 'SELECT'),
    ('tenant.teams',                    'enquiries_provisioner', 'INSERT'),
    ('tenant.teams',                    'enquiries_provisioner', 'UPDATE'),
    ('tenant.teams',                    'enquiries_provisioner', 'SOFT_DELETE'),
    ('tenant.staff',                    'enquiries_provisioner', 'SELECT'),
    ('tenant.staff',                    'enquiries_provisioner', 'INSERT'),
    ('tenant.staff',                    'enquiries_provisioner', 'UPDATE'),
    ('tenant.staff',                    'enquiries_provisioner', 'SOFT_DELETE'),
    -- casework
    ('tenant.contacts',     'enquiries_caseworker', 'INSERT'),
    ('tenant.contacts',     'enquiries_caseworker', 'UPDATE'),
    ('tenant.enquiries',    'enquiries_caseworker', 'INSERT'),
    ('tenant.enquiries',    'enquiries_caseworker', 'UPDATE'),
    ('tenant.notes',        'enquiries_caseworker', 'INSERT'),
    ('tenant.notes',        'enquiries_caseworker', 'UPDATE'),
    ('tenant.notes',        'enquiries_caseworker', 'SOFT_DELETE'),
    ('tenant.escalations',  'enquiries_caseworker', 'INSERT'),
    ('tenant.contacts',     'enquiries_supervisor', 'INSERT'),
    ('tenant.contacts',     'enquiries_supervisor', 'UPDATE'),
    ('tenant.contacts',     'enquiries_supervisor', 'SOFT_DELETE'),
    ('tenant.enquiries',    'enquiries_supervisor', 'INSERT'),
    ('tenant.enquiries',    'enquiries_supervisor', 'UPDATE'),
    ('tenant.enquiries',    'enquiries_supervisor', 'SOFT_DELETE'),
    ('tenant.notes',        'enquiries_supervisor', 'INSERT'),
    ('tenant.notes',        'enquiries_supervisor', 'UPDATE'),
    ('tenant.notes',        'enquiries_supervisor', 'SOFT_DELETE'),
    ('tenant.escalations',  'enquiries_supervisor', 'INSERT'),
    ('tenant.escalations',  'enquiries_supervisor', 'UPDATE'),
    ('tenant.legal_holds',  'enquiries_supervisor', 'INSERT'),
    ('tenant.legal_holds',  'enquiries_supervisor', 'UPDATE'),
    -- retention
    ('tenant.enquiries',    'enquiries_retention_officer', 'UPDATE'),
    ('tenant.contacts',     'enquiries_retention_officer', 'UPDATE'),
    ('tenant.notes',        'enquiries_retention_officer', 'UPDATE'),
    ('tenant.legal_holds',  'enquiries_retention_officer', 'INSERT'),
    ('tenant.legal_holds',  'enquiries_retention_officer', 'UPDATE'),
    -- the audit trail: auditors read it, only the capture functions' owner writes it
    ('audit.entries',       'enquiries_auditor',      'SELECT'),
    ('audit.entries',       'enquiries_audit_writer', 'INSERT'),
    ('tenant.staff',        'enquiries_audit_writer', 'SELECT');

-- Assignment history is written by the enquiry trigger, never directly: the insert policy
-- only passes inside a trigger (PUBLIC cannot create temporary tables, so no caller can
-- bring a trigger of their own; 002).
insert into core.table_privileges (table_name, db_role, privilege, extra_check, reason)
select 'tenant.assignments', r, 'INSERT', 'pg_trigger_depth() > 0',
       'assignment history is recorded by the enquiry trigger only'
from unnest(array['enquiries_caseworker', 'enquiries_supervisor']::name[]) r;

-- Apply the model: grants, RLS enabled and forced, the restrictive isolation policy, and
-- one permissive policy per role and command.
do $apply$
declare
    tbl text;
    p record;
    tenant_check constant text := 'tenant_id = (select tenant.current_tenant_id())';
    cond text;
begin
    for tbl in
        select format('%I.%I', n.nspname, c.relname)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition
          and (n.nspname = 'tenant' or (n.nspname = 'audit' and c.relname = 'entries'))
        order by 1
    loop
        execute format('alter table %s enable row level security', tbl);
        execute format('alter table %s force row level security', tbl);
        execute format('revoke all on %s from public', tbl);
        -- Rows are written into the context's department unless they say otherwise (and
        -- then WITH CHECK decides).
        if tbl <> 'tenant.departments' then
            execute format('alter table %s alter column tenant_id set default tenant.current_tenant_id()', tbl);
        end if;
        execute format('create policy tenant_isolation on %s as restrictive for all to public using (%s) with check (%s)',
                       tbl, tenant_check, tenant_check);
    end loop;

    for p in select * from core.table_privileges where privilege <> 'SOFT_DELETE' order by 1, 2, 3 loop
        execute format('grant %s on %s to %I', p.privilege, p.table_name, p.db_role);
        cond := tenant_check || coalesce(' and ' || p.extra_check, '');
        execute format('create policy %I on %s as permissive for %s to %I %s',
                       replace(p.db_role, 'enquiries_', '') || '_' || lower(p.privilege), p.table_name, p.privilege, p.db_role,
                       case p.privilege
                           when 'SELECT' then format('using (%s)', cond)
                           when 'INSERT' then format('with check (%s)', cond)
                           when 'UPDATE' then format('using (%s) with check (%s)', cond, cond)
                       end);
    end loop;
end
$apply$;
