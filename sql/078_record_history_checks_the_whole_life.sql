-- 078 a record's history is returned from its life's partitions only when it is complete:
-- as many entries as the live row's version, the first the insert at created_at.
--
-- Why: 077 trusted the live row for the window's upper end. The row's updated_at bounds its
-- entries only while the stamp trigger has kept it (sql/007); a superuser who wrote the row with
-- the triggers off (session_replication_role = replica) and moved updated_at back hid every
-- later entry from the history, though the trail itself, sealed, was untouched. The head check
-- caught only a moved created_at.
--
-- Guarantees:
--   * every update of an enquiry raises its version by exactly one (b_enforce_workflow, on
--     every UPDATE, sql/009) and writes exactly one entry (the version is among the changed
--     columns), and the insert writes one with version 1: a complete history has `version`
--     entries. The read of the life's partitions (one window, or the window and the instants
--     walked back) is returned only when it counts that many and starts with the insert at
--     created_at, checked in the same statement; otherwise every partition is read. The
--     result is then always what a read of every partition returns;
--   * the same check guards the client-side walk of the routed path (queries.record_history),
--     which before had none for a short life.
-- tests/test_plan_guards.py::test_a_records_history_is_whole_when_its_live_row_was_tampered_with.

create or replace function audit.record_history(record_id uuid)
    returns table (occurred_at timestamp with time zone, db_role name, action text, changed_columns text[],
                   old_values jsonb, row_data jsonb)
    language plpgsql stable
    as $$
declare
    short_life constant interval := interval '183 days';
    columns constant text := 'occurred_at, db_role, action, changed_columns, old_values, row_data';
    -- the entries of the life, returned only when there are $3 (the version) of them and the
    -- first is the insert at created_at ($2)
    checked constant text := 'with h as (select a.entry_id, a.' || replace(columns, ', ', ', a.') || ' from audit.entries a '
                             'where a.record_id = $1 and (%s)) '
                             'select ' || columns || ' from h where (select count(*) from h) = $3 '
                             'and (select f.action = ''insert'' and f.occurred_at = $2 '
                             'from h f order by f.occurred_at, f.entry_id limit 1) order by occurred_at, entry_id';
    created timestamp with time zone;
    version integer;
    at timestamp with time zone;
    earlier timestamp with time zone;
    instants timestamp with time zone[] := '{}';
    n bigint;
begin
    select e.created_at, e.version, e.updated_at into created, version, at
    from tenant.enquiries e where e.enquiry_id = record_history.record_id;
    if found then
        for step in 1 .. 10000 loop
            exit when at - created <= short_life;
            -- the entries of one instant, and the business time of the change before them
            execute 'select count(*), min((a.old_values ->> ''updated_at'')::timestamptz) '
                    'filter (where a.action <> ''insert'' and (a.old_values ->> ''updated_at'')::timestamptz < $2) '
                    'from audit.entries a where a.record_id = $1 and a.occurred_at = $2'
                into n, earlier using record_id, at;
            exit when n = 0 or earlier is null;
            instants := instants || at;
            at := earlier;
        end loop;
        if at - created <= short_life then
            if instants = '{}' then
                return query execute format(checked, 'a.occurred_at >= $2 and a.occurred_at <= $4')
                    using record_id, created, version, at;
            else
                -- (only with instants: an OR with an empty array defeats pruning, every partition planned)
                return query execute format(checked, 'a.occurred_at >= $2 and a.occurred_at <= $4 '
                                                     'or a.occurred_at = any ($5)')
                    using record_id, created, version, at, instants;
            end if;
            if found then                      -- the whole life, starting with its insert
                return;
            end if;
        end if;
    end if;
    return query execute 'select ' || columns || ' from audit.entries a where a.record_id = $1 '
                         'order by occurred_at, entry_id' using record_id;
end
$$;
