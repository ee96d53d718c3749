-- citus 080 foreign keys to reference tables: the tenant -> core foreign keys that 075 set
-- aside are re-created now that core holds reference tables and the tenant tables are
-- distributed (a distributed table may reference a reference table; every node has a copy).
do $restore$
declare
    k record;
begin
    for k in select * from lab_meta.citus_deferred_constraints loop
        execute format('alter table %s add constraint %I %s', k.table_name, k.constraint_name, k.definition);
    end loop;
end
$restore$;
