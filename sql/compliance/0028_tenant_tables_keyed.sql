-- id: tenant_tables_keyed
-- title: Every tenant table has a primary key, an index leading with tenant_id and a key to the departments
-- requirement: Every table in schema tenant has a primary key (the audit trail keys its
--   records by it, 012), an index whose first column is tenant_id (RLS filters every query on
--   it), and, except the department register itself, a foreign key on tenant_id that reaches
--   tenant.departments, directly or through composite keys leading with tenant_id whose
--   columns are NOT NULL (005), so no row can name a department that does not exist. The
--   linter's tenant-table-keys rule says the same of migrations (docs/lint.md).
-- severity: high
with recursive tables as (
    select c.oid, format('%I.%I', n.nspname, c.relname) as name,
           (select a.attnum from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as tenant_attnum
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'tenant' and c.relkind in ('r', 'p') and not c.relispartition
),
tenant_keys as (   -- foreign keys leading with tenant_id whose columns are all NOT NULL
    select k.conrelid, k.confrelid
    from pg_constraint k join tables t on t.oid = k.conrelid
    where k.contype = 'f' and k.conkey[1] = t.tenant_attnum and k.convalidated
      and not exists (select from unnest(k.conkey) col(attnum)
                      join pg_attribute a on a.attrelid = k.conrelid and a.attnum = col.attnum
                      where not a.attnotnull)
),
reaches(oid) as (
    select to_regclass('tenant.departments')::oid
    union
    select k.conrelid from tenant_keys k join reaches r on r.oid = k.confrelid
)
select t.name as object, null::uuid as tenant_id, jsonb_build_object('problem', p.problem) as detail
from tables t
cross join lateral (values
    (case when not exists (select from pg_constraint k where k.conrelid = t.oid and k.contype = 'p')
          then 'the tenant table has no primary key' end),
    (case when t.tenant_attnum is null then 'the tenant table has no tenant_id column'
          when not exists (select from pg_index i where i.indrelid = t.oid and i.indkey[0] = t.tenant_attnum)
          then 'no index on the tenant table leads with tenant_id' end),
    (case when t.oid is distinct from to_regclass('tenant.departments')::oid and t.oid not in (select oid from reaches)
          then 'no foreign key on tenant_id reaches tenant.departments' end)
) as p(problem)
where p.problem is not null
