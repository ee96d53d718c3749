"""A context lookup in a policy must run once per query, not once per row.

`tenant_id = tenant.current_tenant_id()` calls the function for every row and keeps
`tenant_id` from being an index condition; `tenant_id = (select tenant.current_tenant_id())`
is an InitPlan, evaluated once. The policy's expression tree (pg_node_tree) is read: a call
to current_setting() or to any non-immutable function of the project is flagged unless it
sits in an uncorrelated sub-select. This rule reads the catalog only, so it also runs with --db.
"""

from __future__ import annotations

import re

ID = "policy-per-row-context"
TITLE = "A policy looks the context up once per row"
FIX = ("wrap the lookup in a sub-select: `tenant_id = (select tenant.current_tenant_id())`, so the planner "
       "evaluates it once (an InitPlan) and tenant_id stays an index condition")
NEEDS_MIGRATIONS = False

QUERY = """
select p.oid, p.polname, n.nspname, c.relname, p.polqual::text, p.polwithcheck::text
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
"""

# Functions whose call is a context lookup: current_setting(), and every function outside
# pg_catalog that is not IMMUTABLE (it may read settings or tables).
LOOKUPS = """
select f.oid, f.oid::pg_catalog.regprocedure::text
from pg_catalog.pg_proc f join pg_catalog.pg_namespace n on n.oid = f.pronamespace
where f.oid = any($2::oid[])
  and ((n.nspname = 'pg_catalog' and f.proname = 'current_setting')
       or (n.nspname not in ('pg_catalog', 'information_schema') and f.provolatile <> 'i'))
"""

_NODE = re.compile(r"\{([A-Z_]+)")


def per_row_calls(tree: str | None) -> list[int]:
    """funcids of FUNCEXPR nodes that are not inside an uncorrelated SUBLINK."""
    if not tree:
        return []
    calls: list[int] = []
    stack: list[tuple[str, int]] = []  # (node name, start offset)
    spans: list[tuple[str, int, int]] = []
    i = 0
    while i < len(tree):
        ch = tree[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            m = _NODE.match(tree, i)
            stack.append((m.group(1) if m else "", i))
        elif ch == "}" and stack:
            name, start = stack.pop()
            spans.append((name, start, i + 1))
        i += 1
    sublinks = [(s, e) for name, s, e in spans if name == "SUBLINK"]
    for name, start, end in spans:
        if name != "FUNCEXPR":
            continue
        m = re.match(r"\{FUNCEXPR :funcid (\d+)", tree[start:])
        if not m:
            continue
        enclosing = [(s, e) for s, e in sublinks if s < start and end <= e]
        if enclosing and not any(_correlated(tree[s:e]) for s, e in enclosing):
            continue
        calls.append(int(m.group(1)))
    return calls


def _correlated(sublink: str) -> bool:
    return any(int(level) > 0 for level in re.findall(r":varlevelsup (\d+)", sublink))


def check(context):
    from enquiries_lab.lint.engine import Raw

    for oid, name, schema, table, qual, with_check in context.query(QUERY):
        funcids = sorted(set(per_row_calls(qual) + per_row_calls(with_check)))
        if not funcids:
            continue
        lookups = [signature for _, signature in context.query(LOOKUPS, funcids)]
        if lookups:
            yield Raw(f"{name} on {schema}.{table}",
                      f"policy {name} on {schema}.{table} calls {', '.join(lookups)} for every row "
                      f"instead of once per query", blame=f"pol:{oid}", blame_properties=("qual", "check"))
