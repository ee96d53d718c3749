-- citus 070 policies without a sub-select: Citus refuses subqueries in the policies of a
-- distributed table, and every policy from the access matrix (sql/006, core.table_privileges)
-- reads the context as `(select tenant.current_tenant_id())`. Each such policy is rewritten
-- in place to call `tenant.current_tenant_id()` directly: the same predicate (a STABLE
-- function of the transaction's settings), derived from the policy itself, so the access
-- matrix stays the one source of truth. The readiness rule scale_out_policies accepts both
-- forms. Runs before the tables are distributed (Citus copies policies to the shards then):
-- runs after: 050
do $rewrite$
declare
    p record;
    subselect constant text := '( SELECT tenant.current_tenant_id() AS current_tenant_id)';
begin
    for p in
        select pol.polname, pol.polrelid::regclass as tbl,
               pg_get_expr(pol.polqual, pol.polrelid) as qual,
               pg_get_expr(pol.polwithcheck, pol.polrelid) as withcheck
        from pg_policy pol join pg_class c on c.oid = pol.polrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('tenant', 'audit')
          and (pg_get_expr(pol.polqual, pol.polrelid) like '%' || subselect || '%'
               or pg_get_expr(pol.polwithcheck, pol.polrelid) like '%' || subselect || '%')
    loop
        if p.qual is not null then
            execute format('alter policy %I on %s using (%s)', p.polname, p.tbl,
                           replace(p.qual, subselect, 'tenant.current_tenant_id()'));
        end if;
        if p.withcheck is not null then
            execute format('alter policy %I on %s with check (%s)', p.polname, p.tbl,
                           replace(p.withcheck, subselect, 'tenant.current_tenant_id()'));
        end if;
    end loop;
end
$rewrite$;
