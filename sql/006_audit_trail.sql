-- 006 audit trail: the table of audit entries, append-only for everyone.
--
-- Guarantees:
--   * one entry per changed row: who (actor, database role, login), when (business time
--     and recorded time), where (department, table, record), what (action, changed
--     columns, the new values and the old values of those columns), in which transaction;
--   * storage: an INSERT stores the full row; an UPDATE stores only the changed columns'
--     new values (row_data) and old values (old_values). The state before and after any
--     entry is exactly recoverable by folding a record's entries in order
--     (audit.record_states, 008), at a fraction of the size of full before/after images;
--   * nobody can UPDATE, DELETE or TRUNCATE an entry: no role holds those privileges, a
--     trigger refuses them even for the owner, every partition carries the TRUNCATE guard,
--     and the DDL guard (007) stops non-superusers from disabling or dropping any of it;
--   * partitioned by month of business time, partitions created ahead by
--     audit.ensure_partitions; a DEFAULT partition catches anything outside them (a
--     compliance check expects it to stay empty).

set local role enquiries_owner;

create table audit.entries (
    entry_id         bigint generated always as identity,
    tenant_id        uuid not null,
    occurred_at      timestamptz not null,          -- business time: when the change took effect
    recorded_at      timestamptz not null default statement_timestamp(),  -- wall clock
    backdated        boolean not null,              -- occurred_at supplied by a history loader
    actor_id         uuid not null,
    db_role          name not null,                 -- the staff role the session acted as
    login_role       name not null,                 -- session_user
    transaction_id   xid8 not null,
    table_name       text not null,                 -- schema-qualified, e.g. tenant.enquiries
    record_id        uuid not null,
    action           text not null check (action in ('insert', 'update', 'soft_delete', 'restore', 'dispose')),
    changed_columns  text[] not null,
    row_data         jsonb not null,                -- insert: the full row; otherwise the new values of changed columns
    old_values       jsonb,                         -- update: the old values of changed columns; insert: null
    primary key (tenant_id, occurred_at, entry_id),
    check ((action = 'insert') = (old_values is null))
) partition by range (occurred_at);

-- A record's history, in order: the lookup behind timelines and as-of reconstruction.
create index entries_record on audit.entries (tenant_id, record_id, occurred_at, entry_id);

comment on table audit.entries is
    'Append-only audit trail, one entry per changed row, partitioned by month of business time.';

-- Immutability, independent of privileges (which the owner could re-grant itself).
create function audit.refuse_change() returns trigger
    language plpgsql as $$
begin
    raise exception 'audit entries are immutable: % on %.% refused', tg_op, tg_table_schema, tg_table_name
        using errcode = 'EL201';
end
$$;

create trigger entries_immutable before update or delete on audit.entries
    for each row execute function audit.refuse_change();
create trigger entries_no_truncate before truncate on audit.entries
    for each statement execute function audit.refuse_change();

-- Monthly partitions from `from_month` through `through_month`, each with the TRUNCATE
-- guard (statement triggers are not inherited by partitions). Returns how many it created.
create function audit.ensure_partitions(from_month date, through_month date) returns integer
    language plpgsql as $$
declare
    month date := date_trunc('month', from_month);
    partition_name text;
    created integer := 0;
begin
    while month <= date_trunc('month', through_month) loop
        partition_name := format('entries_%s', to_char(month, 'YYYY_MM'));
        if to_regclass(format('audit.%I', partition_name)) is null then
            execute format('create table audit.%I partition of audit.entries for values from (%L) to (%L)',
                           partition_name, month, (month + interval '1 month')::date);
            execute format('create trigger entries_no_truncate before truncate on audit.%I '
                           'for each statement execute function audit.refuse_change()', partition_name);
            created := created + 1;
        end if;
        month := month + interval '1 month';
    end loop;
    return created;
end
$$;

comment on function audit.ensure_partitions(date, date) is
    'Creates the monthly audit partitions in a range (idempotent). Run ahead of time, e.g. monthly, and before loading history.';

create table audit.entries_default partition of audit.entries default;
create trigger entries_no_truncate before truncate on audit.entries_default
    for each statement execute function audit.refuse_change();

-- Eight years back (generated history) to a year ahead.
select audit.ensure_partitions((now() - interval '9 years')::date, (now() + interval '12 months')::date);

revoke all on audit.entries from public;
revoke update, delete, truncate, references on audit.entries from enquiries_owner;
