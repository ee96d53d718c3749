-- 004 domains: domains: the enquiry's text and the channels and priorities, checked when a value is written.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 033_enquiry_text_checked_when_written.sql =====
-- 033 enquiry text checked when written: the reference's format and the subject's and body's
-- lengths become the rules of their types (domains), so they are checked when a value is
-- written, not on every workflow step.
--
-- Why: PostgreSQL evaluates every CHECK constraint of a table on every UPDATE of a row, whether
-- or not the UPDATE touched the constrained columns. A workflow step changes the status and a
-- few stamps, yet re-ran the reference's regular expression and counted the characters of the
-- ~1 KB body and the subject, about five times per enquiry. A domain's check runs when a value
-- is converted to the domain: on INSERT, and on an UPDATE that sets that column. Measured side
-- by side on 100,000 enquiries (benchmarks/generator_io.py, without these three checks): server
-- CPU over client CPU 3.71 and 3.65 -> 3.49 and 3.46 (docs/benchmarks.md, fifth pass).
--
-- How, without rewriting the table: the columns change to domains that have no constraint yet
-- (text to a constraint-free domain over text is a relabel: no rewrite, indexes kept), then the
-- domains get their checks, which validates the rows already there (a scan, not a rewrite),
-- and only then do the table's CHECK constraints go. The app views name these columns, so they
-- are dropped first and recreated by app.create_views(), which does what 015 did.
--
-- Guarantees: unchanged. Every enquiry's reference matches ^[A-Z0-9][A-Z0-9-]{2,31}$, its subject
-- has 1-300 characters and its body at most 20,000, on insert and on any change of those
-- columns (SQLSTATE 23514 naming the domain: tests/test_bad_input.py); the audit capture of
-- tenant.enquiries is regenerated for the new column types.
--
-- ===== from 034_channels_and_priorities_as_types.sql =====
-- 034 channels and priorities as types: enquiries, contacts and notes name a channel or a
-- priority through a domain whose check is compiled from core.channels and core.priorities,
-- instead of a foreign key into them; those rows can no longer be deleted or renamed.
--
-- Why: a foreign key check runs a query per written row and takes a FOR KEY SHARE lock on the
-- referenced row. Every new enquiry locked one of five channel rows and one of four priority
-- rows, every new contact and outbound note a channel row: the same handful of rows, locked by
-- every concurrent writer, which turns their locks into shared multixacts (each lock a write
-- to the row and to the WAL). A domain's check is an expression on the value, evaluated when the
-- value is written; nothing is locked. Measured side by side (docs/benchmarks.md, fifth pass).
--
-- The tables stay the one source of truth, as the workflow's do (031): core.compile_reference_
-- types() writes each domain's check from its table (channel in ('email', ...)), and a statement
-- trigger on each table runs it after every change, so the next statement meets the new set
-- (ALTER DOMAIN is a catalog change: every session sees it). Adding a domain constraint
-- validates the stored values, which a set that only grows never fails.
--
-- The one thing the keys did besides: they stopped a channel or priority in use from being
-- deleted or renamed. As for statuses (029), none is deleted or renamed at all now, in use or
-- not: they are named in rows and in their audit history. EL207, for everyone, the owner and
-- superusers included.
--
-- Guarantees: every enquiry's channel and priority, every contact's preferred channel and
-- every note's channel is a row of core.channels / core.priorities (23514 naming the domain
-- otherwise: tests/test_bad_input.py); a row added to those tables is accepted from the next
-- statement, and none is deleted or renamed (tests/test_workflow.py).

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- core.channel (domain)
CREATE DOMAIN core.channel AS text
	CONSTRAINT channel_known CHECK ((VALUE = ANY (ARRAY['email'::text, 'in_person'::text, 'letter'::text, 'phone'::text, 'web_form'::text])));


ALTER DOMAIN core.channel OWNER TO enquiries_owner;

-- core.DOMAIN channel (comment)
COMMENT ON DOMAIN core.channel IS 'A row of core.channels; the check is compiled from that table (034).';

-- core.enquiry_body (domain)
CREATE DOMAIN core.enquiry_body AS text
	CONSTRAINT enquiry_body_length CHECK ((length(VALUE) <= 20000));


ALTER DOMAIN core.enquiry_body OWNER TO enquiries_owner;

-- core.DOMAIN enquiry_body (comment)
COMMENT ON DOMAIN core.enquiry_body IS 'An enquiry''s text as received: at most 20,000 characters.';

-- core.enquiry_reference (domain)
CREATE DOMAIN core.enquiry_reference AS text
	CONSTRAINT enquiry_reference_format CHECK ((VALUE ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'::text));


ALTER DOMAIN core.enquiry_reference OWNER TO enquiries_owner;

-- core.DOMAIN enquiry_reference (comment)
COMMENT ON DOMAIN core.enquiry_reference IS 'A department''s reference for an enquiry, e.g. DWP-2024-0000123.';

-- core.enquiry_subject (domain)
CREATE DOMAIN core.enquiry_subject AS text
	CONSTRAINT enquiry_subject_length CHECK (((length(VALUE) >= 1) AND (length(VALUE) <= 300)));


ALTER DOMAIN core.enquiry_subject OWNER TO enquiries_owner;

-- core.DOMAIN enquiry_subject (comment)
COMMENT ON DOMAIN core.enquiry_subject IS 'An enquiry''s subject line: 1-300 characters.';

-- core.priority (domain)
CREATE DOMAIN core.priority AS text
	CONSTRAINT priority_known CHECK ((VALUE = ANY (ARRAY['high'::text, 'low'::text, 'normal'::text, 'urgent'::text])));


ALTER DOMAIN core.priority OWNER TO enquiries_owner;

-- core.DOMAIN priority (comment)
COMMENT ON DOMAIN core.priority IS 'A row of core.priorities; the check is compiled from that table (034).';

-- core.compile_reference_types() (function)
CREATE FUNCTION core.compile_reference_types() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
declare
    d record;
begin
    for d in
        select 'core.channel' as domain, 'channel_known' as constraint_name,
               (select string_agg(quote_literal(channel), ', ' order by channel) from core.channels) as known
        union all
        select 'core.priority', 'priority_known',
               (select string_agg(quote_literal(priority), ', ' order by priority) from core.priorities)
    loop
        execute format('alter domain %s drop constraint if exists %I', d.domain, d.constraint_name);
        execute format('alter domain %s add constraint %I check (%s)', d.domain, d.constraint_name,
                       case when d.known is null then 'false' else format('value in (%s)', d.known) end);
    end loop;
end
$$;


ALTER FUNCTION core.compile_reference_types() OWNER TO enquiries_owner;

-- core.FUNCTION compile_reference_types() (comment)
COMMENT ON FUNCTION core.compile_reference_types() IS 'Writes the checks of core.channel and core.priority from core.channels and core.priorities; run by triggers on those tables.';

-- core.recompile_reference_types() (function)
CREATE FUNCTION core.recompile_reference_types() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    perform core.compile_reference_types();
    return null;
end
$$;


ALTER FUNCTION core.recompile_reference_types() OWNER TO enquiries_owner;

-- core.refuse_reference_removal() (function)
CREATE FUNCTION core.refuse_reference_removal() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    raise exception '% on %.% is not allowed: its values are named in tenant rows and their audit history',
        tg_op, tg_table_schema, tg_table_name
        using errcode = 'EL207';
end
$$;


ALTER FUNCTION core.refuse_reference_removal() OWNER TO enquiries_owner;

-- core.channels channels_compiled (trigger)
CREATE TRIGGER channels_compiled AFTER INSERT ON core.channels FOR EACH STATEMENT EXECUTE FUNCTION core.recompile_reference_types();

-- core.channels channels_never_removed (trigger)
CREATE TRIGGER channels_never_removed BEFORE DELETE OR UPDATE OF channel ON core.channels FOR EACH ROW EXECUTE FUNCTION core.refuse_reference_removal();

-- core.channels channels_never_truncated (trigger)
CREATE TRIGGER channels_never_truncated BEFORE TRUNCATE ON core.channels FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_reference_removal();

-- core.priorities priorities_compiled (trigger)
CREATE TRIGGER priorities_compiled AFTER INSERT ON core.priorities FOR EACH STATEMENT EXECUTE FUNCTION core.recompile_reference_types();

-- core.priorities priorities_never_removed (trigger)
CREATE TRIGGER priorities_never_removed BEFORE DELETE OR UPDATE OF priority ON core.priorities FOR EACH ROW EXECUTE FUNCTION core.refuse_reference_removal();

-- core.priorities priorities_never_truncated (trigger)
CREATE TRIGGER priorities_never_truncated BEFORE TRUNCATE ON core.priorities FOR EACH STATEMENT EXECUTE FUNCTION core.refuse_reference_removal();

