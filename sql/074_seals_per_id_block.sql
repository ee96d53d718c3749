-- 074 seals per entry-id block: one seal chain over entries whose ids come from several ranges.
--
-- Why: 013 seals contiguous entry ids from 1 up to the one sequence's last value. A distributed
-- engine hands out ids per node: Citus gives each node group g the ids (g << 48) + 1 onwards
-- (its worker sequences' START/MINVALUE), so the entries written on the workers, which are
-- all of them, sit far above the coordinator's sequence: `audit seal` found nothing to seal
-- and verify reported them as unsealed while exiting 0. Sealing straight across such a gap
-- would be wrong as well: a node keeps issuing ids below a seal already past them.
--
-- Guarantees:
--   * entry ids fall into blocks of 2^48: block b holds the ids (b << 48) + 1 .. (b + 1) << 48
--     (audit.entry_id_block). A single node issues block 0 only, so its trail and seals are
--     exactly as 013 made them;
--   * audit.seal_horizons(wait_for) says, per block that issues ids, the last id handed out
--     that no running transaction can still commit (013's horizon and wait, unchanged on one
--     node). The Citus profile replaces it with one horizon per node (sql/citus/090);
--   * audit.seal() seals each block's committed entries in seals that never span two blocks,
--     each starting right after the block's previous seal; the seals themselves still form
--     one hash chain (one seal_id sequence, each prev_hash the seal before it), so one anchor
--     (`audit verify --anchor`) covers every block;
--   * audit.verify() checks that chain and, per block, that the seals cover the block's ids
--     contiguously from its first id; unsealed entries are reported per block
--     (audit.unsealed_ranges and audit.unsealed_summary, also read by check 0014), for every
--     block that issues ids or holds a seal.
-- Limit: the blocks looked at for unsealed entries are those of the nodes that issue ids now
-- and those already sealed; seal before removing a node whose entries were never sealed.
-- tests/test_seals.py, tests/test_citus_cluster.py::test_the_trail_written_on_the_workers_is_sealed_and_verifies.

create function audit.entry_id_block(entry_id bigint) returns bigint
    language sql immutable parallel safe
    return (entry_id - 1) >> 48;
comment on function audit.entry_id_block(bigint) is
    'The id block an entry id belongs to: block b holds ids (b << 48) + 1 .. (b + 1) << 48 (Citus: node group b).';

-- On one node: the blocks from the sequence's minimum to its last value, 0 unless someone moved
-- the sequence (a restore, a restart); the Citus profile lists every node's block instead.
create function audit.entry_id_blocks() returns setof bigint
    language sql stable
    set search_path = pg_catalog, pg_temp
    begin atomic
    select generate_series(audit.entry_id_block(greatest(s.min_value, 1)), audit.entry_id_block(greatest(s.last_value, 1)))
    from pg_sequences s
    where s.schemaname = 'audit' and s.sequencename = 'entries_entry_id_seq';
    end;
comment on function audit.entry_id_blocks() is
    'The id blocks entries are written in here: 0 on a single node (the Citus profile: every node''s group).';

-- 013's horizon and wait, moved out of seal() so a distributed profile can give one per node.
create function audit.seal_horizons(wait_for interval)
    returns table (block bigint, horizon bigint)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $fn$
declare
    sequence_name constant regclass := pg_get_serial_sequence('audit.entries', 'entry_id')::regclass;
    last_issued bigint;
    writers xid[];
    still_running text;
    deadline timestamptz;
begin
    if (select seqcache from pg_sequence where seqrelid = sequence_name) <> 1 then
        raise exception 'the entry id sequence caches values, so ids are not handed out in order' using errcode = 'EL501';
    end if;
    -- Whoever took an id up to here had an xid before (capture writes the row, which assigns
    -- the xid, before its entry), so it has finished or is one of this database's transactions
    -- holding an xid right now: wait for those.
    execute format('select case when is_called then last_value else last_value - 1 end from %s', sequence_name)
        into last_issued;
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
    -- The sequence's block ends at the last id issued (0 for a fresh sequence: nothing in block
    -- 0); a block it has moved past will never issue again, so it ends at its last id.
    return query
        select b, case when b = audit.entry_id_block(greatest(last_issued, 1)) then last_issued else (b + 1) << 48 end
        from audit.entry_id_blocks() b
        where b <= audit.entry_id_block(greatest(last_issued, 1));
end
$fn$;
comment on function audit.seal_horizons(interval) is
    'Per id block, the last entry id handed out once the transactions that may still commit ids up to it have ended (EL501 after wait_for).';

-- Per block, the ids after its last seal: what verify reports and check 0014 reads as unsealed.
create function audit.unsealed_ranges()
    returns table (block bigint, first_entry_id bigint, last_entry_id bigint)
    language sql stable
    set search_path = pg_catalog, pg_temp
    begin atomic
    select b.block, coalesce(max(s.last_entry_id), b.block << 48) + 1, (b.block + 1) << 48
    from (select audit.entry_id_blocks() as block
          union select audit.entry_id_block(s.first_entry_id) from audit.seals s) b
    left join audit.seals s on audit.entry_id_block(s.first_entry_id) = b.block
    group by b.block
    order by b.block;
    end;
comment on function audit.unsealed_ranges() is
    'Per entry-id block that issues ids or holds a seal, the id range after its last seal.';

-- What lies in those ranges, per block and department, optionally only entries recorded before
-- a time (check 0014). One query per block with its bounds as values: joined to the ranges
-- instead, the planner probed every partition's index per range (6x slower at 450k entries).
create function audit.unsealed_summary(recorded_before timestamptz default null)
    returns table (block bigint, tenant_id uuid, entries bigint, first_entry_id bigint, last_entry_id bigint,
                   oldest_recorded_at timestamptz)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $fn$
declare
    r record;
begin
    for r in select * from audit.unsealed_ranges() loop
        return query execute
            'select $1, e.tenant_id, count(*), min(e.entry_id), max(e.entry_id), min(e.recorded_at)
             from audit.entries e
             where e.entry_id between $2 and $3 and ($4::timestamptz is null or e.recorded_at < $4)
             group by e.tenant_id'
            using r.block, r.first_entry_id, r.last_entry_id, recorded_before;
    end loop;
end
$fn$;
comment on function audit.unsealed_summary(timestamptz) is
    'Entries after their block''s last seal, per block and department (those recorded before the time given, if any).';

alter table audit.seals add constraint seals_within_one_block
    check (audit.entry_id_block(first_entry_id) = audit.entry_id_block(last_entry_id));

create or replace function audit.seal(max_entries integer default 100000, wait_for interval default '00:00:30'::interval)
    returns table (seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, seal_hash text)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set jit = off
    as $fn$
declare
    genesis constant bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    h record;
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
    lock table audit.seals in share row exclusive mode;   -- one sealer at a time

    select * into head from audit.seals order by seals.seal_id desc limit 1;
    s.seal_id := coalesce(head.seal_id, 0);
    s.seal_hash := coalesce(head.seal_hash, genesis);
    for h in select * from audit.seal_horizons(wait_for) order by 1 loop
        -- The block's last sealed id, or the id before its first.
        s.last_entry_id := coalesce((select max(v.last_entry_id) from audit.seals v
                                     where audit.entry_id_block(v.first_entry_id) = h.block), h.block << 48);
        loop
            s.first_entry_id := s.last_entry_id + 1;
            exit when s.first_entry_id > h.horizon;
            -- At most max_entries ids per seal: a range the BRIN index finds directly, with no sort
            -- over everything still unsealed. A range holding no entry (only ids of rolled-back
            -- transactions, or the rest of a block the sequence has left) is widened to reach the
            -- next entry, or the horizon when there is none.
            s.last_entry_id := s.first_entry_id - 1;
            loop
                if s.last_entry_id >= s.first_entry_id then
                    s.last_entry_id := coalesce(
                        (select min(e.entry_id) from audit.entries e
                         where e.entry_id > s.last_entry_id and e.entry_id <= h.horizon) - 1,
                        h.horizon);
                end if;
                s.last_entry_id := least(h.horizon, s.last_entry_id + max_entries);
                select count(*), string_agg(b.d, ''::bytea order by b.entry_id),
                       string_agg(substr(b.d, 1, 8), ''::bytea order by b.entry_id),
                       int8multirange(int8range(s.first_entry_id, s.last_entry_id, '[]'))
                           - range_agg(int8range(b.entry_id, b.entry_id, '[]'))
                into s.entry_count, digests, short_digests, s.missing_entry_ids
                from (select e.entry_id, audit.entry_digest(e) as d
                      from audit.entries e where e.entry_id between s.first_entry_id and s.last_entry_id
                      offset 0) b;   -- not flattened: each digest is computed once
                exit when s.entry_count > 0 or s.last_entry_id = h.horizon;
            end loop;
            exit when s.entry_count = 0;   -- nothing but unused ids up to the horizon: the next seal covers them
            s.prev_hash := s.seal_hash;
            s.seal_id := s.seal_id + 1;
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
    end loop;
end
$fn$;

create or replace function audit.verify(from_seal bigint default 1)
    returns table (problem text, seal_id bigint, entry_id bigint, detail text)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    set jit = off
    as $fn$
declare
    genesis constant bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    s audit.seals;
    block bigint;
    expected_seal bigint;
    expected_first jsonb;   -- per block: the id its next seal must start at
    block_first bigint;
    prev bytea;
    current_hash bytea;
    localised integer;
    unsealed record;
begin
    perform audit.require_superuser('audit.verify()');
    from_seal := greatest(coalesce(from_seal, 1), 1);
    -- Verification from a later seal trusts the stored seals before it as its starting point.
    select v.seal_hash, v.seal_id + 1 into prev, expected_seal
    from audit.seals v where v.seal_id < from_seal order by v.seal_id desc limit 1;
    if not found then
        prev := genesis;
        expected_seal := 1;
    end if;
    select coalesce(jsonb_object_agg(b.block, b.next_id), '{}') into expected_first
    from (select audit.entry_id_block(v.first_entry_id) as block, max(v.last_entry_id) + 1 as next_id
          from audit.seals v where v.seal_id < from_seal group by 1) b;

    for s in select * from audit.seals v where v.seal_id >= from_seal order by v.seal_id loop
        block := audit.entry_id_block(s.first_entry_id);
        block_first := coalesce((expected_first ->> block::text)::bigint, (block << 48) + 1);
        if s.seal_id <> expected_seal then
            return query select 'chain_broken', s.seal_id, null::bigint,
                format('seals %s to %s are missing', expected_seal, s.seal_id - 1);
        end if;
        if s.prev_hash <> prev then
            return query select 'chain_broken', s.seal_id, null::bigint,
                'its previous hash does not match the hash of the seal before it (a seal was altered, removed or inserted)';
        end if;
        if s.first_entry_id <> block_first then
            return query select 'chain_broken', s.seal_id, null::bigint,
                format('it starts at entry %s, but the seal before it in its id block ended at entry %s',
                       s.first_entry_id, block_first - 1);
        end if;
        if audit.seal_hash(s.prev_hash, s.seal_id, s.first_entry_id, s.last_entry_id, s.entry_count, s.missing_entry_ids,
                           s.entry_digests, s.entries_hash, s.sealed_at, s.sealed_by) is distinct from s.seal_hash then
            return query select 'seal_changed', s.seal_id, null::bigint,
                'the seal''s stored fields no longer match its hash';
        end if;

        select sha256(coalesce(string_agg(b.d, ''::bytea order by b.entry_id), ''::bytea))
        into current_hash
        from (select e.entry_id, audit.entry_digest(e) as d
              from audit.entries e where e.entry_id between s.first_entry_id and s.last_entry_id
              offset 0) b;
        if current_hash is distinct from s.entries_hash then
            -- Name the entries: what the seal recorded (ids and short digests) against what is stored now.
            return query
            with recorded as (
                select r.id, substr(s.entry_digests, (r.pos - 1)::integer * 8 + 1, 8) as digest
                from (select g as id, row_number() over (order by g) as pos
                      from generate_series(s.first_entry_id, s.last_entry_id) g
                      where not s.missing_entry_ids @> g) r
            ),
            stored as materialized (
                select e.entry_id as id, substr(audit.entry_digest(e), 1, 8) as digest
                from audit.entries e where e.entry_id between s.first_entry_id and s.last_entry_id
            )
            select case when stored.id is null then 'entry_missing'
                        when recorded.id is null then 'entry_added'
                        else 'entry_changed' end,
                   s.seal_id, coalesce(recorded.id, stored.id),
                   case when stored.id is null then 'sealed entry no longer exists (deleted)'
                        when recorded.id is null then 'entry appeared inside a sealed range'
                        else 'entry no longer matches its sealed digest' end
            from recorded full join stored on stored.id = recorded.id
            where recorded.digest is distinct from stored.digest
            order by 3;
            get diagnostics localised = row_count;
            if localised = 0 then
                return query select 'seal_changed', s.seal_id, null::bigint,
                    'the entries no longer hash to the sealed value, yet each matches its recorded digest: the seal''s digests were altered';
            end if;
        end if;
        prev := s.seal_hash;
        expected_first := expected_first || jsonb_build_object(block::text, s.last_entry_id + 1);
        expected_seal := s.seal_id + 1;
    end loop;

    for unsealed in
        select u.block, sum(u.entries) as n, min(u.first_entry_id) as first_id, max(u.last_entry_id) as last_id,
               min(u.oldest_recorded_at) as oldest
        from audit.unsealed_summary() u
        group by u.block order by u.block
    loop
        return query select 'unsealed', null::bigint, unsealed.first_id,
            format('%s entries (ids %s to %s) not sealed yet; the oldest was recorded at %s',
                   unsealed.n, unsealed.first_id, unsealed.last_id, unsealed.oldest);
    end loop;
end
$fn$;

revoke all on function audit.seal_horizons(interval) from public;
revoke all on function audit.unsealed_ranges() from public;
revoke all on function audit.unsealed_summary(timestamptz) from public;
alter function audit.entry_id_block(bigint) owner to enquiries_owner;
alter function audit.entry_id_blocks() owner to enquiries_owner;
alter function audit.seal_horizons(interval) owner to enquiries_owner;
alter function audit.unsealed_ranges() owner to enquiries_owner;
alter function audit.unsealed_summary(timestamptz) owner to enquiries_owner;
