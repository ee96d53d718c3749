"""A database's catalog as comparable rows: what the baseline must reproduce exactly.

`snapshot(conn)` returns {aspect: sorted rows} for the lab's schemas (app, audit, core,
tenant), the lab's roles and the reference data; two databases hold the same schema when
their snapshots are equal. Owners that are superusers read as '<superuser>' (the old chain
and the baseline may be run by different superusers); oids never appear.
"""

from __future__ import annotations

import psycopg

SCHEMAS = "('app', 'audit', 'core', 'tenant')"
OWNER = "(select case when r.rolsuper then '<superuser>' else r.rolname::text end from pg_roles r where r.oid = {})"
# A NULL acl means the default one: compare what it grants, not how it is stored.
ACL = ("(select coalesce(string_agg(item, ',' order by item), '') from (select format('%s:%s:%s:%s', coalesce(g.rolname, 'PUBLIC'),"
       " a.privilege_type, a.is_grantable,"
       " (select case when x.rolsuper then '<superuser>' else x.rolname::text end from pg_roles x where x.oid = a.grantor)) as item"
       " from aclexplode({}) a left join pg_roles g on g.oid = a.grantee) items)")


def acl(column: str, kind: str, owner: str) -> str:
    return ACL.format(f"coalesce({column}, acldefault('{kind}', {owner}))")

QUERIES = {
    "schemas": f"""select n.nspname, {OWNER.format('n.nspowner')}, {acl('n.nspacl', 'n', 'n.nspowner')}, obj_description(n.oid, 'pg_namespace')
                   from pg_namespace n where n.nspname in ('app', 'audit', 'core', 'tenant', 'public')""",
    "relations": f"""select n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions::text, c.relrowsecurity,
                            c.relforcerowsecurity, c.relispartition, pg_get_expr(c.relpartbound, c.oid),
                            pg_get_partkeydef(c.oid), {OWNER.format('c.relowner')}, {acl('c.relacl', 'r', 'c.relowner')},
                            obj_description(c.oid, 'pg_class'), c.relreplident, c.relhasindex
                     from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in {SCHEMAS}""",
    "columns": f"""select n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                          pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, co.collname, a.attstorage,
                          a.attstattarget, {ACL.format('a.attacl')}, col_description(c.oid, a.attnum),
                          array(select o from unnest(a.attoptions) o where o not like 'pg\\_attver=%' order by 1)::text
                   from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
                   left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
                   left join pg_collation co on co.oid = a.attcollation
                   where n.nspname in {SCHEMAS} and a.attnum > 0 and not a.attisdropped""",
    "constraints": f"""select n.nspname, coalesce(c.relname, t.typname), k.conname, k.contype, pg_get_constraintdef(k.oid),
                              k.condeferrable, k.condeferred, k.convalidated, k.conislocal, obj_description(k.oid, 'pg_constraint')
                       from pg_constraint k join pg_namespace n on n.oid = k.connamespace
                       left join pg_class c on c.oid = k.conrelid left join pg_type t on t.oid = k.contypid
                       where n.nspname in {SCHEMAS}""",
    "indexes": f"""select n.nspname, c.relname, pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
                          (select p.relname from pg_inherits h join pg_class p on p.oid = h.inhparent where h.inhrelid = i.indexrelid)
                   from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname in {SCHEMAS}""",
    "types": f"""select n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), t.typnotnull,
                        t.typdefault, co.collname, {OWNER.format('t.typowner')}, {acl('t.typacl', 'T', 't.typowner')},
                        obj_description(t.oid, 'pg_type')
                 from pg_type t join pg_namespace n on n.oid = t.typnamespace left join pg_collation co on co.oid = t.typcollation
                 where n.nspname in {SCHEMAS} and t.typtype in ('d', 'e', 'c', 'r', 'm')
                   and not exists (select from pg_class c where c.oid = t.typrelid and c.relkind <> 'c')""",
    "policies": f"""select n.nspname, c.relname, p.polname, p.polcmd, p.polpermissive,
                           array(select coalesce(r.rolname, 'PUBLIC') from unnest(p.polroles) u left join pg_roles r on r.oid = u order by 1),
                           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), obj_description(p.oid, 'pg_policy')
                    from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace""",
    "triggers": f"""select n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled, obj_description(t.oid, 'pg_trigger')
                    from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
                    where n.nspname in {SCHEMAS} and not t.tgisinternal""",
    "event_triggers": f"""select e.evtname, e.evtevent, e.evtfoid::regprocedure::text, e.evtenabled, e.evttags::text,
                                 {OWNER.format('e.evtowner')}, obj_description(e.oid, 'pg_event_trigger') from pg_event_trigger e""",
    "functions": f"""select n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_arguments(p.oid),
                            pg_get_function_result(p.oid), l.lanname, p.prokind, p.provolatile, p.proisstrict, p.prosecdef,
                            p.proleakproof, p.proparallel, p.proconfig::text, p.prosrc, p.procost, p.prorows,
                            {OWNER.format('p.proowner')}, {acl('p.proacl', 'f', 'p.proowner')}, obj_description(p.oid, 'pg_proc'),
                            (select a.aggtransfn::regproc::text || '/' || a.aggtranstype::regtype::text from pg_aggregate a where a.aggfnoid = p.oid)
                     from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
                     where n.nspname in {SCHEMAS}""",
    "views": f"""select n.nspname, c.relname, pg_get_viewdef(c.oid), c.reloptions::text
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname in {SCHEMAS} and c.relkind in ('v', 'm')""",
    "sequences": f"""select n.nspname, c.relname, format_type(s.seqtypid, null), s.seqstart, s.seqincrement, s.seqmax, s.seqmin,
                            s.seqcache, s.seqcycle, pg_sequence_last_value(c.oid)
                     from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace
                     where n.nspname in {SCHEMAS}""",
    "default_privileges": f"""select {OWNER.format('d.defaclrole')}, coalesce(n.nspname, '-'), d.defaclobjtype, {ACL.format('d.defaclacl')}
                              from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace""",
    "roles": """select r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication,
                       r.rolbypassrls, r.rolconnlimit, r.rolconfig::text,
                       array(select g.rolname || ':' || m.admin_option from pg_auth_members m join pg_roles g on g.oid = m.roleid
                             where m.member = r.oid order by 1)
                from pg_roles r where r.rolname like 'enquiries\\_%'""",
    "extensions": "select extname, extversion from pg_extension",
    "database": """select array(select coalesce(g.rolname, 'PUBLIC') || ':' || a.privilege_type from pg_database d
                                cross join lateral aclexplode(d.datacl) a left join pg_roles g on g.oid = a.grantee
                                where d.datname = current_database() order by 1),
                          array(select s.setconfig::text from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
                                where d.datname = current_database())""",
    "dependencies": f"""select pg_describe_object(d.classid, d.objid, d.objsubid), pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), d.deptype
                        from pg_depend d join pg_class c on c.oid = d.classid
                        where d.deptype in ('n', 'a') and c.relname in ('pg_rewrite', 'pg_constraint', 'pg_trigger', 'pg_policy')
                          and d.objid >= 16384""",
}


def reference_rows(conn: psycopg.Connection) -> list[tuple]:
    """Every row of every core table, as text."""
    rows = []
    tables = conn.execute(f"""select format('%I.%I', n.nspname, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                              where n.nspname = 'core' and c.relkind in ('r', 'p') order by 1""").fetchall()
    for (table,) in tables:
        rows += [(table, r[0]) for r in conn.execute(f"select t::text from {table} t order by 1").fetchall()]  # noqa: S608 (catalog name)
    return rows


def snapshot(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    snap = {name: sorted(tuple(str(v) for v in row) for row in conn.execute(query).fetchall()) for name, query in QUERIES.items()}
    snap["reference_rows"] = sorted(reference_rows(conn))
    return snap


def differences(a: dict[str, list[tuple]], b: dict[str, list[tuple]], limit: int = 20) -> list[str]:
    """Human-readable rows present in one snapshot and not the other, per aspect."""
    out = []
    for aspect in a:
        only_a = sorted(set(a[aspect]) - set(b[aspect]))
        only_b = sorted(set(b[aspect]) - set(a[aspect]))
        out += [f"{aspect}: only in old chain: {row}" for row in only_a[:limit]]
        out += [f"{aspect}: only in baseline:  {row}" for row in only_b[:limit]]
        if len(a[aspect]) != len(b[aspect]) and not (only_a or only_b):
            out.append(f"{aspect}: {len(a[aspect])} rows vs {len(b[aspect])} (duplicates differ)")
    return out
