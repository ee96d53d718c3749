"""Foreign keys must say what happens when the referenced row is deleted.

PostgreSQL's catalog (and its parse tree) store an omitted ON DELETE as NO ACTION, exactly
like a written one, so the catalog cannot tell an accident from a decision: the statement
that created the constraint is read instead.
"""

from __future__ import annotations

ID = "fk-on-delete-implicit"
TITLE = "A foreign key without an explicit ON DELETE action"
FIX = ("write the action: `on delete restrict` (this project's choice between tenant tables: nothing is ever "
       "deleted, and a reference must not silently disappear), or `on delete no action` if that is really meant")
NEEDS_MIGRATIONS = True

QUERY = """
select k.oid, k.conname, n.nspname, c.relname, rc.relname,
       array(select a.attname::text from unnest(k.conkey) x(attnum)
             join pg_catalog.pg_attribute a on a.attrelid = k.conrelid and a.attnum = x.attnum)
from pg_catalog.pg_constraint k
join pg_catalog.pg_class c on c.oid = k.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_class rc on rc.oid = k.confrelid
where k.contype = 'f' and k.conparentid = 0 and not c.relispartition
  and n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
"""


def check(context):
    from enquiries_lab.lint import clauses
    from enquiries_lab.lint.engine import Raw

    for oid, name, schema, table, referenced, columns in context.query(QUERY):
        key = f"con:{oid}"
        origin = context.provenance.origin_of(key)
        if origin is None:
            continue  # not made by the migrations being linted
        obj = f"{name} on {schema}.{table}"
        clause = clauses.find(clauses.clauses(origin.statement), "f", name, tuple(columns), referenced)
        if clause is None:
            yield Raw(obj, f"foreign key {name} on {schema}.{table} was created by a statement whose text does not "
                           f"show it (dynamic SQL?), so its ON DELETE action cannot be confirmed", origin=origin)
        elif not clause.on_delete:
            yield Raw(obj, f"foreign key {name} on {schema}.{table} ({', '.join(columns)}) -> {referenced} "
                           f"has no ON DELETE action: the catalog records NO ACTION as if it had been chosen",
                      origin=origin, line=clause.line)
