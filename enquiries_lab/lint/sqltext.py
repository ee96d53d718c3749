"""SQL text as PostgreSQL lexes it: tokens with their lines, statements, acknowledgments.

The linter learns what a migration *does* from PostgreSQL itself (it applies each
statement to a throwaway database and reads the catalog). The text is needed for three
things only, and this module gives exactly those:

* splitting a file into statements the way psql does (quotes, dollar quotes, nested
  comments, parentheses and `BEGIN ATOMIC` bodies respected), so each statement can be
  applied alone and every catalog change traced to its line;
* the tokens of a constraint clause, because the catalog loses what was written (an
  omitted `ON DELETE` is stored as NO ACTION, exactly like an explicit one);
* `-- lint: allow <rule-id>: <reason>` comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_IDENT_START = re.compile(r"[A-Za-z_\u0080-\U0010ffff]")
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_$\u0080-\U0010ffff]*")
_NUMBER = re.compile(r"(?:0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_OPERATOR_CHARS = set("+-*/<>=~!@#%^&|`?")
_ACK = re.compile(r"^--\s*lint\s*:\s*allow\s+(?P<rule>[a-z0-9][a-z0-9-]*)\s*:\s*(?P<reason>\S.*?)\s*$")
_ACK_PREFIX = re.compile(r"^--\s*lint\s*:", re.IGNORECASE)


class SqlSyntaxError(ValueError):
    """Text the lexer cannot end (an unterminated quote or comment)."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Token:
    kind: str  # word | qident | string | dollar | number | op | punct | param | comment
    text: str  # as written
    start: int  # character offset in the file
    line: int  # 1-based

    @property
    def value(self) -> str:
        """Keywords and unquoted identifiers folded to lower case; quoted identifiers unquoted."""
        if self.kind == "word":
            return self.text.lower()
        if self.kind == "qident":
            body = self.text[self.text.index('"') + 1:-1]
            return body.replace('""', '"')
        return self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokenize(text: str) -> list[Token]:
    """PostgreSQL's lexical structure, enough to find statement and clause boundaries."""
    tokens: list[Token] = []
    i, n, line = 0, len(text), 1

    def emit(kind: str, end: int) -> None:
        nonlocal i, line
        tokens.append(Token(kind, text[i:end], i, line))
        line += text.count("\n", i, end)
        i = end

    while i < n:
        c = text[i]
        if c in " \t\r\n\f":
            if c == "\n":
                line += 1
            i += 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            emit("comment", n if end < 0 else end)
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while depth and j < n:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise SqlSyntaxError("unterminated /* comment", line)
            emit("comment", j)
            continue
        # String constants, with their optional prefixes (E'', B'', X'', N'', U&'').
        prefix = re.match(r"(?:[eEbBxXnN]|[uU]&)'", text[i:i + 3])
        if c == "'" or prefix:
            start_quote = i + (len(prefix.group(0)) - 1 if prefix else 0)
            backslashes = bool(prefix) and prefix.group(0)[0] in "eE"
            j = start_quote + 1
            while True:
                if j >= n:
                    raise SqlSyntaxError("unterminated quoted string", line)
                if backslashes and text[j] == "\\":
                    j += 2
                    continue
                if text[j] == "'":
                    if text.startswith("''", j):
                        j += 2
                        continue
                    j += 1
                    break
                j += 1
            emit("string", j)
            continue
        if c == '"' or (text.startswith(('U&"', 'u&"'), i)):
            j = text.index('"', i) + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise SqlSyntaxError("unterminated quoted identifier", line)
                if text.startswith('""', k):
                    j = k + 2
                    continue
                j = k + 1
                break
            emit("qident", j)
            continue
        if c == "$":
            tag = _DOLLAR_TAG.match(text, i)
            if tag:
                end = text.find(tag.group(0), tag.end())
                if end < 0:
                    raise SqlSyntaxError(f"unterminated dollar-quoted string {tag.group(0)}", line)
                emit("dollar", end + len(tag.group(0)))
                continue
            param = re.compile(r"\$\d+").match(text, i)
            if param:
                emit("param", param.end())
                continue
        if _IDENT_START.match(c):
            emit("word", _IDENT_CHARS.match(text, i + 1).end())
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            emit("number", _NUMBER.match(text, i).end())
            continue
        if c in "(),;[]":
            emit("punct", i + 1)
            continue
        if c == ":" and text.startswith("::", i):
            emit("op", i + 2)
            continue
        if c in ".:":
            emit("punct", i + 1)
            continue
        if c in _OPERATOR_CHARS:
            j = i + 1
            while j < n and text[j] in _OPERATOR_CHARS and not text.startswith(("--", "/*"), j):
                j += 1
            emit("op", j)
            continue
        emit("op", i + 1)  # anything else: one character, never a boundary
    return tokens


@dataclass(frozen=True)
class Statement:
    """One statement of a file: its text (from its first token to its semicolon) and tokens."""

    path: Path
    index: int  # 0-based within the file
    start: int  # character offset of the first token
    end: int  # offset after the terminating semicolon (or the last token)
    line: int  # line of the first token
    text: str
    tokens: tuple[Token, ...] = field(repr=False)  # without comments

    @property
    def end_line(self) -> int:
        return self.tokens[-1].line if self.tokens else self.line

    def words(self, count: int) -> list[str]:
        return [t.value for t in self.tokens[:count] if t.kind in ("word", "qident")]


def split_statements(path: Path, text: str) -> list[Statement]:
    """Statements as psql sends them: a semicolon ends one outside parentheses and outside
    the body of a `BEGIN ATOMIC` function."""
    statements: list[Statement] = []
    current: list[Token] = []
    depth = 0
    atomic_depth = 0

    def finish(end: int) -> None:
        if current:
            first = current[0]
            statements.append(Statement(path, len(statements), first.start, end, first.line,
                                        text[first.start:end], tuple(current)))
        current.clear()

    for tok in tokenize(text):
        if tok.kind == "comment":
            continue
        current.append(tok)
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
        elif tok.kind == "punct" and tok.text == ")":
            depth = max(0, depth - 1)
        elif tok.kind == "word" and _in_routine_definition(current):
            word = tok.text.lower()
            if word == "atomic" and len(current) > 1 and current[-2].is_word("begin"):
                atomic_depth += 1
            elif atomic_depth and word == "case":
                atomic_depth += 1
            elif atomic_depth and word == "end":
                atomic_depth -= 1
        elif tok.kind == "punct" and tok.text == ";" and depth == 0 and atomic_depth == 0:
            finish(tok.start + 1)
    if current:
        finish(current[-1].start + len(current[-1].text))
    return statements


def _in_routine_definition(tokens: list[Token]) -> bool:
    words = [t.text.lower() for t in tokens[:4] if t.kind == "word"]
    return bool(words) and words[0] == "create" and ("function" in words or "procedure" in words)


# -- acknowledgments ----------------------------------------------------------------------

@dataclass(frozen=True)
class Acknowledgment:
    path: Path
    line: int
    rule: str
    reason: str


@dataclass(frozen=True)
class MalformedAcknowledgment:
    path: Path
    line: int
    text: str


def acknowledgments(path: Path, text: str) -> tuple[list[Acknowledgment], list[MalformedAcknowledgment]]:
    """`-- lint: allow <rule-id>: <reason>` comments (real comments only, never text in a
    string), and the `-- lint:` comments that do not have that shape."""
    good: list[Acknowledgment] = []
    bad: list[MalformedAcknowledgment] = []
    for tok in tokenize(text):
        if tok.kind != "comment" or not _ACK_PREFIX.match(tok.text):
            continue
        m = _ACK.match(tok.text)
        if m:
            good.append(Acknowledgment(path, tok.line, m["rule"], m["reason"]))
        else:
            bad.append(MalformedAcknowledgment(path, tok.line, tok.text.strip()))
    return good, bad


def comment_only_lines(text: str) -> set[int]:
    """Lines holding nothing but a comment (what may stand between an acknowledgment and
    the line it acknowledges)."""
    code_lines: set[int] = set()
    comment_lines: set[int] = set()
    for tok in tokenize(text):
        target = comment_lines if tok.kind == "comment" else code_lines
        target.update(range(tok.line, tok.line + tok.text.count("\n") + 1))
    return comment_lines - code_lines
