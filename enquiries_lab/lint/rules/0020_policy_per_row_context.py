"""A context lookup in a policy must not be a function call the planner cannot see through.

`tenant_id = tenant.current_tenant_id()` (sql/060) is a STABLE, inlinable SQL function: the
planner folds it while estimating (the department's own statistics), and as an index
condition it is evaluated once per scan. A PL/pgSQL, SECURITY DEFINER or SET-carrying
function is opaque instead: called through the function manager for every row it filters
(measured 2-4x on aggregates, docs/benchmarks.md), and a raw current_setting() belongs in the
one context function, not in each policy. The policy's expression tree (pg_node_tree) is read:
a call to current_setting() or to a non-immutable project function that is not an inlinable
SQL function is flagged unless it sits in an uncorrelated sub-select (the older form,
`(select tenant.current_tenant_id())`, an InitPlan). This rule reads the catalog only, so it
also runs with --db.
"""

from __future__ import annotations

import re

ID = "policy-per-row-context"
TITLE = "A policy looks the context up once per row"
FIX = ("compare with the context function: `tenant_id = tenant.current_tenant_id()` (a STABLE, inlinable SQL "
       "function the planner folds for estimates and evaluates once per index scan), or wrap another lookup in a "
       "sub-select so it is evaluated once (an InitPlan)")
NEEDS_MIGRATIONS = False

QUERY = """
select p.oid, p.polname, n.nspname, c.relname, p.polqual::text, p.polwithcheck::text
from pg_catalog.pg_policy p
join pg_catalog.pg_class c on c.oid = p.polrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname not in (select jsonb_array_elements_text($1 -> 'ignored_schemas'))
"""

# Functions whose call is an opaque context lookup: current_setting(), and every function
# outside pg_catalog that is not IMMUTABLE (it may read settings or tables) unless the planner
# inlines it (LANGUAGE sql, STABLE, no SECURITY DEFINER, no SET, not set-returning).
LOOKUPS = """
select f.oid, f.oid::pg_catalog.regprocedure::text
from pg_catalog.pg_proc f
join pg_catalog.pg_namespace n on n.oid = f.pronamespace
join pg_catalog.pg_language l on l.oid = f.prolang
where f.oid = any($2::oid[])
  and ((n.nspname = 'pg_catalog' and f.proname = 'current_setting')
       or (n.nspname not in ('pg_catalog', 'information_schema') and f.provolatile <> 'i'
           and not (l.lanname = 'sql' and f.provolatile = 's' and not f.prosecdef and f.proconfig is null
                    and not f.proretset)))
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
