"""Dropping a table or a column loses data, and the history that explains it."""

from __future__ import annotations

ID = "drop-table-or-column"
TITLE = "A migration drops a table or a column"
FIX = ("keep the data: deprecate the column or table (stop writing it, document it) and remove it only in a "
       "migration that says where the data went; if the drop is deliberate, acknowledge it with the reason")
NEEDS_MIGRATIONS = True


def check(context):
    from enquiries_lab.lint.engine import Raw

    dropped_tables = {(e.origin.seq, e.key.split(":")[1]) for e in context.provenance.events
                      if e.kind == "drop" and e.key.startswith("rel:")}
    for e in context.provenance.events:
        if e.kind != "drop" or _created_in_same_file(context, e):
            continue
        if e.key.startswith("rel:") and e.before.get("kind") in ("r", "p"):
            name = f"{e.before['schema']}.{e.before['name']}"
            yield Raw(name, f"drops table {name} and every row in it", origin=e.origin)
        elif e.key.startswith("col:"):
            relid = e.key.split(":")[1]
            if (e.origin.seq, relid) in dropped_tables:
                continue  # reported with its table
            table = context.relation_name(relid)
            yield Raw(f"{table}.{e.before['name']}", f"drops column {e.before['name']} of {table} and its values",
                      origin=e.origin)


def _created_in_same_file(context, event) -> bool:
    created = context.provenance.created.get(event.key)
    return created is not None and created.statement.path == event.origin.statement.path
