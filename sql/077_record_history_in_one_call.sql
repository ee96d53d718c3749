-- 077 a record's history in one call (issue 20): audit.record_history(record_id) reads only
-- the monthly partitions of the record's life, as queries.record_history did from the client in
-- two to five round trips (a window lookup, then the history or a walk back), now in one.
--
-- Why the bounds hold, so that pruning loses no entry: every audit entry of an enquiry has
-- occurred_at = the row's updated_at as that change stamped it (sql/008); the stamp trigger sets
-- created_at = updated_at on insert and never moves updated_at backwards (sql/007); rows are
-- never deleted (soft delete and disposal are updates). So the entries lie in
-- [created_at, updated_at] of the live row.
--
-- A long life (disposed of seven years after closing) would still read ~90 partitions, so it
-- is walked back from the last change instead: each update entry keeps the row's previous
-- updated_at in old_values, the business time of the change before it, so each step reads the
-- one partition of one instant, until the rest of the life fits a six-month window (each step
-- is a statement planned anew, ~0.2 ms; six monthly partitions read at once cost less than the
-- steps a busy half-year would take: p95 1.5-2.4 ms against 2.0-2.8 ms for two months on the
-- generated million, 200 random enquiries, three samples). If the
-- chain does not lead back to the insert at created_at, or the record is no enquiry of the
-- caller's department, every partition is read: slower, never wrong.
--
-- Every statement is EXECUTEd with its bounds as values, so the planner prunes partitions
-- while planning (a cached generic plan would plan and lock all ~120 and prune at run time).
-- SECURITY INVOKER: RLS decides which enquiry and which entries the caller sees.

create function audit.record_history(record_id uuid)
    returns table (occurred_at timestamp with time zone, db_role name, action text, changed_columns text[],
                   old_values jsonb, row_data jsonb)
    language plpgsql stable
    as $$
declare
    short_life constant interval := interval '183 days';
    columns constant text := 'occurred_at, db_role, action, changed_columns, old_values, row_data';
    -- the entries of the life, returned only when the first is the insert at created_at ($2)
    checked constant text := 'with h as (select a.entry_id, a.' || replace(columns, ', ', ', a.') || ' from audit.entries a '
                             'where a.record_id = $1 and (%s)) '
                             'select ' || columns || ' from h where (select f.action = ''insert'' and f.occurred_at = $2 '
                             'from h f order by f.occurred_at, f.entry_id limit 1) order by occurred_at, entry_id';
    created timestamp with time zone;
    at timestamp with time zone;
    earlier timestamp with time zone;
    instants timestamp with time zone[] := '{}';
    n bigint;
begin
    select e.created_at, e.updated_at into created, at
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
                return query execute format(checked, 'a.occurred_at >= $2 and a.occurred_at <= $3')
                    using record_id, created, at;
            else
                -- (only with instants: an OR with an empty array defeats pruning, every partition planned)
                return query execute format(checked, 'a.occurred_at >= $2 and a.occurred_at <= $3 '
                                                     'or a.occurred_at = any ($4)')
                    using record_id, created, at, instants;
            end if;
            if found then                      -- the life's entries, starting with its insert
                return;
            end if;
        end if;
    end if;
    return query execute 'select ' || columns || ' from audit.entries a where a.record_id = $1 '
                         'order by occurred_at, entry_id' using record_id;
end
$$;

comment on function audit.record_history(uuid) is
    'One record''s audit entries, oldest first, reading only the monthly partitions of its life (an enquiry of the caller''s department; any other record reads them all). sql/077';

alter function audit.record_history(uuid) owner to enquiries_owner;

grant execute on function audit.record_history(uuid) to enquiries_auditor;
