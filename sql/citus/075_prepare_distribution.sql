-- citus 075 prepare distribution: what must change before 020 and 030 can distribute the
-- tables, found on a real cluster (Citus 13.2, PostgreSQL 15).
-- runs after: 050
--
--   * the settings of 010 are database defaults, which apply to new sessions only: the
--     migrating session sets them itself (session-level, so they hold for 020-050 too);
--   * a foreign key from a tenant table to a core table would make create_reference_table
--     turn the tenant table into a Citus local table, which then cannot be distributed
--     colocated: they are dropped here, kept in lab_meta.citus_deferred_constraints, and
--     re-created by 080 once both sides are distributed (tenant -> reference is allowed);
--   * UNIQUE (code) on tenant.departments does not include the distribution column, which
--     Citus refuses: on the cluster a code is unique within its department's key
--     (UNIQUE (tenant_id, code)); global uniqueness of codes is the provisioner's job there
--     (docs/scale-out.md says so);
--   * the core triggers that run DDL (sql/003 workflow_compiled, channels_compiled,
--     priorities_compiled recompile functions when the reference data change) would fire
--     on every node's copy of a reference table and break the copy: they are dropped; on
--     the cluster, core reference data change only by migration, which recompiles
--     (core.recompile_workflow() and the reference-type compiler run on the coordinator).
set citus.enable_unsafe_triggers = on;
set citus.propagate_set_commands = 'local';

create table lab_meta.citus_deferred_constraints (
    table_name regclass not null,
    constraint_name name not null,
    definition text not null,
    primary key (table_name, constraint_name)
);

insert into lab_meta.citus_deferred_constraints (table_name, constraint_name, definition)
select k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid)
from pg_constraint k
join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
join pg_class r on r.oid = k.confrelid join pg_namespace rn on rn.oid = r.relnamespace
where k.contype = 'f' and n.nspname in ('tenant', 'audit') and rn.nspname = 'core';

do $drop$
declare
    k record;
begin
    for k in select * from lab_meta.citus_deferred_constraints loop
        execute format('alter table %s drop constraint %I', k.table_name, k.constraint_name);
    end loop;
end
$drop$;

alter table tenant.departments drop constraint departments_code_key;
alter table tenant.departments add constraint departments_code_key unique (tenant_id, code);

drop trigger workflow_compiled on core.staff_roles;
drop trigger workflow_compiled on core.status_transitions;
drop trigger workflow_compiled on core.statuses;
drop trigger channels_compiled on core.channels;
drop trigger priorities_compiled on core.priorities;
