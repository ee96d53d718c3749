-- 007 DDL guard: the owner cannot switch the safeguards off.
--
-- Table owners may normally disable triggers, drop policies or turn RLS off on their
-- own tables. Object ownership is held by enquiries_owner (NOLOGIN), but any login that
-- is made a member of it could do so; these event triggers refuse it.
--
-- Guarantees, for every session whose login is not a superuser:
--   * no DDL at all on objects in the audit schema (EL202);
--   * no trigger on a tenant or audit table may be left disabled (EL202);
--   * no tenant table that has policies may be left without RLS enabled and forced (EL202);
--   * nobody may be granted UPDATE, DELETE or TRUNCATE on audit.entries, nor DELETE,
--     TRUNCATE, REFERENCES or TRIGGER on a tenant table (EL202);
--   * nothing in the audit schema, and no policy or trigger on a tenant table, can be
--     dropped (EL202).
-- Superusers are outside the database's protection by definition; what they can still
-- do to the audit trail is made detectable by tamper evidence (see docs/security-model.md).
-- Creating event triggers needs a superuser: migrations run as one.

create function audit.guard_ddl() returns event_trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $$
declare
    cmd record;
    offender text;
begin
    if (select rolsuper from pg_roles where rolname = session_user) then
        return;
    end if;
    for cmd in select * from pg_event_trigger_ddl_commands() loop
        if cmd.schema_name = 'audit' then
            raise exception 'DDL on the audit trail is refused (%: %)', cmd.command_tag, cmd.object_identity
                using errcode = 'EL202';
        end if;
    end loop;
    select format('trigger %s on %s is disabled', t.tgname, t.tgrelid::regclass) into offender
    from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('tenant', 'audit') and not t.tgisinternal and t.tgenabled = 'D'
    limit 1;
    if offender is null then
        select format('row level security is not enabled and forced on %s', c.oid::regclass) into offender
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind in ('r', 'p')
          and not (c.relrowsecurity and c.relforcerowsecurity)
          and exists (select from pg_policy p where p.polrelid = c.oid)
        limit 1;
    end if;
    if offender is null then
        select format('%s holds %s on %s', coalesce(r.rolname, 'PUBLIC'), a.privilege_type, c.oid::regclass) into offender
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join lateral aclexplode(c.relacl) a
        left join pg_roles r on r.oid = a.grantee
        where n.nspname in ('tenant', 'audit') and c.relkind in ('r', 'p')
          and a.privilege_type in ('UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')
          and (n.nspname = 'audit' and c.relname = 'entries' and a.privilege_type <> 'REFERENCES' and a.privilege_type <> 'TRIGGER'
               or a.privilege_type in ('DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER') and a.grantee <> c.relowner)
        limit 1;
    end if;
    if offender is not null then
        raise exception 'refused: % (the audit and isolation safeguards cannot be switched off)', offender
            using errcode = 'EL202';
    end if;
end
$$;

create function audit.guard_drop() returns event_trigger
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $$
declare
    obj record;
begin
    if (select rolsuper from pg_roles where rolname = session_user) then
        return;
    end if;
    for obj in select * from pg_event_trigger_dropped_objects() loop
        if obj.schema_name = 'audit'
           or (obj.schema_name = 'tenant' and obj.object_type in ('policy', 'trigger', 'table')) then
            raise exception 'dropping % % is refused', obj.object_type, obj.object_identity
                using errcode = 'EL202';
        end if;
    end loop;
end
$$;

create event trigger enquiries_guard_ddl on ddl_command_end execute function audit.guard_ddl();
create event trigger enquiries_guard_drop on sql_drop execute function audit.guard_drop();
