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

set local role enquiries_owner;

create function app.create_views() returns integer
    language plpgsql
    set search_path = pg_catalog, pg_temp
    as $views$
declare
    t record;
    p record;
    created integer := 0;
begin
    -- app.<table>: the live rows of every tenant table, RLS applying to the caller (015).
    for t in
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'tenant' and c.relkind = 'r'
          and to_regclass(format('app.%I', c.relname)) is null
        order by c.relname
    loop
        execute format('create view app.%1$I with (security_invoker = true) as '
                       'select * from tenant.%1$I where deleted_at is null', t.relname);
        execute format('comment on view app.%1$I is %2$L', t.relname,
                       format('Live rows of tenant.%s (soft-deleted rows hidden); RLS applies to the caller.', t.relname));
        for p in
            select db_role from core.table_privileges
            where privilege = 'SELECT' and table_name = 'tenant.' || t.relname
        loop
            execute format('grant select on app.%I to %I', t.relname, p.db_role);
        end loop;
        created := created + 1;
    end loop;
    if to_regclass('app.disposal_candidates') is null then
        -- Enquiries whose retention period has passed, with no active legal hold (015).
        create view app.disposal_candidates with (security_invoker = true) as
        select e.tenant_id, e.enquiry_id, e.reference, e.status, e.closed_at, e.deleted_at,
               coalesce(e.closed_at, e.deleted_at) + r.retention_period as disposable_from
        from tenant.enquiries e
        cross join core.retention_rules r
        where r.rule = 'enquiry_records'
          and e.disposed_at is null
          and coalesce(e.closed_at, e.deleted_at) + r.retention_period <= now()
          and not exists (select from tenant.legal_holds h
                          where h.tenant_id = e.tenant_id and h.enquiry_id = e.enquiry_id
                            and h.released_at is null and h.deleted_at is null);
        grant select on app.disposal_candidates to enquiries_retention_officer, enquiries_supervisor, enquiries_auditor;
        created := created + 1;
    end if;
    return created;
end
$views$;

comment on function app.create_views() is
    'Creates the app views (015) that are missing: a migration that changes a tenant column''s type drops the views naming it and calls this.';
revoke all on function app.create_views() from public;

create domain core.enquiry_reference as text;
create domain core.enquiry_subject as text;
create domain core.enquiry_body as text;

drop view app.disposal_candidates;
drop view app.enquiries;

alter table tenant.enquiries
    alter column reference type core.enquiry_reference,
    alter column subject type core.enquiry_subject,
    alter column body type core.enquiry_body;

alter domain core.enquiry_reference add constraint enquiry_reference_format
    check (value ~ '^[A-Z0-9][A-Z0-9-]{2,31}$');
alter domain core.enquiry_subject add constraint enquiry_subject_length
    check (length(value) between 1 and 300);
alter domain core.enquiry_body add constraint enquiry_body_length
    check (length(value) <= 20000);

alter table tenant.enquiries
    drop constraint enquiries_reference_check,
    drop constraint enquiries_subject_check,
    drop constraint enquiries_body_check;

comment on domain core.enquiry_reference is 'A department''s reference for an enquiry, e.g. DWP-2024-0000123.';
comment on domain core.enquiry_subject is 'An enquiry''s subject line: 1-300 characters.';
comment on domain core.enquiry_body is 'An enquiry''s text as received: at most 20,000 characters.';

select app.create_views();

reset role;
select audit.install_capture('tenant.enquiries');
