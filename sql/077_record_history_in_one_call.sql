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
-- one partition of one instant, until the rest of the life fits a two-month window. If the
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
    short_life constant interval := interval '62 days';
    entries constant text := 'select a.occurred_at, a.db_role, a.action, a.changed_columns, a.old_values, a.row_data '
                             'from audit.entries a where a.record_id = $1 ';
    created timestamp with time zone;
    at timestamp with time zone;
    earlier timestamp with time zone;
    instants timestamp with time zone[] := '{}';
    n bigint;
    first_action text;
    first_at timestamp with time zone;
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
            execute 'select a.occurred_at, a.action from audit.entries a where a.record_id = $1 '
                    'and a.occurred_at >= $2 and a.occurred_at <= $3 order by a.occurred_at, a.entry_id limit 1'
                into first_at, first_action using record_id, created, at;
            if first_action = 'insert' and first_at = created and instants = '{}' then
                return query execute entries || 'and a.occurred_at >= $2 and a.occurred_at <= $3 '
                                                'order by a.occurred_at, a.entry_id'
                    using record_id, created, at;
                return;
            elsif first_action = 'insert' and first_at = created then
                -- (only with instants: an OR with an empty array defeats pruning, every partition planned)
                return query execute entries || 'and ((a.occurred_at >= $2 and a.occurred_at <= $3) '
                                                'or a.occurred_at = any ($4)) order by a.occurred_at, a.entry_id'
                    using record_id, created, at, instants;
                return;
            end if;
        end if;
    end if;
    return query execute entries || 'order by a.occurred_at, a.entry_id' using record_id;
end
$$;

comment on function audit.record_history(uuid) is
    'One record''s audit entries, oldest first, reading only the monthly partitions of its life (an enquiry of the caller''s department; any other record reads them all). sql/077';

alter function audit.record_history(uuid) owner to enquiries_owner;

grant execute on function audit.record_history(uuid) to enquiries_auditor;
