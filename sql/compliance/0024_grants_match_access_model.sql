-- id: grants_match_access_model
-- title: Table grants are exactly the access model, and nobody but the owner may delete or truncate
-- requirement: core.table_privileges is the whole access model (006): on every table it names
--   and every tenant-scoped table (schema tenant, and any lab table with a tenant_id column),
--   each role other than the table's owner (PUBLIC included) holds exactly the SELECT, INSERT
--   and UPDATE rows the model grants it, nothing more (no column-level grant either, which would
--   widen a table's rights) and nothing less. Records are never physically removed, so no role
--   but the owner holds DELETE or TRUNCATE on a tenant-scoped table or any of its partitions.
-- severity: critical
with scoped as (
    select c.oid, format('%I.%I', n.nspname, c.relname) as name, c.relowner, c.relacl, c.relispartition,
           n.nspname = 'tenant'
           or exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
              and n.nspname in ('core', 'tenant', 'audit', 'app') as tenant_scoped
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p')
),
modelled as (
    select s.* from scoped s
    where not s.relispartition
      and (s.tenant_scoped or s.name in (select p.table_name from core.table_privileges p))
),
held as (
    select m.name, coalesce(r.rolname, 'PUBLIC') as grantee, a.privilege_type as privilege
    from modelled m
    cross join lateral aclexplode(coalesce(m.relacl, acldefault('r', m.relowner))) a
    left join pg_roles r on r.oid = a.grantee
    where a.grantee <> m.relowner
),
granted as (
    select p.table_name as name, p.db_role::text as grantee, p.privilege
    from core.table_privileges p where p.privilege <> 'SOFT_DELETE'
)
select h.name as object, null::uuid as tenant_id,
       jsonb_build_object('problem', 'a role holds a privilege the access model does not grant',
                          'grantee', h.grantee, 'privilege', h.privilege) as detail
from held h
where (h.name, h.grantee, h.privilege) not in (select g.name, g.grantee, g.privilege from granted g)
  and h.privilege not in ('DELETE', 'TRUNCATE')
union all
select g.name, null::uuid,
       jsonb_build_object('problem', 'the access model grants a privilege the role does not hold',
                          'grantee', g.grantee, 'privilege', g.privilege)
from granted g
where (g.name, g.grantee, g.privilege) not in (select h.name, h.grantee, h.privilege from held h)
union all
select format('%s.%I', m.name, a.attname), null::uuid,
       jsonb_build_object('problem', 'a role holds a column-level privilege, which the access model never grants',
                          'grantee', coalesce(r.rolname, 'PUBLIC'), 'privilege', x.privilege_type)
from modelled m
join pg_attribute a on a.attrelid = m.oid and a.attacl is not null
cross join lateral aclexplode(a.attacl) x
left join pg_roles r on r.oid = x.grantee
where x.grantee <> m.relowner
union all
select s.name, null::uuid,
       jsonb_build_object('problem', format('a role other than the owner holds %s: records are never physically removed',
                                            a.privilege_type),
                          'grantee', coalesce(r.rolname, 'PUBLIC'), 'privilege', a.privilege_type)
from scoped s
cross join lateral aclexplode(coalesce(s.relacl, acldefault('r', s.relowner))) a
left join pg_roles r on r.oid = a.grantee
where (s.tenant_scoped or s.relispartition and exists (
          select from pg_inherits i join scoped p on p.oid = i.inhparent where i.inhrelid = s.oid and p.tenant_scoped))
  and a.grantee <> s.relowner and a.privilege_type in ('DELETE', 'TRUNCATE')
