-- 071 citus profile in effect: what stops the Citus profile (sql/citus/) from being in effect on
-- this database, as rows, so that `migrate --status` and the compliance check
-- scale_out_profile_in_effect report the profile honestly: active only when the citus extension
-- is installed AND every tenant table and audit.entries is distributed by tenant_id, colocated
-- with tenant.departments, and every core table is a reference table. Where citus is not
-- installed the function returns nothing (the profile does not apply); it reads Citus's catalog
-- with dynamic SQL, so it exists on plain PostgreSQL too.
create function core.citus_profile_gaps() returns table (object text, problem text)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not exists (select 1 from pg_extension where extname = 'citus') then
        return;
    end if;
    return query execute $q$
        with wanted as (
            select c.oid::regclass as tbl, n.nspname as schema_name
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p') and not c.relispartition
              and (n.nspname in ('tenant', 'core') or c.oid = 'audit.entries'::regclass)
        ),
        parent as (
            select colocationid from pg_dist_partition where logicalrelid = 'tenant.departments'::regclass
        )
        select w.tbl::text,
               case when p.logicalrelid is null then 'not a Citus table (the profile has not distributed it)'
                    when w.schema_name = 'core' and p.partmethod <> 'n' then 'not a reference table'
                    when w.schema_name = 'core' then null
                    when p.partmethod <> 'h' then 'not a hash-distributed table'
                    when column_to_column_name(p.logicalrelid, p.partkey) <> 'tenant_id' then 'not distributed by tenant_id'
                    when p.colocationid is distinct from (select colocationid from parent) then 'not colocated with tenant.departments'
               end
        from wanted w left join pg_dist_partition p on p.logicalrelid = w.tbl
    $q$;
end
$$;
comment on function core.citus_profile_gaps() is
    'Why the Citus profile is not in effect (no rows: in effect, or citus not installed).';
