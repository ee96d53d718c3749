-- 016 audit reconstruction: the full state before and after every entry, rebuilt from
-- the audit trail alone.
--
-- Guarantees:
--   * audit.jsonb_merge folds a record's entries in (occurred_at, entry_id) order: the
--     insert's full row, then each update's new values; the fold up to an entry is the
--     record's exact state after it, and the fold up to the previous entry its state before;
--   * audit.entry_states shows every entry with both states (security_invoker: an auditor
--     sees their own department's entries only);
--   * audit.record_as_of(table, record, time) is a record's state at a business time
--     (NULL before it existed); the replay check (a live row equals the fold of its
--     entries) is what the compliance checks and tests build on.

set local role enquiries_owner;

create aggregate audit.jsonb_merge(jsonb) (
    sfunc = pg_catalog.jsonb_concat,
    stype = jsonb,
    initcond = '{}'
);

create view audit.entry_states with (security_invoker = true) as
select s.*,
       lag(s.after_state) over (partition by s.tenant_id, s.table_name, s.record_id
                                order by s.occurred_at, s.entry_id) as before_state
from (
    select e.*,
           audit.jsonb_merge(e.row_data) over (partition by e.tenant_id, e.table_name, e.record_id
                                               order by e.occurred_at, e.entry_id
                                               rows between unbounded preceding and current row) as after_state
    from audit.entries e
) s;

comment on view audit.entry_states is
    'Every audit entry with the full record state before and after it, reconstructed from the trail.';

create function audit.record_as_of(table_name text, record_id uuid, as_of timestamptz) returns jsonb
    language sql stable
    as $$
    select audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id)
    from audit.entries e
    where e.tenant_id = (select tenant.current_tenant_id())
      and e.record_id = record_as_of.record_id
      and e.table_name = record_as_of.table_name
      and e.occurred_at <= as_of
    having count(*) > 0
$$;

comment on function audit.record_as_of(text, uuid, timestamptz) is
    'The state of one record at a business time, from the audit trail alone (NULL if it did not exist yet).';

grant select on audit.entry_states to enquiries_auditor;
grant execute on function audit.record_as_of(text, uuid, timestamptz) to enquiries_auditor;
grant execute on function audit.jsonb_merge(jsonb) to enquiries_auditor;
