-- id: audit_trail_tamper_free
-- title: The sealed audit trail is exactly as it was sealed
-- requirement: Recomputing the seal chain (audit.verify) finds every sealed entry unchanged,
--   none removed or added, and every seal intact and linked to the one before: what a
--   superuser with triggers disabled could have changed is detected here. Entries not sealed
--   yet are not a failure of this check (see audit_trail_sealed).
-- severity: critical
-- The problems first, then the department of each named entry: a join on the entry id alone
-- over materialised steps, which a distributed engine also runs (no lateral per problem).
with v as materialized (
    select * from audit.verify() where problem <> 'unsealed'
),
owners as materialized (
    select distinct x.entry_id, x.tenant_id
    from audit.entries x
    where x.entry_id in (select v.entry_id from v where v.entry_id is not null)
)
select case when v.entry_id is not null then format('audit.entries %s', v.entry_id)
            else format('audit.seals %s', v.seal_id) end as object,
       e.tenant_id,
       jsonb_build_object('problem', v.problem, 'seal_id', v.seal_id, 'entry_id', v.entry_id, 'detail', v.detail) as detail
from v
left join owners e on e.entry_id = v.entry_id
