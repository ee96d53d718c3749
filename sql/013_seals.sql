-- 013 seals: tamper evidence: chained SHA-256 seals over the audit trail.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 017_audit_seals.sql =====
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
--
-- ===== from 023_audit_seal_batches.sql =====
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

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- audit.entry_digest(audit.entries) (function)
CREATE FUNCTION audit.entry_digest(e audit.entries) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.jsonb_build_array(
        e.entry_id, e.tenant_id, pg_catalog.timezone('UTC', e.occurred_at), pg_catalog.timezone('UTC', e.recorded_at),
        e.backdated, e.actor_id, e.db_role, e.login_role, e.transaction_id::text, e.table_name, e.record_id,
        e.action, e.changed_columns, e.row_data, e.old_values)::text, 'UTF8'))
$$;


ALTER FUNCTION audit.entry_digest(e audit.entries) OWNER TO enquiries_owner;

-- audit.FUNCTION entry_digest(e audit.entries) (comment)
COMMENT ON FUNCTION audit.entry_digest(e audit.entries) IS 'SHA-256 of an audit entry''s canonical text (format 1: every stored field, timestamps in UTC).';

-- audit.require_superuser(text) (function)
CREATE FUNCTION audit.require_superuser(what text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
begin
    if not coalesce((select rolsuper from pg_roles where rolname = current_user), false) then
        raise exception '% needs a superuser: it must read every department''s audit entries', what
            using errcode = 'EL500';
    end if;
end
$$;


ALTER FUNCTION audit.require_superuser(what text) OWNER TO enquiries_owner;

-- audit.seal(integer, interval) (function)
CREATE FUNCTION audit.seal(max_entries integer DEFAULT 100000, wait_for interval DEFAULT '00:00:30'::interval) RETURNS TABLE(seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, seal_hash text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $$
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


ALTER FUNCTION audit.seal(max_entries integer, wait_for interval) OWNER TO enquiries_owner;

-- audit.FUNCTION seal(max_entries integer, wait_for interval) (comment)
COMMENT ON FUNCTION audit.seal(max_entries integer, wait_for interval) IS 'Seals every committed, unsealed audit entry in chained seals of at most max_entries consecutive ids; superuser only.';

-- audit.seal_hash(bytea, bigint, bigint, bigint, integer, int8multirange, bytea, bytea, timestamp with time zone, name) (function)
CREATE FUNCTION audit.seal_hash(prev_hash bytea, seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, missing_entry_ids int8multirange, entry_digests bytea, entries_hash bytea, sealed_at timestamp with time zone, sealed_by name) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select pg_catalog.sha256(prev_hash
        || pg_catalog.convert_to(pg_catalog.jsonb_build_array(1, seal_id, first_entry_id, last_entry_id, entry_count,
               missing_entry_ids::text, pg_catalog.timezone('UTC', sealed_at), sealed_by)::text, 'UTF8')
        || pg_catalog.sha256(entry_digests)
        || entries_hash)
$$;


ALTER FUNCTION audit.seal_hash(prev_hash bytea, seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, missing_entry_ids int8multirange, entry_digests bytea, entries_hash bytea, sealed_at timestamp with time zone, sealed_by name) OWNER TO enquiries_owner;

-- audit.verify(bigint) (function)
CREATE FUNCTION audit.verify(from_seal bigint DEFAULT 1) RETURNS TABLE(problem text, seal_id bigint, entry_id bigint, detail text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $$
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


ALTER FUNCTION audit.verify(from_seal bigint) OWNER TO enquiries_owner;

-- audit.FUNCTION verify(from_seal bigint) (comment)
COMMENT ON FUNCTION audit.verify(from_seal bigint) IS 'Recomputes the seal chain from the stored entries; one row per problem naming the entry or seal, plus an ''unsealed'' row (not a failure).';

-- audit.seals (table)
CREATE TABLE audit.seals (
    seal_id bigint NOT NULL,
    first_entry_id bigint NOT NULL,
    last_entry_id bigint NOT NULL,
    entry_count integer NOT NULL,
    missing_entry_ids int8multirange NOT NULL,
    entry_digests bytea NOT NULL,
    entries_hash bytea NOT NULL,
    prev_hash bytea NOT NULL,
    seal_hash bytea NOT NULL,
    sealed_at timestamp with time zone NOT NULL,
    sealed_by name NOT NULL,
    CONSTRAINT seals_check CHECK ((last_entry_id >= first_entry_id)),
    CONSTRAINT seals_check1 CHECK ((length(entry_digests) = (8 * entry_count))),
    CONSTRAINT seals_entries_hash_check CHECK ((length(entries_hash) = 32)),
    CONSTRAINT seals_entry_count_check CHECK ((entry_count >= 1)),
    CONSTRAINT seals_first_entry_id_check CHECK ((first_entry_id >= 1)),
    CONSTRAINT seals_prev_hash_check CHECK ((length(prev_hash) = 32)),
    CONSTRAINT seals_seal_hash_check CHECK ((length(seal_hash) = 32)),
    CONSTRAINT seals_seal_id_check CHECK ((seal_id >= 1))
);
ALTER TABLE ONLY audit.seals ALTER COLUMN entry_digests SET STORAGE EXTERNAL;


ALTER TABLE audit.seals OWNER TO enquiries_owner;

-- audit.TABLE seals (comment)
COMMENT ON TABLE audit.seals IS 'Tamper evidence: chained SHA-256 seals over contiguous ranges of audit entries (audit.seal, audit.verify).';

-- audit.seals seals_pkey (constraint)
ALTER TABLE ONLY audit.seals
    ADD CONSTRAINT seals_pkey PRIMARY KEY (seal_id);

-- audit.FUNCTION entry_digest(e audit.entries) (acl)
REVOKE ALL ON FUNCTION audit.entry_digest(e audit.entries) FROM PUBLIC;

-- audit.FUNCTION require_superuser(what text) (acl)
REVOKE ALL ON FUNCTION audit.require_superuser(what text) FROM PUBLIC;

-- audit.FUNCTION seal(max_entries integer, wait_for interval) (acl)
REVOKE ALL ON FUNCTION audit.seal(max_entries integer, wait_for interval) FROM PUBLIC;

-- audit.FUNCTION seal_hash(prev_hash bytea, seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, missing_entry_ids int8multirange, entry_digests bytea, entries_hash bytea, sealed_at timestamp with time zone, sealed_by name) (acl)
REVOKE ALL ON FUNCTION audit.seal_hash(prev_hash bytea, seal_id bigint, first_entry_id bigint, last_entry_id bigint, entry_count integer, missing_entry_ids int8multirange, entry_digests bytea, entries_hash bytea, sealed_at timestamp with time zone, sealed_by name) FROM PUBLIC;

-- audit.FUNCTION verify(from_seal bigint) (acl)
REVOKE ALL ON FUNCTION audit.verify(from_seal bigint) FROM PUBLIC;

-- audit.TABLE seals (acl)
-- Named, not REVOKE ALL + GRANT (see 008).
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLE audit.seals FROM enquiries_owner;

-- audit.seals seals_immutable (trigger)
CREATE TRIGGER seals_immutable BEFORE DELETE OR UPDATE ON audit.seals FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();

-- audit.seals seals_no_truncate (trigger)
CREATE TRIGGER seals_no_truncate BEFORE TRUNCATE ON audit.seals FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

