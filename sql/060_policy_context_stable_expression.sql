-- 060 policies compare tenant_id with the context as a stable expression, not a sub-select.
--
-- Why: with `tenant_id = (select tenant.current_tenant_id())` the department is an InitPlan
-- parameter, unknown while planning, so the planner estimated every department as an average
-- one (1/20 of the rows) and planned the dominant department's aggregates for that (a serial
-- bitmap scan where the explicit filter gets a parallel scan: 1.75-2.4x, docs/benchmarks.md).
-- `tenant_id = tenant.current_tenant_id()` is a STABLE, inlinable SQL function: the planner
-- folds it while estimating (the department's own statistics are used), an index condition
-- evaluates it once per scan, and it is the form Citus accepts in a policy on a distributed
-- table (it refuses sub-queries; docs/scale-out.md). A sequential-scan filter evaluates it per
-- row: measured side by side as `bench rls` variants (docs/benchmarks.md, docs/design.md).
--
-- Guarantees:
--   * every policy on a tenant table and on audit.entries that compared tenant_id with the
--     sub-select `(select tenant.current_tenant_id())` compares it with
--     `tenant.current_tenant_id()` instead, in USING and WITH CHECK alike, and nothing else in
--     the policy changes (roles, command, permissive or restrictive, other conditions);
--   * the rewrite is generated from the catalog, so the access model (core.table_privileges
--     and the policies 006, 008 and 037 created from it) stays the one source: no policy is
--     restated by hand here;
--   * isolation is unchanged: NULL context (no department) still matches no row, because
--     tenant_id is NOT NULL and `tenant_id = NULL` is never true (tests/test_isolation.py,
--     tests/test_attacks.py, tests/test_property_isolation.py).

do $$
declare
    p record;
    old_form constant text := '\(\s*SELECT tenant\.current_tenant_id\(\) AS current_tenant_id\)';
    new_form constant text := 'tenant.current_tenant_id()';
    using_expr text;
    check_expr text;
begin
    for p in
        select n.nspname, c.relname, pol.polname,
               pg_get_expr(pol.polqual, pol.polrelid) as qual,
               pg_get_expr(pol.polwithcheck, pol.polrelid) as with_check
        from pg_policy pol
        join pg_class c on c.oid = pol.polrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' or (n.nspname = 'audit' and c.relname = 'entries')
        order by 1, 2, 3
    loop
        using_expr := regexp_replace(p.qual, old_form, new_form, 'g');
        check_expr := regexp_replace(p.with_check, old_form, new_form, 'g');
        if using_expr is distinct from p.qual then
            execute format('alter policy %I on %I.%I using (%s)', p.polname, p.nspname, p.relname, using_expr);
        end if;
        if check_expr is distinct from p.with_check then
            execute format('alter policy %I on %I.%I with check (%s)', p.polname, p.nspname, p.relname, check_expr);
        end if;
    end loop;
end
$$;
