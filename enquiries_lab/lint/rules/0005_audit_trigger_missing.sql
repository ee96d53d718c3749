-- id: audit-trigger-missing
-- title: A table that stores user data is not captured by the audit trigger
-- fix: create the table in the tenant schema before sql/008 runs, or attach the triggers in the new migration: `create trigger z_audit_insert after insert on <t> referencing new table as new_rows for each statement or call `select audit.install_capture('<table>')` (sql/008), which generates the table's capture and attaches its insert and update triggers
with user_tables as (
    select c.oid, n.nspname, c.relname
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
),
covered as (
    -- tgtype bits: 4 insert, 16 update; a disabled trigger ('D') captures nothing
    select u.oid,
           bool_or(t.tgtype & 4 <> 0) filter (where t.tgenabled <> 'D') as on_insert,
           bool_or(t.tgtype & 16 <> 0) filter (where t.tgenabled <> 'D') as on_update,
           (array_agg('trg:' || t.oid) filter (where t.tgenabled = 'D'))[1] as disabled
    from user_tables u
    left join pg_catalog.pg_trigger t
           on t.tgrelid = u.oid and not t.tgisinternal
          and t.tgfoid::pg_catalog.regprocedure::text like any (array(select jsonb_array_elements_text($1 -> 'audit_functions')))
    group by u.oid
)
select format('%I.%I', u.nspname, u.relname) as object,
       format('changes to %I.%I are not audited on %s: no enabled trigger runs %s', u.nspname, u.relname,
              concat_ws(' and ', case when not coalesce(v.on_insert, false) then 'INSERT' end,
                                 case when not coalesce(v.on_update, false) then 'UPDATE' end),
              'an audit capture function') as message,
       coalesce(v.disabled, 'rel:' || u.oid) as blame,
       case when v.disabled is not null then array['enabled'] else array['triggers'] end as blame_properties
from user_tables u join covered v on v.oid = u.oid
where not (coalesce(v.on_insert, false) and coalesce(v.on_update, false))
