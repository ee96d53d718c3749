-- citus 076 triggers name the logical table: on a shard a trigger's TG_TABLE_NAME is the
-- shard's name (tenant.contacts_102166), so the audit capture recorded shard names as the
-- audit entry's table, the row-stamp trigger looked up soft-delete privileges under the
-- shard's name, and the disposal guard (sql/037 freeze_disposed) missed its per-table rules.
-- runs after: 050
--
-- Guarantees:
--   * core.logical_table_name(relation) is the distributed table's name for one of its shards
--     (pg_dist_shard: the shard's relation is named <table>_<shardid>), the relation's own
--     name otherwise;
--   * every trigger function in the lab's schemas that reads TG_TABLE_NAME reads
--     core.logical_table_name(TG_RELID) instead: the same text, rewritten mechanically from
--     the function's own definition, so the core migrations stay the one source of the logic;
--   * sql/037's statement trigger on new enquiries (a transition table, which shards cannot
--     read) becomes its row form: tenant.freeze_disposed() already refuses an enquiry for a
--     disposed contact per row (EL302), the same check.
create function core.logical_table_name(relation oid) returns name
    language plpgsql stable parallel safe
    set search_path = pg_catalog, pg_temp
    as $$
declare
    own constant name := (select c.relname from pg_class c where c.oid = relation);
    shard constant bigint := substring(own from '_(\d+)$')::bigint;
    logical name;
begin
    if shard is null then
        return own;
    end if;
    select c.relname into logical
    from pg_dist_shard s join pg_class c on c.oid = s.logicalrelid
    where s.shardid = shard;
    if logical is not null and logical || '_' || shard = own then
        return logical;
    end if;
    return own;
end
$$;
alter function core.logical_table_name(oid) owner to enquiries_owner;
grant execute on function core.logical_table_name(oid) to public;

do $rewrite$
declare
    f record;
begin
    for f in
        select p.oid, pg_get_functiondef(p.oid) as def
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname in ('tenant', 'audit', 'core') and p.prorettype = 'trigger'::regtype
          and p.prosrc ~* '\mtg_table_name\M'
    loop
        execute regexp_replace(f.def, '\mtg_table_name\M', 'core.logical_table_name(tg_relid)', 'gi');
    end loop;
end
$rewrite$;

drop trigger c_refuse_on_disposed on tenant.enquiries;
create trigger c_refuse_on_disposed before insert on tenant.enquiries
    for each row execute function tenant.freeze_disposed();
