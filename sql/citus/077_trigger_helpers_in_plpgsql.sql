-- citus 077 trigger helpers in PL/pgSQL: the disposal guard (sql/037 tenant.freeze_disposed)
-- asks tenant.enquiry_disposed(tenant, enquiry), an SQL function; on a shard Citus cannot plan
-- a query of a distributed table inside an SQL function with parameters ("could not create
-- distributed plan"), and every note, escalation and hold was refused. The same query as a
-- PL/pgSQL function: its parameters are bound like any other, the tenant_id routes it to the
-- colocated shard. Same result, same privileges.
-- runs after: 050
create or replace function tenant.enquiry_disposed(tenant uuid, enquiry uuid) returns boolean
    language plpgsql stable parallel safe
    as $$
begin
    return exists (select 1 from tenant.enquiries e where e.tenant_id = tenant and e.enquiry_id = enquiry and e.disposed_at is not null);
end
$$;
