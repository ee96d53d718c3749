-- id: tenant-table-unkeyed
-- title: A tenant table has no primary key, no index leading with tenant_id, or no key to the departments
-- fix: give it `primary key (tenant_id, <id>)` (the audit trail and the replay key records by it; the index every department-scoped query uses) and `foreign key (tenant_id) references tenant.departments (tenant_id) on delete restrict`, or a composite key (tenant_id, x_id) to a tenant table that has one
-- Tables without tenant_id at all are reported once, by missing-tenant-id. A key to the
-- departments is a foreign key that carries tenant_id to the register, directly or through
-- tenant tables whose own keys do (the same chain check 0028 follows on a live database).
with recursive tenant_tables as (
    select c.oid, n.nspname, c.relname, a.attnum as tenant_attnum
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attname = $1 ->> 'tenant_column'
                                  and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'p') and not c.relispartition
      and n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
),
tenant_keys as (   -- foreign keys that pair tenant_id with tenant_id
    select k.conrelid as src, k.confrelid as dst
    from pg_catalog.pg_constraint k
    join tenant_tables s on s.oid = k.conrelid
    join tenant_tables d on d.oid = k.confrelid
    where k.contype = 'f' and k.conparentid = 0
      and exists (select from generate_subscripts(k.conkey, 1) i
                  where k.conkey[i] = s.tenant_attnum and k.confkey[i] = d.tenant_attnum)
),
reaches as (       -- tables that reach the register
    select t.oid from tenant_tables t where format('%I.%I', t.nspname, t.relname) = $1 ->> 'tenant_register'
    union
    select k.src from tenant_keys k join reaches r on r.oid = k.dst
),
missing as (
    select t.*, 'has no primary key, so the audit trail cannot key its records and nothing stops duplicates' as what
    from tenant_tables t
    where not exists (select from pg_catalog.pg_constraint k where k.conrelid = t.oid and k.contype = 'p')
    union all
    select t.*, format('has no index leading with %I, so every department-scoped query scans the whole table', $1 ->> 'tenant_column')
    from tenant_tables t
    where not exists (select from pg_catalog.pg_index i where i.indrelid = t.oid and i.indkey[0] = t.tenant_attnum)
    union all
    select t.*, format('has no foreign key carrying %I to %s, so a row can name a department that does not exist',
                       $1 ->> 'tenant_column', $1 ->> 'tenant_register')
    from tenant_tables t
    where t.oid not in (select oid from reaches)
)
select format('%I.%I', m.nspname, m.relname) as object,
       format('tenant table %I.%I %s', m.nspname, m.relname, m.what) as message,
       'rel:' || m.oid as blame,
       array[]::text[] as blame_properties
from missing m
