"""Constraint clauses of CREATE TABLE and ALTER TABLE ... ADD, from the tokens.

The catalog says which constraints a statement created; this finds where each is written,
so a finding points at its own line (`unique (code)` rather than `create table`), and
reads what the catalog cannot keep: whether ON DELETE was written at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from enquiries_lab.lint.sqltext import Statement, Token

_CONSTRAINT_STARTS = {"constraint", "primary", "unique", "references", "check", "exclude", "foreign"}
_COLUMN_CONSTRAINT_WORDS = _CONSTRAINT_STARTS | {"not", "null", "default", "generated", "collate", "deferrable",
                                                 "initially", "compression", "storage"}


@dataclass(frozen=True)
class Clause:
    kind: str  # p (primary key), u (unique), f (foreign key), c (check), x (exclude)
    name: str | None  # as written after CONSTRAINT, else None
    columns: tuple[str, ...]
    references: str | None  # the referenced table's name, unqualified
    on_delete: bool  # an ON DELETE action is written
    line: int


def clauses(statement: Statement) -> list[Clause]:
    """Every constraint clause of a CREATE TABLE or ALTER TABLE statement ([] otherwise)."""
    toks = list(statement.tokens)
    if toks and toks[-1].text == ";":
        toks.pop()
    words = [t.value if t.kind == "word" else None for t in toks[:8]]
    if not words or words[0] not in ("create", "alter"):
        return []
    try:
        at = words.index("table")
    except ValueError:
        return []
    if words[0] == "create":
        return _create_table(toks, at + 1)
    return _alter_table(toks, at + 1)


def _skip_name(toks: list[Token], i: int) -> int:
    """Past a possibly qualified name."""
    i += 1
    while i + 1 < len(toks) and toks[i].text == ".":
        i += 2
    return i


def _create_table(toks: list[Token], i: int) -> list[Clause]:
    if i + 2 < len(toks) and toks[i].is_word("if") and toks[i + 1].is_word("not") and toks[i + 2].is_word("exists"):
        i += 3
    i = _skip_name(toks, i)
    if i + 1 < len(toks) and toks[i].is_word("partition") and toks[i + 1].is_word("of"):
        i = _skip_name(toks, i + 2)
    elif i < len(toks) and toks[i].is_word("of"):
        i = _skip_name(toks, i + 1)
    if i >= len(toks) or toks[i].text != "(":
        return []
    group, _ = _paren_group(toks, i)
    found: list[Clause] = []
    for element in _split(group, ","):
        found.extend(_element(element))
    return found


def _alter_table(toks: list[Token], i: int) -> list[Clause]:
    if i + 1 < len(toks) and toks[i].is_word("if") and toks[i + 1].is_word("exists"):
        i += 2
    if i < len(toks) and toks[i].is_word("only"):
        i += 1
    i = _skip_name(toks, i)
    if i < len(toks) and toks[i].text == "*":
        i += 1
    found: list[Clause] = []
    for action in _split(toks[i:], ","):
        if not action or not action[0].is_word("add"):
            continue
        rest = action[1:]
        if rest and rest[0].is_word("column"):
            rest = rest[1:]
        if len(rest) > 2 and rest[0].is_word("if") and rest[1].is_word("not") and rest[2].is_word("exists"):
            rest = rest[3:]
        found.extend(_element(rest))
    return found


def _paren_group(toks: list[Token], i: int) -> tuple[list[Token], int]:
    """The tokens inside the parenthesis opening at i, and the index after it closes."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == "(":
            depth += 1
        elif toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return toks[i + 1:j], j + 1
    return toks[i + 1:], len(toks)


def _split(toks: list[Token], separator: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for t in toks:
        if t.text in ("(", "["):
            depth += 1
        elif t.text in (")", "]"):
            depth -= 1
        if depth == 0 and t.kind == "punct" and t.text == separator:
            parts.append([])
            continue
        parts[-1].append(t)
    return [p for p in parts if p]


def _names(group: list[Token]) -> tuple[str, ...]:
    return tuple(t.value for t in group if t.kind in ("word", "qident"))


def _element(toks: list[Token]) -> list[Clause]:
    if not toks:
        return []
    if toks[0].kind == "word" and toks[0].value in _CONSTRAINT_STARTS - {"references"}:
        clause = _table_constraint(toks)
        return [clause] if clause else []
    if toks[0].is_word("like"):
        return []
    return _column_constraints(toks[0].value, toks[1:])


def _table_constraint(toks: list[Token]) -> Clause | None:
    line = toks[0].line
    name = None
    i = 0
    if toks[0].is_word("constraint") and len(toks) > 1:
        name, i = toks[1].value, 2
    if i >= len(toks):
        return None
    head = toks[i].value if toks[i].kind == "word" else ""
    kind = {"primary": "p", "unique": "u", "foreign": "f", "check": "c", "exclude": "x"}.get(head)
    if kind is None:
        return None
    j = i + 1
    while j < len(toks) and toks[j].text != "(":
        j += 1  # KEY, NULLS [NOT] DISTINCT, USING method
    columns: tuple[str, ...] = ()
    if j < len(toks):
        group, j = _paren_group(toks, j)
        columns = _names(group) if kind in "puf" else ()
    references, on_delete = None, False
    if kind == "f":
        references, on_delete = _references(toks[j:])
    return Clause(kind, name, columns, references, on_delete, line)


def _column_constraints(column: str, toks: list[Token]) -> list[Clause]:
    found: list[Clause] = []
    pending_name: str | None = None
    pending_line: int | None = None
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.text == "(":
            _, i = _paren_group(toks, i)
            continue
        word = t.value if t.kind == "word" else None
        if word == "constraint" and i + 1 < len(toks):
            pending_name, pending_line = toks[i + 1].value, t.line
            i += 2
            continue
        kind = {"primary": "p", "unique": "u", "references": "f", "check": "c"}.get(word or "")
        if kind:
            line = pending_line or t.line
            references, on_delete = (None, False)
            if kind == "f":
                end = i + 1
                while end < len(toks) and not (toks[end].kind == "word" and toks[end].value in _COLUMN_CONSTRAINT_WORDS
                                               and toks[end].value not in ("null", "not", "deferrable", "initially")):
                    end += 1
                references, on_delete = _references(toks[i:end])
                i = end
            else:
                i += 1
            found.append(Clause(kind, pending_name, (column,), references, on_delete, line))
            pending_name = pending_line = None
            continue
        i += 1
    return found


def _references(toks: list[Token]) -> tuple[str | None, bool]:
    """From REFERENCES onwards: the referenced table (unqualified) and whether ON DELETE is written."""
    i = next((k for k, t in enumerate(toks) if t.is_word("references")), None)
    if i is None or i + 1 >= len(toks):
        return None, False
    i += 1
    name = toks[i].value
    while i + 2 < len(toks) and toks[i + 1].text == ".":
        i += 2
        name = toks[i].value
    rest = toks[i + 1:]
    on_delete = any(a.is_word("on") and b.is_word("delete") for a, b in zip(rest, rest[1:]))
    return name, on_delete


def find(candidates: list[Clause], kind: str, name: str, columns: tuple[str, ...], references: str | None) -> Clause | None:
    """The clause that created a constraint: by its name when written, else by kind, columns
    and (for foreign keys) referenced table."""
    for c in candidates:
        if c.name is not None and c.name == name:
            return c
    for c in candidates:
        if c.name is None and c.kind == kind and set(c.columns) == set(columns) \
                and (kind != "f" or c.references == references):
            return c
    return None
