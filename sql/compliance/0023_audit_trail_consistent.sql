-- id: audit_trail_consistent
-- title: Every audit entry agrees with the entries before it and names the actor its row names
-- requirement: The trail is consistent in itself, sealed or not: each update, soft delete,
--   restore or disposal entry's before-values (old_values) are exactly the record's state that
--   the earlier entries rebuild (audit.entry_states: a column absent from that state reads as
--   NULL, as after a column is added), and each entry's actor is the actor its row names: an
--   insert's actor_id is the row's created_by, a later entry's the row's updated_by after it
--   (tables with those stamps). A superuser who rewrites before-values or actor ids in an
--   entry the seals do not cover yet is caught here; audit_trail_tamper_free covers the
--   sealed part. One window pass over the trail (set-based).
-- severity: critical
with states as (
    select s.entry_id, s.tenant_id, s.table_name, s.record_id, s.action, s.actor_id, s.old_values,
           s.before_state, s.after_state
    from audit.entry_states s
)
select format('audit.entries %s', s.entry_id) as object, s.tenant_id,
       jsonb_build_object('problem', 'the entry''s before-values are not the state the earlier entries rebuild',
                          'table', s.table_name, 'record_id', s.record_id, 'action', s.action,
                          'columns', to_jsonb(d.columns), 'recorded', d.recorded, 'rebuilt', d.rebuilt) as detail
from states s
cross join lateral (
    select array_agg(o.key order by o.key) as columns,
           jsonb_object_agg(o.key, o.value) as recorded,
           jsonb_object_agg(o.key, coalesce(s.before_state -> o.key, 'null'::jsonb)) as rebuilt
    from jsonb_each(s.old_values) o
    where o.value is distinct from coalesce(s.before_state -> o.key, 'null'::jsonb)
) d
where s.action <> 'insert' and not (s.old_values <@ coalesce(s.before_state, '{}'::jsonb)) and d.columns is not null
union all
select format('audit.entries %s', s.entry_id), s.tenant_id,
       jsonb_build_object('problem', format('the entry''s actor is not the row''s %s', a.stamp),
                          'table', s.table_name, 'record_id', s.record_id, 'action', s.action,
                          'actor_id', s.actor_id, a.stamp, s.after_state -> a.stamp)
from states s
cross join lateral (select case when s.action = 'insert' then 'created_by' else 'updated_by' end as stamp) a
where s.after_state ? a.stamp
  and (s.after_state ->> a.stamp) is distinct from s.actor_id::text
