"""Which statement made each catalog object what it is.

After every statement the shadow database's catalog is read (the objects the rules look
at, each with the properties that matter) and compared with the previous reading. A new
object records the statement that created it; a changed property records the statement
that changed it; a vanished object or a new name is an event (drop, rename). A finding
about an object is then attributed to the statement that last changed the property the
rule is about, or else to the one that created it: a table that was never protected
points at its CREATE TABLE, a table whose RLS was switched off later at that ALTER.

Keys are stable strings: `rel:<oid>`, `col:<relid>:<attnum>`, `con:<oid>`, `pol:<oid>`,
`trg:<oid>`, `fn:<oid>`, `role:<oid>`, `member:<role oid>:<member oid>`. The catalog rules
name the key (and the properties) responsible for each finding in the same form.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import psycopg

from enquiries_lab.lint.sqltext import Statement

# Every object of interest, one row each: (key, properties as jsonb). Run after every
# statement, whatever role the migration switched to: the catalog is readable by all.
# Partitions count as tables (dropping one loses data) but their columns, constraints,
# triggers and indexes mirror the parent's and are left out.
SNAPSHOT = """
with user_ns as (
    select oid, nspname from pg_catalog.pg_namespace
    where nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      and nspname not like 'pg\\_temp\\_%' and nspname not like 'pg\\_toast\\_temp\\_%'
),
rels as (
    select c.oid, c.relname, c.relkind, c.relispartition, n.nspname, c.relrowsecurity, c.relforcerowsecurity,
           c.relacl, c.reloptions, c.relowner
    from pg_catalog.pg_class c join user_ns n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
       or (c.relkind in ('i', 'I') and not c.relispartition)
)
select 'rel:' || r.oid, pg_catalog.jsonb_build_object(
           'name', r.relname, 'schema', r.nspname, 'kind', r.relkind, 'partition', r.relispartition,
           'rls', r.relrowsecurity, 'force', r.relforcerowsecurity, 'acl', r.relacl::text,
           'options', r.reloptions::text, 'owner', r.relowner)
from rels r
union all
select 'col:' || a.attrelid || ':' || a.attnum, pg_catalog.jsonb_build_object(
           'name', a.attname, 'notnull', a.attnotnull, 'type', a.atttypid, 'relation', a.attrelid)
from pg_catalog.pg_attribute a join rels r on r.oid = a.attrelid
where a.attnum > 0 and not a.attisdropped and r.relkind in ('r', 'p', 'v', 'm', 'f') and not r.relispartition
union all
select 'con:' || k.oid, pg_catalog.jsonb_build_object('name', k.conname, 'type', k.contype, 'relation', k.conrelid)
from pg_catalog.pg_constraint k join rels r on r.oid = k.conrelid
where not r.relispartition
union all
select 'pol:' || p.oid, pg_catalog.jsonb_build_object(
           'name', p.polname, 'relation', p.polrelid, 'cmd', p.polcmd, 'permissive', p.polpermissive,
           'roles', p.polroles::text, 'qual', p.polqual::text, 'check', p.polwithcheck::text)
from pg_catalog.pg_policy p
union all
select 'trg:' || t.oid, pg_catalog.jsonb_build_object(
           'name', t.tgname, 'relation', t.tgrelid, 'enabled', t.tgenabled, 'function', t.tgfoid, 'type', t.tgtype)
from pg_catalog.pg_trigger t join rels r on r.oid = t.tgrelid
where not t.tgisinternal and not r.relispartition
union all
select 'fn:' || f.oid, pg_catalog.jsonb_build_object(
           'name', f.oid::pg_catalog.regprocedure::text, 'definer', f.prosecdef, 'config', f.proconfig::text,
           'acl', f.proacl::text, 'owner', f.proowner, 'source', pg_catalog.md5(f.prosrc))
from pg_catalog.pg_proc f join user_ns n on n.oid = f.pronamespace
union all
select 'role:' || a.oid, pg_catalog.jsonb_build_object(
           'name', a.rolname, 'superuser', a.rolsuper, 'bypassrls', a.rolbypassrls, 'inherit', a.rolinherit,
           'login', a.rolcanlogin)
from pg_catalog.pg_roles a
where a.rolname !~ '^pg_'
union all
select 'member:' || m.roleid || ':' || m.member, '{}'::jsonb
from pg_catalog.pg_auth_members m
"""


# Rows this transaction has written to the catalogs read above: a cheap way to skip the
# full reading after statements that changed no catalog (inserts, comments, most selects).
CATALOG_WRITES = """
select coalesce(sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c) + pg_catalog.pg_stat_get_xact_tuples_updated(c)
                    + pg_catalog.pg_stat_get_xact_tuples_deleted(c)), 0)::bigint
from pg_catalog.unnest(array['pg_catalog.pg_class', 'pg_catalog.pg_attribute', 'pg_catalog.pg_constraint',
                             'pg_catalog.pg_policy', 'pg_catalog.pg_trigger', 'pg_catalog.pg_proc',
                             'pg_catalog.pg_authid', 'pg_catalog.pg_auth_members']::pg_catalog.regclass[]) c
"""


@dataclass(frozen=True)
class Origin:
    """A statement that was applied, with its place in the order of application."""

    seq: int
    statement: Statement


@dataclass(frozen=True)
class Event:
    kind: str  # "drop" | "rename"
    key: str
    before: dict
    after: dict | None
    origin: Origin


@dataclass
class Provenance:
    state: dict[str, dict] = field(default_factory=dict)
    created: dict[str, Origin] = field(default_factory=dict)
    changed: dict[str, dict[str, Origin]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)
    writes: int | None = None  # CATALOG_WRITES when the state was last read
    counted: bool = True  # track_counts is on, so CATALOG_WRITES can be trusted

    def fork(self) -> "Provenance":
        """An independent copy (a trial on top of a shared base)."""
        start = next(self.counter)
        return Provenance(dict(self.state), dict(self.created), {k: dict(v) for k, v in self.changed.items()},
                          list(self.events), itertools.count(start + 1), None, self.counted)

    def baseline(self, conn: psycopg.Connection) -> None:
        """What exists before the first migration (e.g. roles already on the server)."""
        self.state = read(conn)
        self.writes = None
        with conn.cursor() as cur:
            cur.execute("select pg_catalog.current_setting('track_counts')::boolean")
            self.counted = cur.fetchone()[0]

    def new_transaction(self) -> None:
        """The catalog-write counter restarts with every transaction."""
        self.writes = None

    def record(self, conn: psycopg.Connection, statement: Statement) -> None:
        """Read the catalog after `statement` and attribute every difference to it."""
        origin = Origin(next(self.counter), statement)
        writes = catalog_writes(conn) if self.counted else None
        if writes is not None and writes == self.writes:
            return
        self.writes = writes
        now = read(conn)
        before = self.state
        for key, props in now.items():
            old = before.get(key)
            if old is None:
                self.created[key] = origin
                self.changed.pop(key, None)
                continue
            if old == props:
                continue
            changes = self.changed.setdefault(key, {})
            for name, value in props.items():
                if old.get(name) != value:
                    changes[name] = origin
            if key.startswith(("rel:", "col:")) and (old.get("name"), old.get("schema")) != (props.get("name"), props.get("schema")):
                self.events.append(Event("rename", key, old, props, origin))
            self._touch_parent(key, old, origin)
        for key, old in before.items():
            if key not in now:
                self.events.append(Event("drop", key, old, None, origin))
                self._touch_parent(key, old, origin)
        self.state = now

    def _touch_parent(self, key: str, old: dict, origin: Origin) -> None:
        """A trigger, policy, constraint or column that changed or vanished changes its table's
        `triggers`/`policies`/`constraints`/`columns`: a rule about what a table lacks then
        points at the statement that took it away (one that never had it points at its
        CREATE TABLE, because creating children is not recorded here)."""
        kind = key.split(":", 1)[0]
        parent_property = {"trg": "triggers", "pol": "policies", "con": "constraints", "col": "columns"}.get(kind)
        if parent_property and old.get("relation") is not None:
            self.changed.setdefault(f"rel:{old['relation']}", {})[parent_property] = origin

    def origin_of(self, key: str, properties: list[str] | tuple[str, ...] = ()) -> Origin | None:
        """The statement that last changed any of `properties` of `key`, else the one that
        created it; None for objects no applied statement touched."""
        changes = self.changed.get(key, {})
        latest = [changes[p] for p in properties if p in changes]
        if latest:
            return max(latest, key=lambda o: o.seq)
        return self.created.get(key)


def catalog_writes(conn: psycopg.Connection) -> int:
    with conn.cursor() as cur:
        cur.execute(CATALOG_WRITES)
        return cur.fetchone()[0]


def read(conn: psycopg.Connection) -> dict[str, dict]:
    with conn.cursor() as cur:
        cur.execute(SNAPSHOT)
        return dict(cur.fetchall())
