-- 014 compliance support: functions and views the compliance checks read.
--
-- Part of the baseline (001-014): each object below is in its final form, in this file only;
-- post-baseline changes are ordinary numbered migrations from 036. The pre-baseline chain
-- (001-035, in git history up to 14cc873) built the same objects in steps; the guarantees and
-- the measured reasons its files recorded are kept below, under the old file names.
--
-- ===== from 021_compliance_support.sql =====
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

-- Final definitions as a database migrated with the pre-baseline chain holds them (taken
-- from pg_dump); bodies are checked when run, as in a restore.
set local check_function_bodies = off;
select pg_catalog.set_config('search_path', '', true);

-- audit.cross_tenant_references() (function)
CREATE FUNCTION audit.cross_tenant_references() RETURNS TABLE(table_name text, tenant_id uuid, record_id uuid, column_name text, referenced_table text, referenced_id text, referenced_tenant_id uuid)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $_$
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
$_$;


ALTER FUNCTION audit.cross_tenant_references() OWNER TO enquiries_owner;

-- audit.FUNCTION cross_tenant_references() (comment)
COMMENT ON FUNCTION audit.cross_tenant_references() IS 'Every reference from one department''s row or audit entry to another department''s row (NULL referenced_tenant_id: dangling).';

-- audit.records_without_live_row() (function)
CREATE FUNCTION audit.records_without_live_row() RETURNS TABLE(table_name text, tenant_id uuid, record_id uuid, entries bigint, last_entry_id bigint, last_occurred_at timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $_$
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
$_$;


ALTER FUNCTION audit.records_without_live_row() OWNER TO enquiries_owner;

-- audit.FUNCTION records_without_live_row() (comment)
COMMENT ON FUNCTION audit.records_without_live_row() IS 'Records with audit entries but no live row in their department: physically deleted (or moved), which the triggers refuse.';

-- audit.sla_breaches(timestamp with time zone) (function)
CREATE FUNCTION audit.sla_breaches(as_of timestamp with time zone DEFAULT now()) RETURNS TABLE(tenant_id uuid, enquiry_id uuid, reference text, enquiry_type text, priority text, received_at timestamp with time zone, due_at timestamp with time zone, paused interval, effective_due_at timestamp with time zone, answered_at timestamp with time zone, overdue interval)
    LANGUAGE sql STABLE
    SET jit TO 'off'
    AS $$
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


ALTER FUNCTION audit.sla_breaches(as_of timestamp with time zone) OWNER TO enquiries_owner;

-- audit.FUNCTION sla_breaches(as_of timestamp with time zone) (comment)
COMMENT ON FUNCTION audit.sla_breaches(as_of timestamp with time zone) IS 'Enquiries first answered (or still unanswered at as_of) after their due date plus the time the SLA clock was paused.';

-- audit.soft_deleted_rows_in_views() (function)
CREATE FUNCTION audit.soft_deleted_rows_in_views() RETURNS TABLE(view_name text, tenant_id uuid, record_id uuid)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $_$
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
$_$;


ALTER FUNCTION audit.soft_deleted_rows_in_views() OWNER TO enquiries_owner;

-- audit.FUNCTION soft_deleted_rows_in_views() (comment)
COMMENT ON FUNCTION audit.soft_deleted_rows_in_views() IS 'Soft-deleted rows that an app.* view still shows.';

-- audit.enquiry_status_history (view)
CREATE VIEW audit.enquiry_status_history WITH (security_invoker='true') AS
 SELECT e.tenant_id,
    e.record_id AS enquiry_id,
    e.entry_id,
    (e.old_values ->> 'status'::text) AS from_status,
    (e.row_data ->> 'status'::text) AS status,
    e.occurred_at AS entered_at,
    lead(e.occurred_at) OVER w AS left_at,
    e.actor_id,
    e.db_role
   FROM audit.entries e
  WHERE ((e.table_name = 'tenant.enquiries'::text) AND ((e.action = 'insert'::text) OR ('status'::text = ANY (e.changed_columns))))
  WINDOW w AS (PARTITION BY e.tenant_id, e.record_id ORDER BY e.occurred_at, e.entry_id);


ALTER TABLE audit.enquiry_status_history OWNER TO enquiries_owner;

-- audit.VIEW enquiry_status_history (comment)
COMMENT ON VIEW audit.enquiry_status_history IS 'Every status each enquiry entered (from the audit trail), with who moved it and when it left that status.';

-- audit.escalation_transitions (view)
CREATE VIEW audit.escalation_transitions WITH (security_invoker='true') AS
 WITH moves AS (
         SELECT h.tenant_id,
            h.enquiry_id,
            h.entry_id,
            h.from_status,
            h.status,
            h.entered_at,
            h.left_at,
            h.actor_id,
            h.db_role,
            row_number() OVER (PARTITION BY h.tenant_id, h.enquiry_id ORDER BY h.entered_at, h.entry_id) AS n
           FROM audit.enquiry_status_history h
          WHERE (EXISTS ( SELECT
                   FROM core.status_transitions t
                  WHERE ((t.from_status = h.from_status) AND (t.to_status = h.status) AND t.requires_approval)))
        ), approvals AS (
         SELECT d.tenant_id,
            x.enquiry_id,
            d.record_id AS escalation_id,
            x.requested_by,
            x.requested_at,
            x.reason,
            d.actor_id AS approved_by,
            d.db_role AS approver_db_role,
            d.occurred_at AS approved_at,
            d.entry_id,
            row_number() OVER (PARTITION BY d.tenant_id, x.enquiry_id ORDER BY d.occurred_at, d.entry_id) AS n
           FROM (audit.entries d
             JOIN tenant.escalations x ON (((x.tenant_id = d.tenant_id) AND (x.escalation_id = d.record_id))))
          WHERE ((d.table_name = 'tenant.escalations'::text) AND ('decision'::text = ANY (d.changed_columns)) AND ((d.row_data ->> 'decision'::text) = 'approved'::text) AND (d.db_role = ( SELECT r.db_role
                   FROM core.staff_roles r
                  WHERE (r.staff_role = 'supervisor'::text))) AND (d.actor_id <> x.requested_by))
        )
 SELECT m.tenant_id,
    m.enquiry_id,
    m.entry_id,
    m.from_status,
    m.status,
    m.entered_at AS escalated_at,
    m.actor_id AS escalated_by,
    m.db_role AS escalated_as,
    a.escalation_id,
    a.reason,
    a.requested_by,
    a.requested_at,
    a.approved_by,
    a.approver_db_role,
    a.approved_at,
    a.entry_id AS approval_entry_id
   FROM (moves m
     LEFT JOIN approvals a ON (((a.tenant_id = m.tenant_id) AND (a.enquiry_id = m.enquiry_id) AND (a.n = m.n))));


ALTER TABLE audit.escalation_transitions OWNER TO enquiries_owner;

-- audit.VIEW escalation_transitions (comment)
COMMENT ON VIEW audit.escalation_transitions IS 'Each move into a status that needs approval, with the approved escalation it used (NULLs: none was available).';

-- audit.FUNCTION cross_tenant_references() (acl)
REVOKE ALL ON FUNCTION audit.cross_tenant_references() FROM PUBLIC;

-- audit.FUNCTION records_without_live_row() (acl)
REVOKE ALL ON FUNCTION audit.records_without_live_row() FROM PUBLIC;

-- audit.FUNCTION sla_breaches(as_of timestamp with time zone) (acl)
REVOKE ALL ON FUNCTION audit.sla_breaches(as_of timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION audit.sla_breaches(as_of timestamp with time zone) TO enquiries_auditor;

-- audit.FUNCTION soft_deleted_rows_in_views() (acl)
REVOKE ALL ON FUNCTION audit.soft_deleted_rows_in_views() FROM PUBLIC;

-- audit.TABLE enquiry_status_history (acl)
GRANT SELECT ON TABLE audit.enquiry_status_history TO enquiries_auditor;

-- audit.TABLE escalation_transitions (acl)
GRANT SELECT ON TABLE audit.escalation_transitions TO enquiries_auditor;

