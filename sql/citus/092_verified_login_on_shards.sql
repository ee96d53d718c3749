-- citus 092 the login on the shards, verified: asked of the node where the statement began.
--
-- Why: on a shard session_user is the role Citus connected as (the acting role), so 085 took
-- the login from enquiries.login, which the session layer declares. Any client of the
-- coordinator can declare it too, so a login that is no history loader could claim to be
-- one and backdate changes (EL400 passed), and audit.entries.login_role recorded the claim.
--
-- Guarantees:
--   * on a shard, the login of a change is the session user of the backend the distributed
--     statement began in: Citus names that backend in every connection it opens for it
--     (citus_backend_gpid(): the initiating node and its pid), and audit.verified_login()
--     reads pg_stat_activity there (one query to that node, as the owner, over the inter-node
--     connection; locally when it began here). A client cannot choose that backend, and
--     enquiries.login is no longer read;
--   * the answer is kept for the rest of the worker's transaction in enquiries.login_proof,
--     bound to this node, the initiating backend and the local transaction id, with a keyed
--     hash (a 32-byte secret in audit.login_secret, read by the function's owner, the audit
--     writer, only; the same on
--     every node as a reference table); a forged or replayed proof does not verify and the
--     login is asked again. Without a transaction id (a read) it is asked each time;
--   * when the initiating backend cannot be asked or is gone, the change is refused (EL404)
--     rather than recorded under a login nobody verified;
--   * audit.entries.login_role records that login (036's row capture, used on the shards, wrote
--     session_user there: the acting role), and EL400 (085) reads it;
--   * off the shards (session_user is no internal role) the login is session_user, as before.
-- tests/test_citus_cluster.py::test_a_declared_login_is_not_believed_on_the_shards.

create table audit.login_secret (
    secret bytea not null check (length(secret) = 32)
);
comment on table audit.login_secret is
    'The key of the shards'' login proofs: read by audit.verified_login (owned by the audit writer) and the owner only.';
alter table audit.login_secret owner to enquiries_owner;
revoke all on table audit.login_secret from public;
grant select on table audit.login_secret to enquiries_audit_writer;
select create_reference_table('audit.login_secret');
-- 244 random bits from two v4 UUIDs (pg_strong_random), hashed to the key's 32 bytes.
insert into audit.login_secret
select sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8'));

create function audit.verified_login() returns name
    language plpgsql volatile security definer
    set search_path = pg_catalog, pg_temp
    as $fn$
declare
    internal constant name[] := array['enquiries_owner', 'enquiries_audit_writer', 'enquiries_caseworker',
                                      'enquiries_supervisor', 'enquiries_auditor', 'enquiries_retention_officer',
                                      'enquiries_provisioner', 'enquiries_history_loader'];
    gpid constant bigint := citus_backend_gpid();
    here constant integer := (select groupid from pg_dist_local_group);
    xid constant text := pg_current_xact_id_if_assigned()::text;
    proof constant text[] := string_to_array(nullif(current_setting('enquiries.login_proof', true), ''), ':');
    key constant bytea := (select k.secret from audit.login_secret k);
    claim text;
    origin record;
    asked record;
    why text;
    login name;
begin
    if session_user::name <> all (internal) then
        return session_user;
    end if;
    if key is null then
        raise exception 'audit.login_secret holds no key: the shards cannot prove a login' using errcode = 'EL404';
    end if;
    if xid is not null and cardinality(proof) = 5
       and proof[1:3] = array[here::text, gpid::text, xid]
       and proof[5] = encode(sha256(key || sha256(key || convert_to(array_to_string(proof[1:4], ':'), 'UTF8'))), 'hex') then
        return proof[4]::name;
    end if;

    select n.nodename, n.nodeport, n.groupid = here as is_here into origin
    from pg_dist_node n where n.nodeid = citus_nodeid_for_gpid(gpid);
    if origin.is_here then
        select a.usename into login from pg_stat_activity a
        where a.pid = citus_pid_for_gpid(gpid) and a.datname = current_database();
    elsif found then
        select * into asked from master_run_on_worker(
            array[origin.nodename], array[origin.nodeport],
            array[format('select usename from pg_stat_activity where pid = %s and datname = %L',
                         citus_pid_for_gpid(gpid), current_database())], false);
        login := case when asked.success then nullif(asked.result, '') end;
        why := case when not asked.success then asked.result end;
    else
        why := 'its node is not in pg_dist_node';
    end if;
    if login is null then
        raise exception 'cannot verify the login of this change: the backend it began in (global pid %) did not answer%', gpid,
            coalesce(': ' || why, '') using errcode = 'EL404';
    end if;
    if xid is not null then
        claim := format('%s:%s:%s:%s', here, gpid, xid, login);
        -- SET LOCAL, not set_config(), which no lab role may call (sql/036)
        execute format('set local enquiries.login_proof = %L',
                       claim || ':' || encode(sha256(key || sha256(key || convert_to(claim, 'UTF8'))), 'hex'));
    end if;
    return login;
end
$fn$;
comment on function audit.verified_login() is
    'The login of the current change: session_user, or on a Citus shard the session user of the backend the statement began in.';
-- Owned like the captures (check 0026's allow-list): the audit writer may only insert into the
-- trail, and read the key.
alter function audit.verified_login() owner to enquiries_audit_writer;

create or replace function audit.login_role() returns name
    language sql volatile
    as $$
    select audit.verified_login()
$$;
alter function audit.login_role() owner to enquiries_owner;
comment on function audit.login_role() is
    'The login of the change: session_user, or on a Citus shard the login verified by audit.verified_login().';

-- 036's row capture, recording that login instead of session_user (on a shard, the acting role).
create or replace function audit.capture_row() returns trigger
    language plpgsql
    security definer
    set search_path = pg_catalog, pg_temp
    as $$
declare
    key_column constant text := tg_argv[0];
    acting_role constant name := case current_setting('role') when 'none' then session_user else current_setting('role') end;
    nj constant jsonb := to_jsonb(new);
    oj constant jsonb := case when tg_op = 'UPDATE' then to_jsonb(old) end;
    actor constant uuid := audit.verified_actor(acting_role);
begin
    if oj is not null and (oj ->> key_column) is distinct from (nj ->> key_column) then
        raise exception 'changing the key of %.% rows is not allowed', tg_table_schema, tg_table_name
            using errcode = 'EL205';
    end if;
    if (nj ->> 'updated_at')::timestamptz > clock_timestamp() then
        raise exception 'business time % is later than the wall clock (%)', nj ->> 'updated_at', clock_timestamp()
            using errcode = 'EL402';
    end if;
    if audit.business_time_mode() = 'now' and clock_timestamp() - now() > core.business_time_tolerance() then
        raise exception 'this transaction started at % and is too old to record a change at its start (more than % ago)',
            now(), core.business_time_tolerance() using errcode = 'EL403', hint = 'commit sooner, and retry in a new transaction';
    end if;
    if (nj ->> 'updated_by')::uuid is distinct from actor or (nj ->> 'tenant_id')::uuid is distinct from tenant.current_tenant_id() then
        raise exception 'a row of %.% was written by another acting user or department than the statement ends with',
            tg_table_schema, tg_table_name using errcode = 'EL003';
    end if;
    insert into audit.entries (tenant_id, occurred_at, backdated, actor_id, db_role, login_role, transaction_id,
                               table_name, record_id, action, changed_columns, row_data, old_values)
    select (nj ->> 'tenant_id')::uuid, (nj ->> 'updated_at')::timestamptz, audit.business_time_mode() <> 'now',
           actor, acting_role, audit.login_role(), pg_current_xact_id(),   -- 092: the verified login
           -- a fixed name: on Citus tg_table_name is the shard's (enquiries_102008)
           tg_table_schema || '.' || regexp_replace(tg_table_name, '_[0-9]+$', ''),
           (nj ->> key_column)::uuid, c.action, c.changed_columns, c.row_data, c.old_values
    from audit.row_change(nj, oj) c;
    return null;
end
$$;
alter function audit.capture_row() owner to enquiries_audit_writer;
