-- id: audit_immutable
-- title: Audit entries and seals cannot be changed or removed
-- requirement: Nobody holds UPDATE, DELETE or TRUNCATE on audit.entries or audit.seals (the
--   owner included; on partitions the owner's default rights remain, which the triggers
--   stop), and no other role on any partition; the triggers that refuse UPDATE and DELETE
--   (every partition inherits them) and TRUNCATE (one per partition) are present and enabled;
--   audit.refuse_change() still raises EL201; and the DDL guard's event triggers are enabled.
-- severity: critical
with protected as (
    select c.oid, format('%I.%I', n.nspname, c.relname) as name, c.relowner, c.relispartition,
           coalesce(c.relacl, acldefault('r', c.relowner)) as acl
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'audit' and c.relkind in ('r', 'p')
      and (c.relname in ('entries', 'seals')
           or c.oid in (select i.inhrelid from pg_inherits i where i.inhparent = 'audit.entries'::regclass))
),
guards as (
    select t.tgrelid, t.tgtype, t.tgenabled from pg_trigger t where t.tgfoid = 'audit.refuse_change()'::regprocedure
)
select p.name as object, null::uuid as tenant_id,
       jsonb_build_object('problem', format('%s holds %s', coalesce(r.rolname, 'PUBLIC'), a.privilege_type)) as detail
from protected p
cross join lateral aclexplode(p.acl) a
left join pg_roles r on r.oid = a.grantee
where a.privilege_type in ('UPDATE', 'DELETE', 'TRUNCATE')
  and not (p.relispartition and a.grantee = p.relowner)
union all
select p.name, null::uuid, jsonb_build_object('problem', g.problem)
from protected p
cross join lateral (values
    -- row trigger (1), BEFORE (2), DELETE (8) and UPDATE (16), enabled
    (case when not exists (select from guards t where t.tgrelid = p.oid and t.tgtype & 27 = 27 and t.tgenabled in ('O', 'A'))
          then 'no enabled trigger refuses UPDATE and DELETE' end),
    -- statement trigger, BEFORE TRUNCATE (32), enabled
    (case when not exists (select from guards t where t.tgrelid = p.oid and t.tgtype & 1 = 0 and t.tgtype & 34 = 34
                                                 and t.tgenabled in ('O', 'A'))
          then 'no enabled trigger refuses TRUNCATE' end)
) as g(problem)
where g.problem is not null
union all
select 'audit.refuse_change()', null::uuid, jsonb_build_object('problem', 'the guard function no longer raises EL201')
from pg_proc f
where f.oid = 'audit.refuse_change()'::regprocedure and f.prosrc !~* 'raise\s+exception.*EL201'
union all
select format('event trigger %s', w.name), null::uuid, jsonb_build_object('problem', w.problem)
from (values ('enquiries_guard_ddl'), ('enquiries_guard_drop')) as g(name)
cross join lateral (
    select g.name,
           case when e.oid is null then 'the DDL guard event trigger is missing'
                when e.evtenabled not in ('O', 'A') then 'the DDL guard event trigger is not enabled' end
    from (select 1) one left join pg_event_trigger e on e.evtname = g.name
) as w(name, problem)
where w.problem is not null
