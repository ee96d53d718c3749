-- 073 cross-tenant references found by department-keyed anti-joins, then looked up by key.
--
-- Why: 014's audit.cross_tenant_references() (050: skipping tables without tenant_id) found a bad reference with a correlated sub-select
-- (the referenced row's department) and with joins on the referenced key alone
-- (staff_id = actor_id, tenant_id <> ...). A distributed engine can run neither: its tables
-- are split by tenant_id, and only a join that equates tenant_id stays on one shard (Citus:
-- "complex joins are only supported when all distributed tables are co-located and joined on
-- their distribution columns", SQLSTATE 0A000), so check 0006 could not run on a cluster.
--
-- Guarantees (as 014 and 050, same rows and columns):
--   * each kind of reference is first anti-joined on (tenant_id, key): a miss is a value whose
--     row is not in the referencing row's own department, i.e. dangling or another
--     department's. That join is co-located and is the one that reads every row;
--   * only the misses (none in a healthy database) are then looked up by key alone, through a
--     materialised CTE, which both plain PostgreSQL and Citus run as a separate step (Citus
--     ships it to the shards as an intermediate result), to name the other department;
--   * a stamp or an entry's actor that is no staff member anywhere (the provisioner, the
--     history loader) is not a cross-tenant reference, as before; a foreign-key value with no
--     row anywhere is reported with a NULL referenced_tenant_id (dangling), as before.
-- tests/test_compliance.py::test_a_note_moved_onto_another_departments_enquiry_fails_no_cross_tenant_references,
-- tests/test_cross_tenant_references.py, tests/test_citus_cluster.py.

-- 050's rule, kept: a table (or a target) without tenant_id has no department to cross; its
-- missing column is the finding of rls_enabled_and_forced and tenant_tables_keyed.
create function audit.has_tenant_id(rel regclass) returns boolean
    language sql stable
    set search_path = pg_catalog, pg_temp
    return exists (select from pg_attribute x where x.attrelid = rel and x.attname = 'tenant_id' and not x.attisdropped);
alter function audit.has_tenant_id(regclass) owner to enquiries_owner;

create or replace function audit.cross_tenant_references()
    returns table (table_name text, tenant_id uuid, record_id uuid, column_name text,
                   referenced_table text, referenced_id text, referenced_tenant_id uuid)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set jit = off
    as $fn$
declare
    fk record;
    stamp record;
    t record;
    -- %1$s referencing table, %2$I its record key, %3$I the referencing column, %4$s the
    -- referenced table, %5$I its key, %6$L the reported table name, %7$L the reported column;
    -- %8$s: 'left' (a value found nowhere is dangling) or '' (found nowhere is no reference).
    by_department constant text := $q$
        with misses as materialized (
            select distinct t.tenant_id, t.%2$I as record_id, t.%3$I as value
            from %1$s t
            left join %4$s r on r.tenant_id = t.tenant_id and r.%5$I = t.%3$I
            where t.%3$I is not null and r.%5$I is null
        ),
        owners as materialized (
            select distinct r.%5$I as value, r.tenant_id
            from %4$s r
            where r.%5$I in (select m.value from misses m)
        )
        select %6$L::text, m.tenant_id, m.record_id, %7$L::text, %9$L::text, m.value::text, o.tenant_id
        from misses m %8$s join owners o on o.value = m.value
        $q$;
begin
    -- References between tenant tables: every foreign key, and every uuid column named like
    -- another table's record key (enquiry_id, contact_id, ...), so that a reference whose
    -- constraint was dropped is still looked at.
    for fk in
        select distinct r.tbl, r.key_column, r.ref, r.col, r.refcol from (
            select format('%I.%I', n.nspname, c.relname) as tbl, a.key_column,
                   format('%I.%I', rn.nspname, rc.relname) as ref, ca.attname::text as col, ra.attname::text as refcol
            from pg_constraint k
            join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
            join pg_class rc on rc.oid = k.confrelid join pg_namespace rn on rn.oid = rc.relnamespace
            join audit.audited_tables a on a.table_name = format('%I.%I', n.nspname, c.relname)
            cross join lateral unnest(k.conkey, k.confkey) as pair(attnum, refattnum)
            join pg_attribute ca on ca.attrelid = k.conrelid and ca.attnum = pair.attnum
            join pg_attribute ra on ra.attrelid = k.confrelid and ra.attnum = pair.refattnum
            where k.contype = 'f' and n.nspname = 'tenant' and rn.nspname = 'tenant' and ca.attname <> 'tenant_id'
              and audit.has_tenant_id(a.table_name::regclass) and audit.has_tenant_id(k.confrelid)
            union
            select a.table_name, a.key_column, target.table_name, att.attname::text, target.key_column
            from audit.audited_tables a
            join pg_attribute att on att.attrelid = a.table_name::regclass and att.attnum > 0 and not att.attisdropped
            join audit.audited_tables target on target.key_column = att.attname and target.table_name <> a.table_name
            where att.atttypid = 'uuid'::regtype and att.attname <> 'tenant_id'
              and audit.has_tenant_id(a.table_name::regclass) and audit.has_tenant_id(target.table_name::regclass)
        ) r
        order by 1, 4
    loop
        return query execute format(by_department, fk.tbl, fk.key_column, fk.col, fk.ref, fk.refcol,
                                    fk.tbl, fk.col, 'left', fk.ref);
    end loop;
    -- Who-did-it stamps (created_by, updated_by, ...) are not foreign keys (the provisioner is
    -- no staff member), but a staff member of another department is never a valid value.
    for stamp in
        select a.table_name, a.key_column, att.attname as col
        from audit.audited_tables a
        join pg_attribute att on att.attrelid = a.table_name::regclass and att.attnum > 0 and not att.attisdropped
        where att.attname like '%\_by' and att.atttypid = 'uuid'::regtype
          and audit.has_tenant_id(a.table_name::regclass)
          and not exists (select from pg_constraint k
                          where k.conrelid = a.table_name::regclass and k.contype = 'f' and att.attnum = any(k.conkey))
        order by 1, 3
    loop
        return query execute format(by_department, stamp.table_name, stamp.key_column, stamp.col,
                                    'tenant.staff', 'staff_id', stamp.table_name, stamp.col, '', 'tenant.staff');
    end loop;
    -- The trail: an entry's actor is a staff member of another department, or the record it
    -- describes lives in another department, or its row says another department.
    return query execute format(by_department, 'audit.entries', 'record_id', 'actor_id',
                                'tenant.staff', 'staff_id', 'audit.entries', 'actor_id', '', 'tenant.staff');
    return query
        select 'audit.entries'::text, e.tenant_id, e.record_id, 'row_data.tenant_id'::text, e.table_name, e.record_id::text,
               (e.row_data ->> 'tenant_id')::uuid
        from audit.entries e
        where e.row_data ? 'tenant_id' and (e.row_data ->> 'tenant_id')::uuid <> e.tenant_id;
    for t in select a.table_name, a.key_column from audit.audited_tables a
             where audit.has_tenant_id(a.table_name::regclass)
             order by a.table_name loop
        return query execute format(by_department,
            format('(select e.tenant_id, e.record_id from audit.entries e where e.table_name = %L)', t.table_name),
            'record_id', 'record_id', t.table_name, t.key_column, 'audit.entries', 'record_id', '', t.table_name);
    end loop;
end
$fn$;
comment on function audit.cross_tenant_references() is
    'Every reference from one department''s row or audit entry to another department''s row (NULL referenced_tenant_id: dangling).';
