-- 021 compliance support: the questions that need the catalog to know which tables to
-- look at, and the workflow history as auditors read it. The checks in sql/compliance/
-- and the auditor API (enquiries_lab.auditor) query these; nothing here changes data.
--
-- Guarantees:
--   * audit.enquiry_status_history: every status an enquiry entered, when, by whom and
--     until when, from the trail alone;
--   * audit.escalation_transitions: every move into a status that needs approval, paired
--     with the approved escalation it used (the k-th such move uses the k-th valid approval,
--     by a supervisor who did not request it, as the workflow trigger of 013 counts them),
--     from the trail;
--   * audit.sla_breaches(as_of): enquiries answered (or still open) after their due date,
--     the due date moved on by the time the SLA clock stood still (core.statuses.sla_clock_runs);
--   * audit.records_without_live_row(): records that have audit entries but no live row
--     (physically deleted, since DELETE is refused to everyone while the triggers stand);
--   * audit.cross_tenant_references(): every value that points at another department's row:
--     foreign keys between tenant tables, actor stamps (*_by), audit actors and record ids;
--   * audit.soft_deleted_rows_in_views(): soft-deleted rows that an app view shows.
-- The views are security invoker (an auditor sees their department); the last three
-- functions compare departments and are for superusers only (no grants).

set local role enquiries_owner;

create view audit.enquiry_status_history with (security_invoker = true) as
select e.tenant_id, e.record_id as enquiry_id, e.entry_id,
       e.old_values ->> 'status' as from_status, e.row_data ->> 'status' as status,
       e.occurred_at as entered_at,
       lead(e.occurred_at) over w as left_at,
       e.actor_id, e.db_role
from audit.entries e
where e.table_name = 'tenant.enquiries' and (e.action = 'insert' or 'status' = any(e.changed_columns))
window w as (partition by e.tenant_id, e.record_id order by e.occurred_at, e.entry_id);

comment on view audit.enquiry_status_history is
    'Every status each enquiry entered (from the audit trail), with who moved it and when it left that status.';

create view audit.escalation_transitions with (security_invoker = true) as
with moves as (
    select h.*, row_number() over (partition by h.tenant_id, h.enquiry_id order by h.entered_at, h.entry_id) as n
    from audit.enquiry_status_history h
    where exists (select from core.status_transitions t
                  where t.from_status = h.from_status and t.to_status = h.status and t.requires_approval)
),
approvals as (
    select d.tenant_id, x.enquiry_id, d.record_id as escalation_id, x.requested_by, x.requested_at, x.reason,
           d.actor_id as approved_by, d.db_role as approver_db_role, d.occurred_at as approved_at, d.entry_id,
           row_number() over (partition by d.tenant_id, x.enquiry_id order by d.occurred_at, d.entry_id) as n
    from audit.entries d
    join tenant.escalations x on x.tenant_id = d.tenant_id and x.escalation_id = d.record_id
    where d.table_name = 'tenant.escalations' and 'decision' = any(d.changed_columns)
      and d.row_data ->> 'decision' = 'approved'
      -- only a valid approval counts: by a supervisor, not the requester (as 013 enforces)
      and d.db_role = (select r.db_role from core.staff_roles r where r.staff_role = 'supervisor')
      and d.actor_id <> x.requested_by
)
select m.tenant_id, m.enquiry_id, m.entry_id, m.from_status, m.status, m.entered_at as escalated_at,
       m.actor_id as escalated_by, m.db_role as escalated_as,
       a.escalation_id, a.reason, a.requested_by, a.requested_at, a.approved_by, a.approver_db_role, a.approved_at,
       a.entry_id as approval_entry_id
from moves m
left join approvals a on a.tenant_id = m.tenant_id and a.enquiry_id = m.enquiry_id and a.n = m.n;

comment on view audit.escalation_transitions is
    'Each move into a status that needs approval, with the approved escalation it used (NULLs: none was available).';

create function audit.sla_breaches(as_of timestamptz default now())
    returns table (tenant_id uuid, enquiry_id uuid, reference text, enquiry_type text, priority text,
                   received_at timestamptz, due_at timestamptz, paused interval, effective_due_at timestamptz,
                   answered_at timestamptz, overdue interval)
    language sql stable
    as $$
    with periods as (
        select h.tenant_id, h.enquiry_id, s.is_open, s.sla_clock_runs, h.entered_at,
               least(coalesce(h.left_at, as_of), as_of) as left_at,
               -- the first answer: entering a status that is no longer open work
               min(h.entered_at) filter (where not s.is_open) over (partition by h.tenant_id, h.enquiry_id) as answered_at
        from audit.enquiry_status_history h
        join core.statuses s on s.status = h.status
        where h.entered_at <= as_of
    ),
    clock as (
        -- how long the SLA clock stood still (open, waiting on the citizen) before the answer
        select p.tenant_id, p.enquiry_id, p.answered_at,
               coalesce(sum(least(p.left_at, coalesce(p.answered_at, as_of)) - p.entered_at)
                        filter (where p.is_open and not p.sla_clock_runs and p.entered_at < coalesce(p.answered_at, as_of)),
                        interval '0') as paused
        from periods p
        group by p.tenant_id, p.enquiry_id, p.answered_at
    )
    select e.tenant_id, e.enquiry_id, e.reference, e.enquiry_type, e.priority, e.received_at, e.due_at,
           c.paused, e.due_at + c.paused, c.answered_at, coalesce(c.answered_at, as_of) - (e.due_at + c.paused)
    from clock c
    join tenant.enquiries e on e.tenant_id = c.tenant_id and e.enquiry_id = c.enquiry_id
    where coalesce(c.answered_at, as_of) > e.due_at + c.paused
$$;

comment on function audit.sla_breaches(timestamptz) is
    'Enquiries first answered (or still unanswered at as_of) after their due date plus the time the SLA clock was paused.';

create function audit.records_without_live_row()
    returns table (table_name text, tenant_id uuid, record_id uuid, entries bigint, last_entry_id bigint,
                   last_occurred_at timestamptz)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    t record;
begin
    for t in select a.table_name, a.key_column from audit.audited_tables a order by a.table_name loop
        return query execute format($q$
            select %1$L::text, e.tenant_id, e.record_id, count(*), max(e.entry_id), max(e.occurred_at)
            from audit.entries e
            where e.table_name = %1$L
              and not exists (select from %2$s l where l.tenant_id = e.tenant_id and l.%3$I = e.record_id)
            group by e.tenant_id, e.record_id
            $q$, t.table_name, t.table_name, t.key_column);
    end loop;
end
$$;

comment on function audit.records_without_live_row() is
    'Records with audit entries but no live row in their department: physically deleted (or moved), which the triggers refuse.';

create function audit.cross_tenant_references()
    returns table (table_name text, tenant_id uuid, record_id uuid, column_name text, referenced_table text,
                   referenced_id text, referenced_tenant_id uuid)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    fk record;
    stamp record;
    t record;
begin
    -- References between tenant tables: every foreign key, and every uuid column named like
    -- another table's record key (enquiry_id, contact_id, ...), so that a reference whose
    -- constraint was dropped is still looked at. The referenced row must exist in the same
    -- department (composite keys guarantee it while their constraints stand; a superuser in
    -- replica mode, a NOT VALID constraint or a dropped one can get past them).
    for fk in
        select distinct r.tbl, r.key_column, r.ref, r.col, r.refcol from (
            select format('%I.%I', n.nspname, c.relname) as tbl, a.key_column,
                   format('%I.%I', rn.nspname, rc.relname) as ref, ca.attname::text as col, ra.attname::text as refcol
            from pg_constraint k
            join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
            join pg_class rc on rc.oid = k.confrelid join pg_namespace rn on rn.oid = rc.relnamespace
            join audit.audited_tables a on a.table_name = format('%I.%I', n.nspname, c.relname)
            cross join lateral unnest(k.conkey, k.confkey) as pair(attnum, refattnum)
            join pg_attribute ca on ca.attrelid = k.conrelid and ca.attnum = pair.attnum
            join pg_attribute ra on ra.attrelid = k.confrelid and ra.attnum = pair.refattnum
            where k.contype = 'f' and n.nspname = 'tenant' and rn.nspname = 'tenant' and ca.attname <> 'tenant_id'
            union
            select a.table_name, a.key_column, target.table_name, att.attname::text, target.key_column
            from audit.audited_tables a
            join pg_attribute att on att.attrelid = a.table_name::regclass and att.attnum > 0 and not att.attisdropped
            join audit.audited_tables target on target.key_column = att.attname and target.table_name <> a.table_name
            where att.atttypid = 'uuid'::regtype and att.attname <> 'tenant_id'
        ) r
        order by 1, 4
    loop
        return query execute format($q$
            select %1$L::text, t.tenant_id, t.%2$I, %3$L::text, %4$L::text, t.%3$I::text,
                   (select r.tenant_id from %4$s r where r.%5$I = t.%3$I limit 1)
            from %1$s t
            where t.%3$I is not null
              and not exists (select from %4$s r where r.tenant_id = t.tenant_id and r.%5$I = t.%3$I)
            $q$, fk.tbl, fk.key_column, fk.col, fk.ref, fk.refcol);
    end loop;
    -- Who-did-it stamps (created_by, updated_by, ...) are not foreign keys (the provisioner is
    -- no staff member), but a staff member of another department is never a valid value.
    for stamp in
        select a.table_name, a.key_column, att.attname as col
        from audit.audited_tables a
        join pg_attribute att on att.attrelid = a.table_name::regclass and att.attnum > 0 and not att.attisdropped
        where att.attname like '%\_by' and att.atttypid = 'uuid'::regtype
          and not exists (select from pg_constraint k
                          where k.conrelid = a.table_name::regclass and k.contype = 'f' and att.attnum = any(k.conkey))
        order by 1, 3
    loop
        return query execute format($q$
            select %1$L::text, t.tenant_id, t.%2$I, %3$L::text, 'tenant.staff'::text, t.%3$I::text, s.tenant_id
            from %1$s t
            join tenant.staff s on s.staff_id = t.%3$I and s.tenant_id <> t.tenant_id
            where not exists (select from tenant.staff o where o.tenant_id = t.tenant_id and o.staff_id = t.%3$I)
            $q$, stamp.table_name, stamp.key_column, stamp.col);
    end loop;
    -- The trail: an entry's actor is a staff member of another department, or the record it
    -- describes lives in another department, or its row says another department.
    return query
        select 'audit.entries'::text, e.tenant_id, e.record_id, 'actor_id'::text, 'tenant.staff'::text, e.actor_id::text, s.tenant_id
        from audit.entries e
        join tenant.staff s on s.staff_id = e.actor_id and s.tenant_id <> e.tenant_id
        where not exists (select from tenant.staff o where o.tenant_id = e.tenant_id and o.staff_id = e.actor_id);
    return query
        select 'audit.entries'::text, e.tenant_id, e.record_id, 'row_data.tenant_id'::text, e.table_name, e.record_id::text,
               (e.row_data ->> 'tenant_id')::uuid
        from audit.entries e
        where e.row_data ? 'tenant_id' and (e.row_data ->> 'tenant_id')::uuid <> e.tenant_id;
    for t in select a.table_name, a.key_column from audit.audited_tables a order by a.table_name loop
        return query execute format($q$
            select distinct 'audit.entries'::text, e.tenant_id, e.record_id, 'record_id'::text, %1$L::text, e.record_id::text, l.tenant_id
            from audit.entries e
            join %2$s l on l.%3$I = e.record_id and l.tenant_id <> e.tenant_id
            where e.table_name = %1$L
              and not exists (select from %2$s o where o.tenant_id = e.tenant_id and o.%3$I = e.record_id)
            $q$, t.table_name, t.table_name, t.key_column);
    end loop;
end
$$;

comment on function audit.cross_tenant_references() is
    'Every reference from one department''s row or audit entry to another department''s row (NULL referenced_tenant_id: dangling).';

create function audit.soft_deleted_rows_in_views()
    returns table (view_name text, tenant_id uuid, record_id uuid)
    language plpgsql stable
    set search_path = pg_catalog, pg_temp
    as $$
declare
    t record;
begin
    for t in
        select format('%I.%I', vn.nspname, v.relname) as view_name, a.key_column
        from audit.audited_tables a
        join pg_class v on v.relname = split_part(a.table_name, '.', 2) and v.relkind = 'v'
        join pg_namespace vn on vn.oid = v.relnamespace and vn.nspname = 'app'
        where exists (select from pg_attribute x where x.attrelid = v.oid and x.attname = 'deleted_at')
          and exists (select from pg_attribute x where x.attrelid = v.oid and x.attname = a.key_column)
        order by 1
    loop
        return query execute format('select %1$L::text, v.tenant_id, v.%2$I from %1$s v where v.deleted_at is not null',
                                    t.view_name, t.key_column);
    end loop;
end
$$;

comment on function audit.soft_deleted_rows_in_views() is
    'Soft-deleted rows that an app.* view still shows.';

revoke all on function audit.sla_breaches(timestamptz), audit.records_without_live_row(),
    audit.cross_tenant_references(), audit.soft_deleted_rows_in_views() from public;
grant select on audit.enquiry_status_history, audit.escalation_transitions to enquiries_auditor;
grant execute on function audit.sla_breaches(timestamptz) to enquiries_auditor;
