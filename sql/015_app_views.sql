-- 015 app views: what the application and the notebooks read.
--
-- Guarantees:
--   * app.<table> for every tenant table shows its live rows only (soft-deleted rows
--     hidden); the base tables keep everything for auditors;
--   * every view is security_invoker, so RLS on the base tables applies to the caller
--     (a view running as its owner would bypass department isolation);
--   * a role may read a view exactly when core.table_privileges lets it read the table.

set local role enquiries_owner;

do $views$
declare
    t record;
begin
    for t in
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind = 'r' order by c.relname
    loop
        execute format('create view app.%1$I with (security_invoker = true) as '
                       'select * from tenant.%1$I where deleted_at is null', t.relname);
        execute format('comment on view app.%1$I is %2$L', t.relname,
                       format('Live rows of tenant.%s (soft-deleted rows hidden); RLS applies to the caller.', t.relname));
    end loop;
end
$views$;

-- Enquiries whose retention period has passed, with no active legal hold.
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

do $grants$
declare
    p record;
begin
    for p in
        select db_role, substr(table_name, length('tenant.') + 1) as relname
        from core.table_privileges
        where privilege = 'SELECT' and table_name like 'tenant.%'
    loop
        execute format('grant select on app.%I to %I', p.relname, p.db_role);
    end loop;
end
$grants$;
grant select on app.disposal_candidates to enquiries_retention_officer, enquiries_supervisor, enquiries_auditor;
