-- 050 audit checks survive schema drift: the catalog-driven functions behind the compliance
-- checks report what they find, and never stop with 42703, when a tenant table has no
-- tenant_id column or a column was dropped (and the capture regenerated, 008).
--
-- Guarantees:
--   * audit.replay_mismatches() compares a live row with the fold of its trail on the live
--     row's columns only, a column the trail never saw reading as NULL: a correctly dropped
--     column (still in old entries) is no mismatch, and a column added without a default is
--     none either; a value the trail never recorded still is. A tenant table without
--     tenant_id is matched by its record key alone (its missing tenant_id is the finding of
--     rls_enabled_and_forced, scale_out_distribution_column and tenant_tables_keyed);
--   * audit.records_without_live_row() likewise matches such a table by its record key;
--   * both skip a table that has no record key left (its primary key dropped with
--     tenant_id): nothing identifies its records, which tenant_tables_keyed reports;
--   * audit.cross_tenant_references() looks only at tables (and targets) that have a
--     tenant_id: a table without one has no department to cross.
-- Same results as 012/014 on a schema without drift (the compliance tests run on both).

set local role enquiries_owner;

create or replace function audit.replay_mismatches()
    returns table (table_name text, tenant_id uuid, record_id uuid, live jsonb, replayed jsonb, differing_columns text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set work_mem = '64MB'
    as $$
declare
    t record;
begin
    for t in select a.table_name, a.key_column,
                    exists (select from pg_attribute x where x.attrelid = a.table_name::regclass
                                                         and x.attname = 'tenant_id' and not x.attisdropped) as has_tenant
             from audit.audited_tables a
             where exists (select from pg_attribute x where x.attrelid = a.table_name::regclass
                                                        and x.attname = a.key_column and not x.attisdropped)
             order by a.table_name loop
        return query execute format($q$
            with replayed as (
                select e.tenant_id, e.record_id, audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) as state
                from audit.entries e
                where e.table_name = %1$L
                group by e.tenant_id, e.record_id
            ),
            live as (
                select %4$s as tenant_id, l.%2$I as record_id, to_jsonb(l) as row from %3$s l
            ),
            compared as (
                select l.tenant_id, r.tenant_id as trail_tenant_id, l.record_id, l.row, r.state,
                       array(select k.key from jsonb_each(l.row) k
                             where r.state is null or k.value is distinct from coalesce(r.state -> k.key, 'null'::jsonb)
                             order by k.key) as differing
                from live l
                left join replayed r on r.record_id = l.record_id and (%5$s or r.tenant_id = l.tenant_id)
            )
            select %1$L::text, coalesce(c.tenant_id, c.trail_tenant_id), c.record_id, c.row, c.state, c.differing
            from compared c
            where c.state is null or cardinality(c.differing) > 0
            $q$, t.table_name, t.key_column, t.table_name,
            case when t.has_tenant then 'l.tenant_id' else 'null::uuid' end,
            case when t.has_tenant then 'false' else 'true' end);
    end loop;
end
$$;

create or replace function audit.records_without_live_row()
    returns table (table_name text, tenant_id uuid, record_id uuid, entries bigint, last_entry_id bigint,
                   last_occurred_at timestamptz)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    t record;
begin
    for t in select a.table_name, a.key_column,
                    exists (select from pg_attribute x where x.attrelid = a.table_name::regclass
                                                         and x.attname = 'tenant_id' and not x.attisdropped) as has_tenant
             from audit.audited_tables a
             where exists (select from pg_attribute x where x.attrelid = a.table_name::regclass
                                                        and x.attname = a.key_column and not x.attisdropped)
             order by a.table_name loop
        return query execute format($q$
            select %1$L::text, e.tenant_id, e.record_id, count(*), max(e.entry_id), max(e.occurred_at)
            from audit.entries e
            where e.table_name = %1$L
              and not exists (select from %2$s l where %4$s and l.%3$I = e.record_id)
            group by e.tenant_id, e.record_id
            $q$, t.table_name, t.table_name, t.key_column, case when t.has_tenant then 'l.tenant_id = e.tenant_id' else 'true' end);
    end loop;
end
$$;

create or replace function audit.cross_tenant_references()
    returns table (table_name text, tenant_id uuid, record_id uuid, column_name text, referenced_table text,
                   referenced_id text, referenced_tenant_id uuid)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    fk record;
    stamp record;
    t record;
begin
    -- References between tenant tables: every foreign key, and every uuid column named like
    -- another table's record key (enquiry_id, contact_id, ...), so that a reference whose
    -- constraint was dropped is still looked at. The referenced row must exist in the same
    -- department (composite keys guarantee it while their constraints stand; a superuser in
    -- replica mode, a NOT VALID constraint or a dropped one can get past them).
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
              and exists (select from pg_attribute x where x.attrelid = a.table_name::regclass and x.attname = 'tenant_id' and not x.attisdropped)
              and exists (select from pg_attribute x where x.attrelid = k.confrelid and x.attname = 'tenant_id' and not x.attisdropped)
            union
            select a.table_name, a.key_column, target.table_name, att.attname::text, target.key_column
            from audit.audited_tables a
            join pg_attribute att on att.attrelid = a.table_name::regclass and att.attnum > 0 and not att.attisdropped
            join audit.audited_tables target on target.key_column = att.attname and target.table_name <> a.table_name
            where att.atttypid = 'uuid'::regtype and att.attname <> 'tenant_id'
              and exists (select from pg_attribute x where x.attrelid = a.table_name::regclass and x.attname = 'tenant_id' and not x.attisdropped)
              and exists (select from pg_attribute x where x.attrelid = target.table_name::regclass
                                                       and x.attname = 'tenant_id' and not x.attisdropped)
        ) r
        order by 1, 4
    loop
        return query execute format($q$
            select %1$L::text, t.tenant_id, t.%2$I, %3$L::text, %4$L::text, t.%3$I::text,
                   (select r.tenant_id from %4$s r where r.%5$I = t.%3$I limit 1)
            from %1$s t
            where t.%3$I is not null
              and not exists (select from %4$s r where r.tenant_id = t.tenant_id and r.%5$I = t.%3$I)
            $q$, fk.tbl, fk.key_column, fk.col, fk.ref, fk.refcol);
    end loop;
    -- Who-did-it stamps (created_by, updated_by, ...) are not foreign keys (the provisioner is
    -- no staff member), but a staff member of another department is never a valid value.
    for stamp in
        select a.table_name, a.key_column, att.attname as col
        from audit.audited_tables a
        join pg_attribute att on att.attrelid = a.table_name::regclass and att.attnum > 0 and not att.attisdropped
        where att.attname like '%\_by' and att.atttypid = 'uuid'::regtype
          and exists (select from pg_attribute x where x.attrelid = a.table_name::regclass and x.attname = 'tenant_id' and not x.attisdropped)
          and not exists (select from pg_constraint k
                          where k.conrelid = a.table_name::regclass and k.contype = 'f' and att.attnum = any(k.conkey))
        order by 1, 3
    loop
        return query execute format($q$
            select %1$L::text, t.tenant_id, t.%2$I, %3$L::text, 'tenant.staff'::text, t.%3$I::text, s.tenant_id
            from %1$s t
            join tenant.staff s on s.staff_id = t.%3$I and s.tenant_id <> t.tenant_id
            where not exists (select from tenant.staff o where o.tenant_id = t.tenant_id and o.staff_id = t.%3$I)
            $q$, stamp.table_name, stamp.key_column, stamp.col);
    end loop;
    -- The trail: an entry's actor is a staff member of another department, or the record it
    -- describes lives in another department, or its row says another department.
    return query
        select 'audit.entries'::text, e.tenant_id, e.record_id, 'actor_id'::text, 'tenant.staff'::text, e.actor_id::text, s.tenant_id
        from audit.entries e
        join tenant.staff s on s.staff_id = e.actor_id and s.tenant_id <> e.tenant_id
        where not exists (select from tenant.staff o where o.tenant_id = e.tenant_id and o.staff_id = e.actor_id);
    return query
        select 'audit.entries'::text, e.tenant_id, e.record_id, 'row_data.tenant_id'::text, e.table_name, e.record_id::text,
               (e.row_data ->> 'tenant_id')::uuid
        from audit.entries e
        where e.row_data ? 'tenant_id' and (e.row_data ->> 'tenant_id')::uuid <> e.tenant_id;
    for t in select a.table_name, a.key_column from audit.audited_tables a
             where exists (select from pg_attribute x where x.attrelid = a.table_name::regclass and x.attname = 'tenant_id' and not x.attisdropped)
             order by a.table_name loop
        return query execute format($q$
            select distinct 'audit.entries'::text, e.tenant_id, e.record_id, 'record_id'::text, %1$L::text, e.record_id::text, l.tenant_id
            from audit.entries e
            join %2$s l on l.%3$I = e.record_id and l.tenant_id <> e.tenant_id
            where e.table_name = %1$L
              and not exists (select from %2$s o where o.tenant_id = e.tenant_id and o.%3$I = e.record_id)
            $q$, t.table_name, t.table_name, t.key_column);
    end loop;
end
$$;

