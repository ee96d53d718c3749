-- 017 audit seals: tamper evidence for the audit trail, sealed in batches off the write path.
--
-- The triggers of 006 stop everyone but a superuser; a superuser can still switch them off
-- (session_replication_role = replica) and edit or delete entries. Seals make that detectable.
--
-- Guarantees:
--   * audit.seal() (run by a superuser, e.g. `enquiries-lab audit seal` every few minutes)
--     seals every committed entry not sealed yet, in seals of at most `max_entries` entries.
--     A seal covers a contiguous range of entry ids, first_entry_id .. last_entry_id, starting
--     right after the previous seal's range, and records:
--       - missing_entry_ids: the ids of the range that hold no entry (ids of rolled-back
--         transactions), so a later deletion can be told from an id that never committed;
--       - entries_hash: SHA-256 over the SHA-256 of each entry's canonical text
--         (audit.entry_digest: every stored field, timestamps in UTC), in entry id order;
--       - entry_digests: the first 8 bytes of each entry's digest, so verification can name
--         the entry that changed (the full entries_hash is what proves integrity);
--       - seal_hash: SHA-256 over the previous seal's hash, the seal's own fields and
--         entries_hash: the seals form a chain, so no seal can be altered, removed or
--         inserted without breaking every link after it.
--   * the write path is untouched: capture (012) neither hashes nor serialises anything; the
--     only addition is a BRIN index on entry ids (a few pages), which lets a seal read just
--     the entries after the previous one;
--   * a seal never covers an id that a still-running transaction may commit later: seal()
--     reads the last id handed out, then waits (up to `wait_for`) for this database's
--     transactions that were writing at that moment, and seals only up to that id (EL501 if
--     they do not end);
--   * audit.verify() recomputes every seal from the stored entries and returns one row per
--     problem, naming entries: entry_changed, entry_missing (deleted), entry_added (inserted
--     into a sealed range), seal_changed (a seal's own fields), chain_broken (a seal removed,
--     inserted or altered); plus one 'unsealed' row, which is not a failure, for the entries
--     after the last seal;
--   * seals are immutable like entries: no privileges, triggers refuse UPDATE, DELETE and
--     TRUNCATE (EL201), and the DDL guard (007) refuses DDL on the audit schema.
-- Limits: a superuser who rewrites an entry *and* recomputes every later seal leaves a
-- consistent chain; only a seal hash kept outside the database catches that (`audit seal`
-- prints the head; `audit verify --anchor ID:HASH` checks it). Removing the newest seals
-- only turns their entries back into unsealed ones, which the anchor catches as well.
-- seal() and verify() read every department, which forced RLS allows no lab role: they
-- refuse anyone but a superuser (EL500), are not SECURITY DEFINER, and PUBLIC cannot run them.

set local role enquiries_owner;

create table audit.seals (
    seal_id            bigint primary key check (seal_id >= 1),   -- 1, 2, 3, ... (a gap is a removed seal)
    first_entry_id     bigint not null check (first_entry_id >= 1),
    last_entry_id      bigint not null,
    entry_count        integer not null check (entry_count >= 1),
    missing_entry_ids  int8multirange not null,   -- ids in the range that held no entry when sealed
    entry_digests      bytea not null,            -- 8 bytes per entry, in entry id order
    entries_hash       bytea not null check (length(entries_hash) = 32),
    prev_hash          bytea not null check (length(prev_hash) = 32),
    seal_hash          bytea not null check (length(seal_hash) = 32),
    sealed_at          timestamptz not null,
    sealed_by          name not null,
    check (last_entry_id >= first_entry_id),
    check (length(entry_digests) = 8 * entry_count)
);
-- Digests are random bytes: compressing them is wasted effort.
alter table audit.seals alter column entry_digests set storage external;

comment on table audit.seals is
    'Tamper evidence: chained SHA-256 seals over contiguous ranges of audit entries (audit.seal, audit.verify).';

create trigger seals_immutable before update or delete on audit.seals
    for each row execute function audit.refuse_change();
create trigger seals_no_truncate before truncate on audit.seals
    for each statement execute function audit.refuse_change();

revoke all on audit.seals from public;
revoke update, delete, truncate, references, trigger on audit.seals from enquiries_owner;

-- Lets a seal read only the entries after the previous one. BRIN: entries are appended in
-- roughly id order within each partition, so a few summary pages per partition suffice and
-- inserts barely notice it. tenant_id comes first only to keep "every index on a tenant-scoped
-- table leads with tenant_id" true without exceptions; a BRIN index serves conditions on any
-- of its columns.
create index entries_entry_id on audit.entries using brin (tenant_id, entry_id);

-- The digest of one entry: SHA-256 of a canonical text of every stored field. Timestamps are
-- rendered in UTC (jsonb renders timestamp without time zone in ISO 8601), so the text does
-- not depend on the session's TimeZone or DateStyle. Fully qualified so that it can be inlined.
create function audit.entry_digest(e audit.entries) returns bytea
    language sql stable parallel safe
    as $$
    select pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
        e.entry_id, e.tenant_id, pg_catalog.timezone('UTC', e.occurred_at), pg_catalog.timezone('UTC', e.recorded_at),
        e.backdated, e.actor_id, e.db_role, e.login_role, e.transaction_id::text, e.table_name, e.record_id,
        e.action, e.changed_columns, e.row_data, e.old_values)::text, 'UTF8'))
$$;

comment on function audit.entry_digest(audit.entries) is
    'SHA-256 of an audit entry''s canonical text (format 1: every stored field, timestamps in UTC).';

-- The hash a seal stores: the previous seal's hash, the seal's own fields, and entries_hash.
create function audit.seal_hash(prev_hash bytea, seal_id bigint, first_entry_id bigint, last_entry_id bigint,
                                entry_count integer, missing_entry_ids int8multirange, entry_digests bytea,
                                entries_hash bytea, sealed_at timestamptz, sealed_by name) returns bytea
    language sql immutable parallel safe
    as $$
    select pg_catalog.sha256(prev_hash
        || pg_catalog.convert_to(pg_catalog.jsonb_build_array(1, seal_id, first_entry_id, last_entry_id, entry_count,
               missing_entry_ids::text, pg_catalog.timezone('UTC', sealed_at), sealed_by)::text, 'UTF8')
        || pg_catalog.sha256(entry_digests)
        || entries_hash)
$$;

-- Seals and verification read every department: only a superuser can (RLS is forced and no
-- lab role has BYPASSRLS). Anyone else would silently see a part of the trail.
create function audit.require_superuser(what text) returns void
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
begin
    if not coalesce((select rolsuper from pg_roles where rolname = current_user), false) then
        raise exception '% needs a superuser: it must read every department''s audit entries', what
            using errcode = 'EL500';
    end if;
end
$$;

create function audit.seal(max_entries integer default 100000, wait_for interval default '30 seconds')
    returns table (seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, seal_hash text)
    language plpgsql
    set search_path = pg_catalog, pg_temp
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
    n integer;
    max_id bigint;
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
        -- Where this seal ends: after max_entries entries (sorting ids only), or at the horizon.
        select count(*), max(x.entry_id) into n, max_id
        from (select e.entry_id from audit.entries e
              where e.entry_id between s.first_entry_id and horizon
              order by e.entry_id limit max_entries) x;
        exit when n = 0;   -- only ids of rolled-back transactions left: the next seal covers them
        s.last_entry_id := case when n < max_entries then horizon else max_id end;
        select count(*), string_agg(b.d, ''::bytea order by b.entry_id), string_agg(substr(b.d, 1, 8), ''::bytea order by b.entry_id),
               int8multirange(int8range(s.first_entry_id, s.last_entry_id, '[]'))
                   - range_agg(int8range(b.entry_id, b.entry_id, '[]'))
        into s.entry_count, digests, short_digests, s.missing_entry_ids
        from (select e.entry_id, audit.entry_digest(e) as d
              from audit.entries e where e.entry_id between s.first_entry_id and s.last_entry_id
              offset 0) b;   -- not flattened: each digest is computed once
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
        exit when n < max_entries;
    end loop;
end
$$;

comment on function audit.seal(integer, interval) is
    'Seals every committed, unsealed audit entry in chained seals of at most max_entries entries; superuser only.';

create function audit.verify(from_seal bigint default 1)
    returns table (problem text, seal_id bigint, entry_id bigint, detail text)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $$
declare
    genesis constant bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    s audit.seals;
    expected_seal bigint;
    expected_first bigint;
    prev bytea;
    current_hash bytea;
    localised integer;
    unsealed record;
begin
    perform audit.require_superuser('audit.verify()');
    from_seal := greatest(coalesce(from_seal, 1), 1);
    -- Verification from a later seal trusts the stored seal before it as its starting point.
    select v.seal_hash, v.last_entry_id + 1, v.seal_id + 1 into prev, expected_first, expected_seal
    from audit.seals v where v.seal_id < from_seal order by v.seal_id desc limit 1;
    if not found then
        prev := genesis;
        expected_first := 1;
        expected_seal := 1;
    end if;

    for s in select * from audit.seals v where v.seal_id >= from_seal order by v.seal_id loop
        if s.seal_id <> expected_seal then
            return query select 'chain_broken', s.seal_id, null::bigint,
                format('seals %s to %s are missing', expected_seal, s.seal_id - 1);
        end if;
        if s.prev_hash <> prev then
            return query select 'chain_broken', s.seal_id, null::bigint,
                'its previous hash does not match the hash of the seal before it (a seal was altered, removed or inserted)';
        end if;
        if s.first_entry_id <> expected_first then
            return query select 'chain_broken', s.seal_id, null::bigint,
                format('it starts at entry %s, but the seal before it ended at entry %s', s.first_entry_id, expected_first - 1);
        end if;
        if audit.seal_hash(s.prev_hash, s.seal_id, s.first_entry_id, s.last_entry_id, s.entry_count, s.missing_entry_ids,
                           s.entry_digests, s.entries_hash, s.sealed_at, s.sealed_by) is distinct from s.seal_hash then
            return query select 'seal_changed', s.seal_id, null::bigint,
                'the seal''s stored fields no longer match its hash';
        end if;

        select sha256(coalesce(string_agg(audit.entry_digest(e), ''::bytea order by e.entry_id), ''::bytea))
        into current_hash
        from audit.entries e where e.entry_id between s.first_entry_id and s.last_entry_id;
        if current_hash is distinct from s.entries_hash then
            -- Name the entries: what the seal recorded (ids and short digests) against what is stored now.
            return query
            with recorded as (
                select r.id, substr(s.entry_digests, (r.pos - 1)::integer * 8 + 1, 8) as digest
                from (select g as id, row_number() over (order by g) as pos
                      from generate_series(s.first_entry_id, s.last_entry_id) g
                      where not s.missing_entry_ids @> g) r
            ),
            stored as (
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
        expected_first := s.last_entry_id + 1;
        expected_seal := s.seal_id + 1;
    end loop;

    select count(*) as n, min(e.entry_id) as first_id, max(e.entry_id) as last_id, min(e.recorded_at) as oldest
    into unsealed
    from audit.entries e where e.entry_id >= expected_first;
    if unsealed.n > 0 then
        return query select 'unsealed', null::bigint, unsealed.first_id,
            format('%s entries (ids %s to %s) not sealed yet; the oldest was recorded at %s',
                   unsealed.n, unsealed.first_id, unsealed.last_id, unsealed.oldest);
    end if;
end
$$;

comment on function audit.verify(bigint) is
    'Recomputes the seal chain from the stored entries; one row per problem naming the entry or seal, plus an ''unsealed'' row (not a failure).';

revoke all on function audit.entry_digest(audit.entries), audit.seal_hash(bytea, bigint, bigint, bigint, integer, int8multirange, bytea, bytea, timestamptz, name),
    audit.require_superuser(text), audit.seal(integer, interval), audit.verify(bigint) from public;
