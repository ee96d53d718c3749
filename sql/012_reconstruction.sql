-- 012 reconstruction: as-of reconstruction of records and tables from the audit trail.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 016_audit_reconstruction.sql =====
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
--
-- ===== from 020_audit_snapshots_and_replay.sql =====
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
--
-- ===== from 022_audit_query_settings.sql =====
-- 022 audit query settings: the functions that read the whole audit trail run without JIT,
-- and the department snapshots sort in memory.
--
-- Guarantees (settings only; no function's result changes):
--   * audit.seal, audit.verify (017), audit.table_as_of, audit.table_changes,
--     audit.replay_mismatches (020), audit.sla_breaches, audit.records_without_live_row,
--     audit.cross_tenant_references and audit.soft_deleted_rows_in_views (021) run with
--     jit = off. Their queries span every monthly partition (about 120), so the planner's cost
--     crosses jit_above_cost and PostgreSQL compiles over a thousand functions per query
--     (about a second) for expressions that take microseconds. Measured on 200,000 generated
--     enquiries (1.76M entries): a department snapshot 4.2-5.2 s -> 2.9-3.3 s, verify 45 s -> 33 s
--     under the same load (docs/audit.md);
--   * audit.table_as_of and audit.table_changes may use 256MB to sort a department's update
--     entries (64MB spilled 84 MB to disk for 87,000 enquiries).

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- audit.record_as_of(text, uuid, timestamp with time zone) (function)
CREATE FUNCTION audit.record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    select audit.jsonb_merge(e.row_data order by e.occurred_at, e.entry_id)
    from audit.entries e
    where e.tenant_id = (select tenant.current_tenant_id())
      and e.record_id = record_as_of.record_id
      and e.table_name = record_as_of.table_name
      and e.occurred_at <= as_of
    having count(*) > 0
$$;


ALTER FUNCTION audit.record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) OWNER TO enquiries_owner;

-- audit.FUNCTION record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) (comment)
COMMENT ON FUNCTION audit.record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) IS 'The state of one record at a business time, from the audit trail alone (NULL if it did not exist yet).';

-- audit.replay_mismatches() (function)
CREATE FUNCTION audit.replay_mismatches() RETURNS TABLE(table_name text, tenant_id uuid, record_id uuid, live jsonb, replayed jsonb, differing_columns text[])
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET work_mem TO '64MB'
    SET jit TO 'off'
    AS $_$
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
$_$;


ALTER FUNCTION audit.replay_mismatches() OWNER TO enquiries_owner;

-- audit.FUNCTION replay_mismatches() (comment)
COMMENT ON FUNCTION audit.replay_mismatches() IS 'Live rows that the fold of their audit entries does not rebuild exactly, with the differing columns (empty trail included).';

-- audit.table_as_of(text, timestamp with time zone) (function)
CREATE FUNCTION audit.table_as_of(table_name text, as_of timestamp with time zone) RETURNS TABLE(record_id uuid, state jsonb)
    LANGUAGE sql STABLE
    SET work_mem TO '256MB'
    SET jit TO 'off'
    AS $$
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


ALTER FUNCTION audit.table_as_of(table_name text, as_of timestamp with time zone) OWNER TO enquiries_owner;

-- audit.FUNCTION table_as_of(table_name text, as_of timestamp with time zone) (comment)
COMMENT ON FUNCTION audit.table_as_of(table_name text, as_of timestamp with time zone) IS 'Every record of a table in the current department as it stood at a business time, from the audit trail alone.';

-- audit.table_changes(text, timestamp with time zone, timestamp with time zone) (function)
CREATE FUNCTION audit.table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) RETURNS TABLE(record_id uuid, before jsonb, after jsonb)
    LANGUAGE sql STABLE
    SET work_mem TO '256MB'
    SET jit TO 'off'
    AS $$
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


ALTER FUNCTION audit.table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) OWNER TO enquiries_owner;

-- audit.FUNCTION table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) (comment)
COMMENT ON FUNCTION audit.table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) IS 'Records of a table in the current department changed in (from_time, to_time], with their state before and after.';

-- audit.jsonb_merge(jsonb) (aggregate)
CREATE AGGREGATE audit.jsonb_merge(jsonb) (
    SFUNC = jsonb_concat,
    STYPE = jsonb,
    INITCOND = '{}'
);


ALTER AGGREGATE audit.jsonb_merge(jsonb) OWNER TO enquiries_owner;

-- audit.audited_tables (view)
CREATE VIEW audit.audited_tables WITH (security_invoker='true') AS
 SELECT format('%I.%I'::text, n.nspname, c.relname) AS table_name,
    COALESCE(( SELECT a.attname
           FROM ((pg_constraint k
             CROSS JOIN LATERAL unnest(k.conkey) col(attnum))
             JOIN pg_attribute a ON (((a.attrelid = c.oid) AND (a.attnum = col.attnum))))
          WHERE ((k.conrelid = c.oid) AND (k.contype = 'p'::"char") AND (a.attname <> 'tenant_id'::name))
         LIMIT 1), 'tenant_id'::name) AS key_column
   FROM (pg_class c
     JOIN pg_namespace n ON ((n.oid = c.relnamespace)))
  WHERE ((n.nspname = 'tenant'::name) AND (c.relkind = 'r'::"char"));


ALTER TABLE audit.audited_tables OWNER TO enquiries_owner;

-- audit.VIEW audited_tables (comment)
COMMENT ON VIEW audit.audited_tables IS 'Every audited table and the column whose value is the record_id of its audit entries.';

-- audit.entry_states (view)
CREATE VIEW audit.entry_states WITH (security_invoker='true') AS
 SELECT s.entry_id,
    s.tenant_id,
    s.occurred_at,
    s.recorded_at,
    s.backdated,
    s.actor_id,
    s.db_role,
    s.login_role,
    s.transaction_id,
    s.table_name,
    s.record_id,
    s.action,
    s.changed_columns,
    s.row_data,
    s.old_values,
    s.after_state,
    lag(s.after_state) OVER (PARTITION BY s.tenant_id, s.table_name, s.record_id ORDER BY s.occurred_at, s.entry_id) AS before_state
   FROM ( SELECT e.entry_id,
            e.tenant_id,
            e.occurred_at,
            e.recorded_at,
            e.backdated,
            e.actor_id,
            e.db_role,
            e.login_role,
            e.transaction_id,
            e.table_name,
            e.record_id,
            e.action,
            e.changed_columns,
            e.row_data,
            e.old_values,
            audit.jsonb_merge(e.row_data) OVER (PARTITION BY e.tenant_id, e.table_name, e.record_id ORDER BY e.occurred_at, e.entry_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS after_state
           FROM audit.entries e) s;


ALTER TABLE audit.entry_states OWNER TO enquiries_owner;

-- audit.VIEW entry_states (comment)
COMMENT ON VIEW audit.entry_states IS 'Every audit entry with the full record state before and after it, reconstructed from the trail.';

-- audit.FUNCTION record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) (acl)
REVOKE ALL ON FUNCTION audit.record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION audit.record_as_of(table_name text, record_id uuid, as_of timestamp with time zone) TO enquiries_auditor;

-- audit.FUNCTION replay_mismatches() (acl)
REVOKE ALL ON FUNCTION audit.replay_mismatches() FROM PUBLIC;
GRANT ALL ON FUNCTION audit.replay_mismatches() TO enquiries_auditor;

-- audit.FUNCTION table_as_of(table_name text, as_of timestamp with time zone) (acl)
REVOKE ALL ON FUNCTION audit.table_as_of(table_name text, as_of timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION audit.table_as_of(table_name text, as_of timestamp with time zone) TO enquiries_auditor;

-- audit.FUNCTION table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) (acl)
REVOKE ALL ON FUNCTION audit.table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION audit.table_changes(table_name text, from_time timestamp with time zone, to_time timestamp with time zone) TO enquiries_auditor;

-- audit.FUNCTION jsonb_merge(jsonb) (acl)
REVOKE ALL ON FUNCTION audit.jsonb_merge(jsonb) FROM PUBLIC;
GRANT ALL ON FUNCTION audit.jsonb_merge(jsonb) TO enquiries_auditor;

-- audit.TABLE audited_tables (acl)
GRANT SELECT ON TABLE audit.audited_tables TO enquiries_auditor;

-- audit.TABLE entry_states (acl)
GRANT SELECT ON TABLE audit.entry_states TO enquiries_auditor;

