-- 023 audit seal batches by id range: sealing a long unsealed stretch costs time in proportion
-- to its length.
--
-- 017's audit.seal() found where each seal ends by sorting the ids of everything still
-- unsealed and taking the first max_entries, once per seal: fine for the few thousand entries a
-- regular run finds, quadratic for the first seal of a trail of millions. Now a seal covers at
-- most max_entries consecutive *ids* (so still at most max_entries entries), read with one range
-- scan through the BRIN index of 017.
--
-- Guarantees: as 017 (contiguous ranges chained to the previous seal, nothing sealed that a
-- running transaction may still commit, superusers only); a range holding no entry at all (ids
-- of rolled-back transactions) is widened rather than sealed empty, so every seal holds at least
-- one entry.

set local role enquiries_owner;

create or replace function audit.seal(max_entries integer default 100000, wait_for interval default '30 seconds')
    returns table (seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, seal_hash text)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set jit = off   -- as 022 set it: CREATE OR REPLACE resets a function's settings
    as $$
declare
    sequence_name constant regclass := pg_get_serial_sequence('audit.entries', 'entry_id')::regclass;
    genesis constant bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    horizon bigint;
    writers xid[];
    still_running text;
    deadline timestamptz;
    head audit.seals;
    s audit.seals;
    digests bytea;
    short_digests bytea;
begin
    perform audit.require_superuser('audit.seal()');
    if max_entries < 1 then
        raise exception 'max_entries must be at least 1' using errcode = '22023';
    end if;
    if current_setting('transaction_isolation') <> 'read committed' then
        -- The horizon logic needs a fresh snapshot per statement.
        raise exception 'audit.seal() runs at READ COMMITTED, not %', current_setting('transaction_isolation')
            using errcode = 'EL501';
    end if;
    if (select seqcache from pg_sequence where seqrelid = sequence_name) <> 1 then
        raise exception 'the entry id sequence caches values, so ids are not handed out in order' using errcode = 'EL501';
    end if;
    lock table audit.seals in share row exclusive mode;   -- one sealer at a time

    -- The horizon: the last entry id handed out. Whoever took an id up to here had an xid before
    -- (capture writes the row, which assigns the xid, before its entry), so it has finished or
    -- is one of this database's transactions holding an xid right now: wait for those.
    execute format('select case when is_called then last_value else last_value - 1 end from %s', sequence_name)
        into horizon;
    perform pg_stat_clear_snapshot();
    select coalesce(array_agg(a.backend_xid), '{}') into writers
    from pg_stat_activity a
    where a.datname = current_database() and a.backend_xid is not null and a.pid <> pg_backend_pid();
    writers := writers || coalesce((select array_agg(p.transaction) from pg_prepared_xacts p
                                    where p.database = current_database()), '{}');
    deadline := clock_timestamp() + wait_for;
    loop
        perform pg_stat_clear_snapshot();   -- pg_stat_activity is otherwise read once per transaction
        select string_agg(format('%s (pid %s)', a.backend_xid, a.pid), ', ') into still_running
        from pg_stat_activity a where a.backend_xid = any(writers) and a.datname = current_database();
        still_running := concat_ws(', ', still_running,
            (select string_agg(format('%s (prepared %L)', p.transaction, p.gid), ', ')
             from pg_prepared_xacts p where p.transaction = any(writers) and p.database = current_database()));
        exit when still_running = '';
        if clock_timestamp() > deadline then
            raise exception 'cannot seal yet: transaction(s) % took entry ids before the seal started and are still open',
                still_running using errcode = 'EL501', hint = 'run audit.seal() again once they have finished';
        end if;
        perform pg_sleep(0.01);
    end loop;

    select * into head from audit.seals order by seals.seal_id desc limit 1;
    s.seal_id := coalesce(head.seal_id, 0);
    s.last_entry_id := coalesce(head.last_entry_id, 0);
    s.seal_hash := coalesce(head.seal_hash, genesis);
    loop
        s.prev_hash := s.seal_hash;
        s.seal_id := s.seal_id + 1;
        s.first_entry_id := s.last_entry_id + 1;
        exit when s.first_entry_id > horizon;
        -- At most max_entries ids per seal: a range the BRIN index finds directly, with no sort
        -- over everything still unsealed. A range holding no entry (only ids of rolled-back
        -- transactions) is widened until it holds one or reaches the horizon.
        s.last_entry_id := s.first_entry_id - 1;
        loop
            s.last_entry_id := least(horizon, s.last_entry_id + max_entries);
            select count(*), string_agg(b.d, ''::bytea order by b.entry_id),
                   string_agg(substr(b.d, 1, 8), ''::bytea order by b.entry_id),
                   int8multirange(int8range(s.first_entry_id, s.last_entry_id, '[]'))
                       - range_agg(int8range(b.entry_id, b.entry_id, '[]'))
            into s.entry_count, digests, short_digests, s.missing_entry_ids
            from (select e.entry_id, audit.entry_digest(e) as d
                  from audit.entries e where e.entry_id between s.first_entry_id and s.last_entry_id
                  offset 0) b;   -- not flattened: each digest is computed once
            exit when s.entry_count > 0 or s.last_entry_id = horizon;
        end loop;
        exit when s.entry_count = 0;   -- nothing but unused ids up to the horizon: the next seal covers them
        s.entry_digests := short_digests;
        s.entries_hash := sha256(digests);
        s.sealed_at := clock_timestamp();
        s.sealed_by := session_user;
        s.seal_hash := audit.seal_hash(s.prev_hash, s.seal_id, s.first_entry_id, s.last_entry_id, s.entry_count,
                                       s.missing_entry_ids, s.entry_digests, s.entries_hash, s.sealed_at, s.sealed_by);
        insert into audit.seals select s.*;
        seal_id := s.seal_id;
        first_entry_id := s.first_entry_id;
        last_entry_id := s.last_entry_id;
        entry_count := s.entry_count;
        seal_hash := encode(s.seal_hash, 'hex');
        return next;
    end loop;
end
$$;

comment on function audit.seal(integer, interval) is
    'Seals every committed, unsealed audit entry in chained seals of at most max_entries consecutive ids; superuser only.';

revoke all on function audit.seal(integer, interval) from public;
