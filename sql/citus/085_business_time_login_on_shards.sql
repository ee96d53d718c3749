-- citus 085 business time: the login on the shards. Citus opens its worker connections as the
-- current role, so on a shard session_user is the staff role (or the provisioner), never the
-- login that connected to the coordinator, and the history-loader check (EL400,
-- sql/002 audit.business_time_mode) refused every history load there.
--
-- On a shard (session_user is one of the internal roles of citus/060, which pg_hba admits only
-- between the nodes) the login is the one the session layer declares in enquiries.login
-- (enquiries_lab.session.act_as sets it from the connection's user). Elsewhere it is
-- session_user, as before.
--
-- TRUST BOUNDARY, KNOWN GAP (docs/scale-out.md): the declared login is not verified on the
-- cluster: a client of the coordinator that sets enquiries.login itself can claim to be a
-- history loader. Single-node PostgreSQL is unchanged (this file runs only on Citus).
create or replace function audit.login_role() returns name
    language sql stable parallel safe
    as $$
    select case
               when session_user::name = any (array['enquiries_owner', 'enquiries_audit_writer', 'enquiries_caseworker',
                                                    'enquiries_supervisor', 'enquiries_auditor', 'enquiries_retention_officer',
                                                    'enquiries_provisioner', 'enquiries_history_loader']::name[])
               then coalesce(nullif(current_setting('enquiries.login', true), '')::name, session_user)
               else session_user
           end
$$;
alter function audit.login_role() owner to enquiries_owner;
comment on function audit.login_role() is
    'The login of the change: session_user, or on a Citus shard the login the session declared (enquiries.login).';

create or replace function audit.business_time_mode() returns text
    language sql stable parallel safe
    as $$
    select case
               when nullif(current_setting('enquiries.business_time', true), '') is null then 'now'
               when not pg_has_role(audit.login_role(), 'enquiries_history_loader', 'MEMBER') then audit.business_time_refused()
               when current_setting('enquiries.business_time', true) = 'per_row' then 'per_row'
               else 'fixed'
           end
$$;
