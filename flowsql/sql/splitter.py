"""Cut a SQL script into statements.

Contract: :func:`split` returns one :class:`ScriptStatement` per statement, in order:

- statements end at ``;`` outside ``'...'`` strings (``''`` escapes), ``\\`...\\``` and ``"..."``
  identifiers, ``--`` line comments and ``/* */`` block comments;
- ``EXECUTE STATEMENT SET BEGIN ... END;`` (and ``BEGIN STATEMENT SET; ... END;``, and
  ``EXPLAIN [EXECUTE] STATEMENT SET BEGIN ... END;``) is one statement: the ``;`` inside the
  block do not split it;
- each piece is stripped of surrounding whitespace and of leading comments; pieces that are
  empty or only comments are dropped; ``line``/``col`` are the 1-based script position of the piece's first character;
- an unterminated string, identifier or block comment simply runs to the end of the script
  (the parser then reports it with a position).

Hand-written (one linear scan) rather than using sqlglot's tokenizer because the tokenizer
raises on unterminated quotes and drops comments, and we need exact character offsets of
every piece, comment-only pieces included.
"""

from __future__ import annotations

import re

from flowsql.sql.statements import ScriptStatement

_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_BEGIN_SET = (("EXECUTE", "STATEMENT", "SET", "BEGIN"), ("BEGIN", "STATEMENT", "SET"),
              ("EXPLAIN", "STATEMENT", "SET", "BEGIN"),
              ("EXPLAIN", "EXECUTE", "STATEMENT", "SET", "BEGIN"))


def _skip_quoted(text: str, i: int, quote: str) -> int:
    """Index just past the quoted run starting at ``text[i] == quote`` (doubled = escape)."""
    n = len(text)
    j = i + 1
    while j < n:
        if text[j] == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _skip_comment(text: str, i: int) -> int:
    """Index past a comment starting at ``i``, or ``i`` if there is none."""
    if text.startswith("--", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    return i


def _skip_blank(text: str, i: int, end: int) -> int:
    """First offset in ``[i, end)`` that is neither whitespace nor inside a comment."""
    while i < end:
        if text[i].isspace():
            i += 1
            continue
        j = _skip_comment(text, i)
        if j == i:
            return i
        i = j
    return end


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def split(text: str) -> list[ScriptStatement]:
    """Split ``text`` into statements (see module contract)."""
    pieces: list[tuple[int, int]] = []
    words: list[str] = []  # upper-cased words of the current statement, up to the block opener
    in_block = False
    case_depth = 0  # open CASE ... END inside a statement-set block
    start = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'`\"":
            i = _skip_quoted(text, i, ch)
            continue
        j = _skip_comment(text, i)
        if j != i:
            i = j
            continue
        if ch == ";":
            if in_block:
                i += 1
                continue
            pieces.append((start, i))
            start = i + 1
            words = []
            i += 1
            continue
        m = _WORD.match(text, i) if (ch.isalpha() or ch == "_") else None
        if m:
            word = m.group(0).upper()
            if in_block:
                if word == "CASE":
                    case_depth += 1
                elif word == "END" and case_depth:
                    case_depth -= 1
                elif word == "END" and _ends_block(text, m.end()):
                    in_block = False
            elif len(words) < 5:
                words.append(word)
                if tuple(words) in _BEGIN_SET:
                    in_block = True
            i = m.end()
            continue
        i += 1
    pieces.append((start, n))
    out: list[ScriptStatement] = []
    for a, b in pieces:
        first = _skip_blank(text, a, b)
        if first >= b:
            continue
        stripped = text[first:b].rstrip()
        line, col = _position(text, first)
        out.append(ScriptStatement(text=stripped, line=line, col=col))
    return out


def _ends_block(text: str, i: int) -> bool:
    """``END`` closes a statement-set block when only whitespace/comments precede ``;`` or EOF."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = _skip_comment(text, i)
        if j != i:
            i = j
            continue
        return text[i] == ";"
    return True
