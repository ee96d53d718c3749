-- 070 verified actor reads its department by value: audit.verified_actor (sql/036) looked up
-- the acting staff member with `tenant_id = tenant.current_tenant_id()`. On Citus the
-- function runs in the audit trigger on a shard, where a query of another distributed table
-- (tenant.staff) is allowed only as a local task on a colocated shard, i.e. when the
-- planner can route it to one shard; a function call in the filter cannot be routed, a
-- PL/pgSQL variable (a parameter) can, and the department's staff shard is colocated with
-- the row's. Same lookup, same errors, same result on single-node PostgreSQL.
-- Replaced as the migrating superuser: the function keeps its owner (enquiries_audit_writer, sql/008).

create or replace function audit.verified_actor(acting_role name) returns uuid
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    actor constant uuid := tenant.require_actor();
    department constant uuid := tenant.current_tenant_id();
    expected_role text;
    actual_role text;
begin
    select staff_role into expected_role from core.staff_roles where db_role = acting_role;
    if expected_role is null then
        -- provisioner, owner or superuser: attributed as declared (the trust boundary); any
        -- other role (the bare login after RESET ROLE) holds nothing and writes nothing
        if acting_role in ('enquiries_provisioner', 'enquiries_owner')
           or coalesce((select r.rolsuper from pg_roles r where r.rolname = acting_role), false) then
            return actor;
        end if;
        raise exception 'role % may not write: act as a staff role', acting_role using errcode = 'EL002';
    end if;
    select s.staff_role into actual_role
    from tenant.staff s
    where s.tenant_id = department and s.staff_id = actor
      and s.active and s.deleted_at is null;
    if actual_role is null then
        raise exception 'acting user % is not an active staff member of department %', actor, department
            using errcode = 'EL002';
    end if;
    if actual_role <> expected_role then
        raise exception 'acting user % is a %, but the session acts as %', actor, actual_role, acting_role
            using errcode = 'EL002';
    end if;
    return actor;
end
$$;
