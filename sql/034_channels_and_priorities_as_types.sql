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

set local role enquiries_owner;

create domain core.channel as text;
create domain core.priority as text;
comment on domain core.channel is 'A row of core.channels; the check is compiled from that table (034).';
comment on domain core.priority is 'A row of core.priorities; the check is compiled from that table (034).';

create function core.compile_reference_types() returns void
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $compile$
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
$compile$;

comment on function core.compile_reference_types() is
    'Writes the checks of core.channel and core.priority from core.channels and core.priorities; run by triggers on those tables.';
revoke all on function core.compile_reference_types() from public;

create function core.recompile_reference_types() returns trigger
    language plpgsql as $$
begin
    perform core.compile_reference_types();
    return null;
end
$$;
revoke all on function core.recompile_reference_types() from public;

create function core.refuse_reference_removal() returns trigger
    language plpgsql as $$
begin
    raise exception '% on %.% is not allowed: its values are named in tenant rows and their audit history',
        tg_op, tg_table_schema, tg_table_name
        using errcode = 'EL207';
end
$$;

create trigger channels_never_removed before delete or update of channel on core.channels
    for each row execute function core.refuse_reference_removal();
create trigger channels_never_truncated before truncate on core.channels
    for each statement execute function core.refuse_reference_removal();
create trigger priorities_never_removed before delete or update of priority on core.priorities
    for each row execute function core.refuse_reference_removal();
create trigger priorities_never_truncated before truncate on core.priorities
    for each statement execute function core.refuse_reference_removal();
create trigger channels_compiled after insert on core.channels
    for each statement execute function core.recompile_reference_types();
create trigger priorities_compiled after insert on core.priorities
    for each statement execute function core.recompile_reference_types();

-- The views name these columns (033 explains the order: relabel first, check after).
drop view app.enquiries;
drop view app.contacts;
drop view app.notes;

alter table tenant.enquiries
    alter column channel type core.channel,
    alter column priority type core.priority,
    drop constraint enquiries_channel_fkey,
    drop constraint enquiries_priority_fkey;
alter table tenant.contacts
    alter column preferred_channel type core.channel,
    drop constraint contacts_preferred_channel_fkey;
alter table tenant.notes
    alter column channel type core.channel,
    drop constraint notes_channel_fkey;

select core.compile_reference_types();
select app.create_views();

reset role;
select audit.install_capture(t) from unnest(array['tenant.enquiries', 'tenant.contacts', 'tenant.notes']::regclass[]) t;
