-- 020 audit snapshots and replay: reconstruction for a whole table, and the replay check
-- that the trail rebuilds every live row.
--
-- Guarantees:
--   * audit.audited_tables lists every audited table and the column that identifies its
--     records (the first primary key column after tenant_id, as the capture triggers of
--     012 key them);
--   * audit.table_as_of(table, time) is every record of the current department as it stood
--     at a business time, rebuilt from the trail alone: each record's insert followed by the
--     fold of its updates (audit.jsonb_merge, 016);
--   * audit.table_changes(table, from, to) is every record of the current department with an
--     entry in (from, to], with its state at `from` (NULL if it did not exist yet) and at `to`;
--   * audit.replay_mismatches() returns every live row that the fold of its entries does not
--     rebuild exactly (a row with no entries included), naming the columns that differ;
--   * all of them are security invoker, so RLS decides what the caller sees: an auditor gets
--     their own department, a superuser every department (replay_mismatches) or the one in
--     the context (table_as_of, table_changes, which filter by tenant_id explicitly so the
--     index on (tenant_id, record_id, occurred_at, entry_id) applies).

set local role enquiries_owner;

create view audit.audited_tables with (security_invoker = true) as
select format('%I.%I', n.nspname, c.relname) as table_name,
       coalesce((select a.attname from pg_constraint k
                 cross join lateral unnest(k.conkey) as col(attnum)
                 join pg_attribute a on a.attrelid = c.oid and a.attnum = col.attnum
                 where k.conrelid = c.oid and k.contype = 'p' and a.attname <> 'tenant_id'
                 limit 1), 'tenant_id') as key_column
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'tenant' and c.relkind = 'r';

comment on view audit.audited_tables is
    'Every audited table and the column whose value is the record_id of its audit entries.';

create function audit.table_as_of(table_name text, as_of timestamptz)
    returns table (record_id uuid, state jsonb)
    language sql stable
    set work_mem = '64MB'
    as $$
    -- A record's fold is its insert (the full row) followed by its updates' new values in order.
    -- Top-level jsonb concatenation is associative, so the updates are folded on their own and
    -- the insert put in front: only the small update rows are sorted, never the wide inserts
    -- (about twice as fast as sorting every entry). A well-formed trail (one insert, first; the
    -- audit_trail_complete check) gives exactly the fold of audit.record_as_of.
    select coalesce(i.record_id, c.record_id), coalesce(i.row_data, '{}') || coalesce(c.changes, '{}')
    from (select e.record_id, e.row_data
          from audit.entries e
          where e.tenant_id = (select tenant.current_tenant_id()) and e.table_name = table_as_of.table_name
            and e.occurred_at <= as_of and e.action = 'insert') i
    full join (select e.record_id, audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) as changes
               from audit.entries e
               where e.tenant_id = (select tenant.current_tenant_id()) and e.table_name = table_as_of.table_name
                 and e.occurred_at <= as_of and e.action <> 'insert'
               group by e.record_id) c on c.record_id = i.record_id
$$;

comment on function audit.table_as_of(text, timestamptz) is
    'Every record of a table in the current department as it stood at a business time, from the audit trail alone.';

create function audit.table_changes(table_name text, from_time timestamptz, to_time timestamptz)
    returns table (record_id uuid, before jsonb, after jsonb)
    language sql stable
    set work_mem = '64MB'
    as $$
    select e.record_id,
           case when count(*) filter (where e.occurred_at <= from_time) > 0
                then audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) filter (where e.occurred_at <= from_time)
           end,
           audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id)
    from audit.entries e
    where e.tenant_id = (select tenant.current_tenant_id())
      and e.table_name = table_changes.table_name
      and e.occurred_at <= to_time
      and e.record_id in (select c.record_id from audit.entries c
                          where c.tenant_id = (select tenant.current_tenant_id())
                            and c.table_name = table_changes.table_name
                            and c.occurred_at > from_time and c.occurred_at <= to_time)
    group by e.record_id
$$;

comment on function audit.table_changes(text, timestamptz, timestamptz) is
    'Records of a table in the current department changed in (from_time, to_time], with their state before and after.';

create function audit.replay_mismatches()
    returns table (table_name text, tenant_id uuid, record_id uuid, live jsonb, replayed jsonb, differing_columns text[])
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    set work_mem = '64MB'
    as $$
declare
    t record;
begin
    for t in select a.table_name, a.key_column from audit.audited_tables a order by a.table_name loop
        return query execute format($q$
            with replayed as (
                select e.tenant_id, e.record_id, audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id) as state
                from audit.entries e
                where e.table_name = %1$L
                group by e.tenant_id, e.record_id
            ),
            live as (
                select l.tenant_id, l.%2$I as record_id, to_jsonb(l) as row from %3$s l
            )
            select %1$L::text, l.tenant_id, l.record_id, l.row, r.state,
                   array(select k from jsonb_object_keys(l.row || coalesce(r.state, '{}')) k
                         where l.row -> k is distinct from r.state -> k order by k)
            from live l
            left join replayed r on r.tenant_id = l.tenant_id and r.record_id = l.record_id
            where l.row is distinct from r.state
            $q$, t.table_name, t.key_column, t.table_name);
    end loop;
end
$$;

comment on function audit.replay_mismatches() is
    'Live rows that the fold of their audit entries does not rebuild exactly, with the differing columns (empty trail included).';

revoke all on function audit.table_as_of(text, timestamptz), audit.table_changes(text, timestamptz, timestamptz),
    audit.replay_mismatches() from public;
grant select on audit.audited_tables to enquiries_auditor;
grant execute on function audit.table_as_of(text, timestamptz), audit.table_changes(text, timestamptz, timestamptz),
    audit.replay_mismatches() to enquiries_auditor;
