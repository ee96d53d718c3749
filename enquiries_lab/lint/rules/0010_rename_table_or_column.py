"""Renaming a table or a column breaks every reader that still uses the old name."""

from __future__ import annotations

ID = "rename-table-or-column"
TITLE = "A migration renames (or moves) a table or a column"
FIX = ("add the new name alongside the old one (a new column filled from the old, or a view under the old name), "
       "move readers over, and drop the old name later; acknowledge the rename if no reader can exist yet")
NEEDS_MIGRATIONS = True


def check(context):
    from enquiries_lab.lint.engine import Raw

    for e in context.provenance.events:
        if e.kind != "rename":
            continue
        created = context.provenance.created.get(e.key)
        if created is not None and created.statement.path == e.origin.statement.path:
            continue  # renamed in the file that created it: nobody can have used the old name
        if e.key.startswith("rel:") and e.before.get("kind") in ("r", "p", "v", "m"):
            old = f"{e.before['schema']}.{e.before['name']}"
            new = f"{e.after['schema']}.{e.after['name']}"
            yield Raw(new, f"renames {old} to {new}", origin=e.origin)
        elif e.key.startswith("col:"):
            table = context.relation_name(e.key.split(":")[1])
            yield Raw(f"{table}.{e.after['name']}", f"renames column {table}.{e.before['name']} to {e.after['name']}",
                      origin=e.origin)
