-- 010 retention: seven-year retention, legal holds, disposal by anonymisation.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 014_retention.sql =====
-- 014 retention: seven years from closure, then anonymisation in place, never deletion.
--
-- Guarantees:
--   * the rule is data (core.retention_rules): enquiry records are kept for seven years
--     after the enquiry entered a terminal status (closed_at), or, for a soft-deleted enquiry
--     that never closed, after its deletion;
--   * disposal is an UPDATE that sets disposed_at, made only by the retention officer
--     (EL303), only once the period has passed (EL300), never while a legal hold is
--     active (EL301); the triggers overwrite the personal data and cascade, so a disposal is
--     always complete however it is made: enquiry subject/body, its notes' bodies, and the
--     citizen's contact details (but the postcode district) once none of their enquiries is
--     still live; a disposal changes nothing else, and nothing can be added afterwards;
--   * a disposed row is frozen (EL302); the retention officer can do nothing but dispose;
--   * disposal is audited like any change (action 'dispose');
--   * app.disposal_candidates (015) lists what may be disposed of now.
-- Note: the audit trail keeps the values as they were before disposal; audit partitions
-- past their own retention are dropped whole by a superuser (docs/security-model.md).
--
-- ===== from 024_disposal_cascade_set_based.sql =====
-- 024 disposal cascade, set-based: one statement cascades every disposal it made.
--
-- The row trigger of 014 ran two UPDATEs per disposed enquiry, and each of them fired the
-- audit capture of notes and contacts as a statement of its own: ~1.2 ms per disposal,
-- measured in generation, where the retention officer disposes of hundreds at once.
--
-- Guarantees (unchanged from 014, now per statement):
--   * every note of an enquiry the statement disposed of is disposed of with it, at the
--     enquiry's disposal time and business time;
--   * a contact is disposed of once none of their enquiries is live, stamped with the latest
--     disposal and business time of their enquiries;
--   * the cascade writes the same rows and the same audit entries as the row form
--     (tenant.cascade_disposal, 014), which the Citus profile keeps (sql/citus/050).

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- tenant.cascade_disposal() (function)
CREATE FUNCTION tenant.cascade_disposal() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    update tenant.notes n set disposed_at = new.disposed_at, updated_at = new.updated_at
    where n.tenant_id = new.tenant_id and n.enquiry_id = new.enquiry_id and n.disposed_at is null;
    -- The contact goes with the last of their enquiries, stamped with the latest disposal
    -- (whichever row of a multi-row disposal fires first).
    update tenant.contacts c set disposed_at = last.at, updated_at = last.updated_at
    from (select max(e.disposed_at) as at, max(e.updated_at) as updated_at
          from tenant.enquiries e where e.tenant_id = new.tenant_id and e.contact_id = new.contact_id) as last
    where c.tenant_id = new.tenant_id and c.contact_id = new.contact_id and c.disposed_at is null
      and not exists (select from tenant.enquiries e
                      where e.tenant_id = c.tenant_id and e.contact_id = c.contact_id and e.disposed_at is null);
    return null;
end
$$;


ALTER FUNCTION tenant.cascade_disposal() OWNER TO enquiries_owner;

-- tenant.cascade_disposals() (function)
CREATE FUNCTION tenant.cascade_disposals() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    -- Most updates dispose of nothing: one look at the transition tables and out.
    if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
                   where o.disposed_at is null and n.disposed_at is not null) then
        return null;
    end if;
    update tenant.notes n set disposed_at = d.disposed_at, updated_at = d.updated_at
    from new_rows d join old_rows o on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
    where o.disposed_at is null and d.disposed_at is not null
      and n.tenant_id = d.tenant_id and n.enquiry_id = d.enquiry_id and n.disposed_at is null;
    update tenant.contacts c set disposed_at = last.at, updated_at = last.updated_at
    from (select e.tenant_id, e.contact_id, max(e.disposed_at) as at, max(e.updated_at) as updated_at
          from tenant.enquiries e
          where (e.tenant_id, e.contact_id) in (select d.tenant_id, d.contact_id
                                                from new_rows d join old_rows o
                                                  on o.tenant_id = d.tenant_id and o.enquiry_id = d.enquiry_id
                                                where o.disposed_at is null and d.disposed_at is not null)
          group by e.tenant_id, e.contact_id
          having bool_and(e.disposed_at is not null)) as last
    where c.tenant_id = last.tenant_id and c.contact_id = last.contact_id and c.disposed_at is null;
    return null;
end
$$;


ALTER FUNCTION tenant.cascade_disposals() OWNER TO enquiries_owner;

-- tenant.dispose_enquiry(uuid) (function)
CREATE FUNCTION tenant.dispose_enquiry(enquiry uuid) RETURNS void
    LANGUAGE plpgsql
    AS $$
begin
    update tenant.enquiries e set disposed_at = now(), version = e.version + 1
    where e.tenant_id = tenant.current_tenant_id() and e.enquiry_id = enquiry and e.disposed_at is null;
    if not found then
        raise exception 'enquiry % not found in this department, or already disposed of', enquiry using errcode = 'EL304';
    end if;
end
$$;


ALTER FUNCTION tenant.dispose_enquiry(enquiry uuid) OWNER TO enquiries_owner;

-- tenant.enforce_retention() (function)
CREATE FUNCTION tenant.enforce_retention() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
declare
    acting_role constant text := core.current_staff_role();
    at constant timestamptz := new.updated_at;
    period constant interval := (select retention_period from core.retention_rules where rule = 'enquiry_records');
    placeholder constant text := '[disposed]';
    stamps constant text[] := array['disposed_at', 'disposed_by', 'updated_at', 'updated_by', 'version'];
begin
    if old.disposed_at is not null then
        raise exception '%.% row was disposed of and cannot change', tg_table_schema, tg_table_name using errcode = 'EL302';
    end if;
    if new.disposed_at is null then
        if acting_role = 'retention_officer' then
            raise exception 'a retention officer may only dispose of records' using errcode = 'EL303';
        end if;
        new.disposed_by := null;
        return new;
    end if;

    if acting_role is distinct from 'retention_officer' then
        raise exception 'only a retention officer may dispose of records' using errcode = 'EL303';
    end if;
    -- A disposal changes nothing but the disposal stamps and the version; the triggers
    -- overwrite the personal data below.
    if to_jsonb(new) - stamps is distinct from to_jsonb(old) - stamps then
        raise exception 'a disposal may set disposed_at (and the version) only' using errcode = 'EL303';
    end if;
    new.disposed_at := at;
    new.disposed_by := new.updated_by;

    if tg_table_name = 'enquiries' then
        -- The clock starts at closure, or for a soft-deleted enquiry that never closed (a
        -- duplicate, say) at its deletion: its personal data must not be kept for ever either.
        if coalesce(old.closed_at, old.deleted_at) is null or coalesce(old.closed_at, old.deleted_at) + period > at then
            raise exception 'enquiry % may not be disposed of before % (closed %, retention %)', old.reference,
                coalesce((coalesce(old.closed_at, old.deleted_at) + period)::text, 'it is closed'),
                coalesce(old.closed_at::text, 'never'), period
                using errcode = 'EL300';
        end if;
        if exists (select from tenant.legal_holds h
                   where h.tenant_id = old.tenant_id and h.enquiry_id = old.enquiry_id
                     and h.released_at is null and h.deleted_at is null) then
            raise exception 'enquiry % is under legal hold', old.reference using errcode = 'EL301';
        end if;
        new := jsonb_populate_record(new, jsonb_build_object('subject', placeholder, 'body', placeholder));
    elsif tg_table_name = 'notes' then
        if not exists (select from tenant.enquiries e
                       where e.tenant_id = old.tenant_id and e.enquiry_id = (to_jsonb(old) ->> 'enquiry_id')::uuid
                         and e.disposed_at is not null) then
            raise exception 'a note is disposed of with its enquiry' using errcode = 'EL300';
        end if;
        new := jsonb_populate_record(new, jsonb_build_object('body', placeholder));
    elsif tg_table_name = 'contacts' then
        if exists (select from tenant.enquiries e
                   where e.tenant_id = old.tenant_id and e.contact_id = (to_jsonb(old) ->> 'contact_id')::uuid
                     and e.disposed_at is null) then
            raise exception 'a contact is disposed of once all their enquiries are' using errcode = 'EL300';
        end if;
        -- Keep the postcode district (the outward code, e.g. SW1A) for statistics; everything
        -- else identifying goes.
        new := jsonb_populate_record(new, jsonb_build_object(
            'full_name', placeholder, 'email', null, 'phone', null, 'address_line1', null, 'address_line2', null,
            'town', null, 'postcode', tenant.postcode_district(to_jsonb(old) ->> 'postcode')));
    end if;
    return new;
end
$$;


ALTER FUNCTION tenant.enforce_retention() OWNER TO enquiries_owner;

-- tenant.postcode_district(text) (function)
CREATE FUNCTION tenant.postcode_district(postcode text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select nullif(upper(left(c, greatest(length(c) - 3, 0))), '')
    from (select regexp_replace(postcode, '\s', '', 'g') as c) s
$$;


ALTER FUNCTION tenant.postcode_district(postcode text) OWNER TO enquiries_owner;

-- tenant.refuse_notes_on_disposed() (function)
CREATE FUNCTION tenant.refuse_notes_on_disposed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    if exists (select from tenant.enquiries e
               where e.tenant_id = new.tenant_id and e.enquiry_id = new.enquiry_id and e.disposed_at is not null) then
        raise exception 'enquiry was disposed of; nothing can be added to it' using errcode = 'EL302';
    end if;
    return new;
end
$$;


ALTER FUNCTION tenant.refuse_notes_on_disposed() OWNER TO enquiries_owner;

-- core.retention_rules (table)
CREATE TABLE core.retention_rules (
    rule text NOT NULL,
    retention_period interval NOT NULL,
    description text NOT NULL,
    CONSTRAINT retention_rules_retention_period_check CHECK ((retention_period >= '1 year'::interval))
);


ALTER TABLE core.retention_rules OWNER TO enquiries_owner;

-- core.retention_rules retention_rules_pkey (constraint)
ALTER TABLE ONLY core.retention_rules
    ADD CONSTRAINT retention_rules_pkey PRIMARY KEY (rule);

-- tenant.FUNCTION cascade_disposal() (acl)
REVOKE ALL ON FUNCTION tenant.cascade_disposal() FROM PUBLIC;

-- tenant.FUNCTION cascade_disposals() (acl)
REVOKE ALL ON FUNCTION tenant.cascade_disposals() FROM PUBLIC;

-- tenant.FUNCTION dispose_enquiry(enquiry uuid) (acl)
REVOKE ALL ON FUNCTION tenant.dispose_enquiry(enquiry uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION tenant.dispose_enquiry(enquiry uuid) TO enquiries_retention_officer;

-- tenant.FUNCTION enforce_retention() (acl)
REVOKE ALL ON FUNCTION tenant.enforce_retention() FROM PUBLIC;

-- tenant.FUNCTION refuse_notes_on_disposed() (acl)
REVOKE ALL ON FUNCTION tenant.refuse_notes_on_disposed() FROM PUBLIC;

-- core.TABLE retention_rules (acl)
GRANT SELECT ON TABLE core.retention_rules TO PUBLIC;

-- core.retention_rules (rows)
INSERT INTO core.retention_rules (rule, retention_period, description) VALUES ('enquiry_records', '7 years', 'An enquiry, its correspondence and the citizen''s personal data are kept for seven years after the enquiry was closed or withdrawn, then anonymised in place by a retention officer, unless a legal hold is active.');

-- tenant.contacts c_enforce_retention (trigger)
CREATE TRIGGER c_enforce_retention BEFORE UPDATE ON tenant.contacts FOR EACH ROW WHEN (((old.disposed_at IS NOT NULL) OR (new.disposed_at IS NOT NULL) OR (CURRENT_USER = 'enquiries_retention_officer'::name))) EXECUTE FUNCTION tenant.enforce_retention();

-- tenant.enquiries c_enforce_retention (trigger)
CREATE TRIGGER c_enforce_retention BEFORE UPDATE ON tenant.enquiries FOR EACH ROW WHEN (((old.disposed_at IS NOT NULL) OR (new.disposed_at IS NOT NULL) OR (CURRENT_USER = 'enquiries_retention_officer'::name))) EXECUTE FUNCTION tenant.enforce_retention();

-- tenant.notes c_enforce_retention (trigger)
CREATE TRIGGER c_enforce_retention BEFORE UPDATE ON tenant.notes FOR EACH ROW WHEN (((old.disposed_at IS NOT NULL) OR (new.disposed_at IS NOT NULL) OR (CURRENT_USER = 'enquiries_retention_officer'::name))) EXECUTE FUNCTION tenant.enforce_retention();

-- tenant.notes c_refuse_on_disposed (trigger)
CREATE TRIGGER c_refuse_on_disposed BEFORE INSERT ON tenant.notes FOR EACH ROW EXECUTE FUNCTION tenant.refuse_notes_on_disposed();

-- tenant.enquiries d_cascade_disposals (trigger)
CREATE TRIGGER d_cascade_disposals AFTER UPDATE ON tenant.enquiries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant.cascade_disposals();

