-- id: views_over_tenant_data_security_invoker
-- title: Every view over tenant data, in any schema, applies the caller's row level security
-- requirement: A view runs with its owner's rights unless it is security_invoker (PostgreSQL
--   15+), and the owner of a lab view is not filtered the way a staff role is; a materialized
--   view is a copy with no row level security at all. So every view in any schema (not only
--   app) that reads a tenant-scoped table (schema tenant, or a lab table with a tenant_id
--   column), directly or through other views, is security_invoker, and no materialized view
--   reads one.
-- severity: critical
with recursive tenant_scoped as (
    select c.oid
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p')
      and (n.nspname = 'tenant'
           or n.nspname in ('core', 'audit', 'app')
              and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
),
reads as (   -- view -> a relation its query reads
    select distinct w.ev_class as view_oid, d.refobjid as read_oid
    from pg_rewrite w
    join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = w.oid and d.refclassid = 'pg_class'::regclass
    where d.refobjid <> w.ev_class
),
over_tenant(view_oid, via) as (
    select r.view_oid, r.read_oid from reads r where r.read_oid in (select oid from tenant_scoped)
    union
    select r.view_oid, o.via from reads r join over_tenant o on o.view_oid = r.read_oid
)
select format('%I.%I', n.nspname, v.relname) as object, null::uuid as tenant_id,
       jsonb_build_object('problem', case when v.relkind = 'm'
                                          then 'a materialized view copies tenant data without row level security'
                                          else 'the view is not security_invoker: it reads tenant data with its owner''s rights' end,
                          'reads', (select jsonb_agg(distinct o.via::regclass::text) from over_tenant o where o.view_oid = v.oid),
                          'owner', pg_get_userbyid(v.relowner)) as detail
from pg_class v join pg_namespace n on n.oid = v.relnamespace
where v.oid in (select o.view_oid from over_tenant o)
  and (v.relkind = 'm'
       or v.relkind = 'v' and not coalesce((select o.option_value::boolean from pg_options_to_table(v.reloptions) o
                                            where o.option_name = 'security_invoker'), false))
