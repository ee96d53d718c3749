-- citus 090 seal horizons per node: every node's entry-id block is sealed up to what it issued.
--
-- Why: on a cluster every audit entry is written on a shard, by the trigger running on the
-- worker that holds it, with an id from that worker's copy of the entry sequence, which Citus
-- starts at (group << 48) + 1. 074 seals per id block; here the blocks and their horizons come
-- from every node instead of the coordinator's own sequence, which the cluster never uses.
--
-- Guarantees:
--   * audit.entry_id_blocks() is every primary node's group (the coordinator's included);
--   * audit.seal_horizons(wait_for) reads, on every node, the last id its sequence handed out,
--     and only then the transactions holding an xid there (active, or prepared: Citus commits
--     across nodes in two phases), and waits until all of them have ended (EL501 after
--     wait_for). A transaction that took an id up to a node's horizon held an xid on that node
--     before it (the row is written before its entry), so once they have ended, everything up
--     to the horizon that will ever commit has committed: 013's argument, node by node;
--   * a node that cannot be reached, or whose sequence caches ids, stops the seal (EL501)
--     rather than sealing past entries it may still commit.
-- tests/test_citus_cluster.py::test_the_trail_written_on_the_workers_is_sealed_and_verifies.

create or replace function audit.entry_id_blocks() returns setof bigint
    language sql stable
    set search_path = pg_catalog, pg_temp
    begin atomic
    select n.groupid::bigint from pg_dist_node n where n.noderole = 'primary'
    union
    select 0::bigint;
    end;
comment on function audit.entry_id_blocks() is
    'The id blocks entries are written in: every Citus node''s group (its sequence starts at group << 48 + 1).';

create or replace function audit.seal_horizons(wait_for interval)
    returns table (block bigint, horizon bigint)
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $fn$
declare
    -- On each node: its group, whether its sequence caches, the last id it handed out.
    read_horizon constant text := $q$
        select format('%s %s %s', (select groupid from pg_dist_local_group), s.seqcache,
                      (select case when is_called then last_value else last_value - 1 end
                       from audit.entries_entry_id_seq))
        from pg_sequence s where s.seqrelid = 'audit.entries_entry_id_seq'::regclass $q$;
    -- On each node: the transactions of this database holding an xid, active or prepared.
    read_writers constant text := $q$
        select coalesce(string_agg(w.x, ' '), '') from (
            select a.backend_xid::text from pg_stat_activity a
            where a.datname = current_database() and a.backend_xid is not null and a.pid <> pg_backend_pid()
            union all
            select p.transaction::text from pg_prepared_xacts p where p.database = current_database()) w(x) $q$;
    r record;
    parts text[];
    writers jsonb := '{}';   -- node id -> the xids writing there when the horizons were read
    blocks bigint[] := '{}';
    horizons bigint[] := '{}';
    own_xid text := pg_current_xact_id_if_assigned()::xid::text;   -- a caller's own writes: not waited for
    local_node integer := (select n.nodeid from pg_dist_node n
                           where n.groupid = (select groupid from pg_dist_local_group) and n.noderole = 'primary');
    still_running text;
    deadline timestamptz;
begin
    for r in select * from run_command_on_all_nodes(read_horizon) loop
        if not r.success then
            raise exception 'cannot read the entry id sequence on node %: %', r.nodeid, r.result using errcode = 'EL501';
        end if;
        parts := string_to_array(r.result, ' ');
        if parts[2]::bigint <> 1 then
            raise exception 'the entry id sequence on node % caches values, so ids are not handed out in order', r.nodeid
                using errcode = 'EL501';
        end if;
        blocks := blocks || parts[1]::bigint;
        horizons := horizons || parts[3]::bigint;
    end loop;
    for r in select * from run_command_on_all_nodes(read_writers) loop
        if not r.success then
            raise exception 'cannot list the writing transactions on node %: %', r.nodeid, r.result using errcode = 'EL501';
        end if;
        writers := writers || jsonb_build_object(r.nodeid::text, to_jsonb(string_to_array(nullif(r.result, ''), ' ')));
    end loop;
    deadline := clock_timestamp() + wait_for;
    loop
        select string_agg(format('%s (node %s)', x, n.nodeid), ', ') into still_running
        from run_command_on_all_nodes(read_writers) n
        cross join lateral unnest(string_to_array(nullif(n.result, ''), ' ')) x
        where coalesce(writers -> n.nodeid::text, '[]') ? x
          and not coalesce(n.nodeid = local_node and x = own_xid, false);
        exit when still_running is null;
        if clock_timestamp() > deadline then
            raise exception 'cannot seal yet: transaction(s) % took entry ids before the seal started and are still open',
                still_running using errcode = 'EL501', hint = 'run audit.seal() again once they have finished';
        end if;
        perform pg_sleep(0.05);
    end loop;
    -- A node whose sequence has not issued an id yet reads (group << 48): nothing in its block.
    return query select h.block, h.horizon from unnest(blocks, horizons) h(block, horizon)
                 where h.horizon > h.block << 48 order by 1;
end
$fn$;
comment on function audit.seal_horizons(interval) is
    'Per Citus node, its entry-id block and the last id it handed out, once the transactions that may still commit ids up to it have ended (EL501).';
alter function audit.entry_id_blocks() owner to enquiries_owner;
alter function audit.seal_horizons(interval) owner to enquiries_owner;
revoke all on function audit.seal_horizons(interval) from public;
