-- id: rls-not-forced
-- title: A tenant-scoped table without row level security enabled and forced
-- fix: ALTER TABLE ... ENABLE ROW LEVEL SECURITY and ... FORCE ROW LEVEL SECURITY (without FORCE the owner bypasses every policy); sql/006 does both for every tenant table that exists when it runs
with scoped as (
    select c.oid, n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition
      and (n.nspname in (select jsonb_array_elements_text($1 -> 'tenant_schemas'))
           or format('%I.%I', n.nspname, c.relname) in (select jsonb_array_elements_text($1 -> 'tenant_scoped_tables')))
)
select format('%I.%I', s.nspname, s.relname) as object,
       format('%I.%I is tenant-scoped but row level security is %s', s.nspname, s.relname,
              case when not s.relrowsecurity then 'not enabled: every role with a grant reads every department'
                   else 'not forced: its owner bypasses every policy' end) as message,
       'rel:' || s.oid as blame,
       array['rls', 'force'] as blame_properties
from scoped s
where not (s.relrowsecurity and s.relforcerowsecurity)
