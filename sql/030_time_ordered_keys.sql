-- 030 time-ordered keys: every generated key of a tenant table is a UUID version 7, whose
-- first 48 bits are the time it was made (RFC 9562), instead of a random version 4.
--
-- Why: a random key sends each new index entry to a random leaf of the whole index, so every
-- index keyed by one (the primary keys, and enquiries_contact, notes_enquiry and
-- assignments_enquiry, which lead with a random enquiry or contact id) needs all of its pages
-- in memory; once the indexes outgrow shared_buffers each insert or workflow update reads a
-- page back and writes another out, and after every checkpoint the first change to each page
-- logs a full-page image. Measured on a million-enquiry generation: 3.4 of its 7.0 buffer
-- misses per enquiry were such leaves (docs/benchmarks.md). Time-ordered keys keep the recent
-- records, which are the ones being worked on, together at the right of each index.
-- (PostgreSQL 18's uuidv7() makes the same layout; this function also runs on 15-17.)
--
-- Guarantees:
--   * core.time_ordered_uuid(at, random_bits) is random_bits with its first 48 bits replaced
--     by `at` in Unix milliseconds and the version (7) and variant bits set: deterministic, so
--     a replayed history gives the same ids;
--   * every uuid key column of a tenant table defaults to a time-ordered key of the wall clock
--     with 74 random bits;
--   * an assignment's id is the time-ordered key of its business time whose other bits come
--     from the enquiry and version, as before (so replaying the same history still gives the
--     same rows), in both the statement form (013) and the row form (019, the Citus profile).
-- (tests/test_keys.py)

set local role enquiries_owner;

create function core.time_ordered_uuid(at timestamptz, random_bits uuid) returns uuid
    language sql immutable strict parallel safe
return encode(
    set_byte(set_byte(
        overlay(uuid_send(random_bits)
                placing substring(int8send(floor(extract(epoch from at - timestamptz '1970-01-01 00:00:00+00') * 1000)::bigint)
                                  from 3)
                from 1 for 6),
        6, (get_byte(uuid_send(random_bits), 6) & 15) | 112),    -- version 7
        8, (get_byte(uuid_send(random_bits), 8) & 63) | 128),    -- variant 10
    'hex')::uuid;

comment on function core.time_ordered_uuid(timestamptz, uuid) is
    'UUID version 7 (RFC 9562): the time in Unix milliseconds, then the other bits of random_bits.';
grant execute on function core.time_ordered_uuid(timestamptz, uuid) to public;

do $defaults$
declare
    col record;
begin
    for col in
        select c.oid::regclass as tbl, a.attname
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid
        join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
        where n.nspname = 'tenant' and c.relkind = 'r' and a.atttypid = 'uuid'::regtype
          and pg_get_expr(d.adbin, d.adrelid) = 'gen_random_uuid()'
        order by 1, 2
    loop
        execute format('alter table %s alter column %I set default core.time_ordered_uuid(clock_timestamp(), gen_random_uuid())',
                       col.tbl, col.attname);
    end loop;
end
$defaults$;

create or replace function tenant.record_assignments() returns trigger
    language plpgsql as $$
begin
    -- Most updates change no assignee; those (and roles without INSERT here, such as the
    -- retention officer) never reach the INSERT.
    if not exists (select from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
                   where n.assigned_to is distinct from o.assigned_to) then
        return null;
    end if;
    -- The id derives from the assignment's time, the enquiry and its version (one assignee
    -- change per version), so replaying the same history gives the same rows.
    insert into tenant.assignments (tenant_id, assignment_id, enquiry_id, from_staff_id, to_staff_id, assigned_at,
                                    assigned_by, created_at, updated_at)
    select n.tenant_id, core.time_ordered_uuid(n.updated_at, md5(n.enquiry_id::text || ':' || n.version)::uuid),
           n.enquiry_id, o.assigned_to, n.assigned_to,
           n.updated_at, n.updated_by,
           n.updated_at, n.updated_at   -- per-row business time mode reads these
    from new_rows n join old_rows o on o.tenant_id = n.tenant_id and o.enquiry_id = n.enquiry_id
    where n.assigned_to is distinct from o.assigned_to;
    return null;
end
$$;

create or replace function tenant.record_assignment_row() returns trigger
    language plpgsql as $$
begin
    insert into tenant.assignments (tenant_id, assignment_id, enquiry_id, from_staff_id, to_staff_id, assigned_at,
                                    assigned_by, created_at, updated_at)
    values (new.tenant_id, core.time_ordered_uuid(new.updated_at, md5(new.enquiry_id::text || ':' || new.version)::uuid),
            new.enquiry_id, old.assigned_to, new.assigned_to, new.updated_at, new.updated_by, new.updated_at, new.updated_at);
    return null;
end
$$;
