"""Where statements end in text typed at the shell: the REPL's "is the input complete?" check.

Contract:
- :func:`scan` cuts text into :class:`Piece` s on ``;`` outside quotes (``'…'``, ``"…"``,
  backquotes, each with its doubled-quote escape), comments (``--`` to end of line and
  ``/* … */``) and statement-set blocks: a statement opening with ``EXECUTE STATEMENT SET
  BEGIN`` or ``BEGIN STATEMENT SET`` runs to the ``END`` that is followed by ``;`` (the same
  rule as the session's splitter), so the whole block is one piece. Pieces holding only whitespace and comments are dropped.
  Each piece starts at its first significant character and carries that character's 1-based
  line/column in the text; ``terminated`` says whether a ``;`` closed it.
- :func:`is_complete` is what the REPL asks after every Enter: true when the input holds at
  least one piece and every piece is terminated, or when the input is a bare shell command
  (``quit``, ``help`` …) without ``;``.

Why hand-written: the session's splitter (``flowsql.sql.statements.split_script``) answers
"where are the statements of a finished script"; the shell also needs "is this unfinished
input still inside a quote, a comment or a BEGIN block", which a splitter does not report.
The runner still hands every piece to ``split_script`` so the session's splitter stays the
authority on what a statement is; this module only decides when to stop reading lines.
The scan is a single pass over the typed characters (shell input, not a data path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowsql.shell.commands import parse_command

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_BLOCK_OPENERS = (("EXECUTE", "STATEMENT", "SET", "BEGIN"), ("BEGIN", "STATEMENT", "SET"))
_AFTER_END = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*;", re.DOTALL)
_QUOTES = {"'": "'", '"': '"', "`": "`"}


@dataclass(frozen=True)
class Piece:
    """One statement (or shell command) cut from the input, without its closing ``;``."""

    text: str
    line: int
    col: int
    terminated: bool


@dataclass(frozen=True)
class ScanResult:
    pieces: tuple[Piece, ...]
    open_construct: str | None  # "quote", "comment" or "block" when the text ends inside one

    @property
    def complete(self) -> bool:
        return (
            bool(self.pieces)
            and self.open_construct is None
            and all(p.terminated for p in self.pieces)
        )


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def scan(text: str) -> ScanResult:
    """Cut ``text`` into pieces (see module contract)."""
    pieces: list[Piece] = []
    start: int | None = None  # index of the current piece's first significant character
    words: list[str] = []  # the current piece's first words, while a block opener may form
    in_block = False
    open_construct: str | None = None
    i, n = 0, len(text)

    def close(end: int, terminated: bool) -> None:
        nonlocal start
        if start is not None:
            line, col = _position(text, start)
            pieces.append(Piece(text[start:end].rstrip(), line, col, terminated))
        start = None
        words.clear()

    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                open_construct = "comment"
                break
            i = end + 2
            continue
        if ch == ";" and not in_block:
            close(i, terminated=True)
            i += 1
            continue
        if start is None:
            start = i
        if ch in _QUOTES:
            quote = _QUOTES[ch]
            j = i + 1
            while True:
                j = text.find(quote, j)
                if j < 0:
                    break
                if text.startswith(quote * 2, j):  # doubled quote: an escaped quote
                    j += 2
                    continue
                break
            if j < 0:
                open_construct = "quote"
                break
            i = j + 1
            continue
        match = _WORD.match(text, i)
        if match:
            word = match.group().upper()
            if in_block:
                if word == "END" and _AFTER_END.match(text, match.end()):
                    in_block = False
            elif len(words) < 4:
                words.append(word)
                in_block = tuple(words) in _BLOCK_OPENERS
            i = match.end()
            continue
        i += 1

    if open_construct is None and in_block:
        open_construct = "block"
    close(n, terminated=False)
    return ScanResult(tuple(pieces), open_construct)


def is_complete(text: str) -> bool:
    """Should the REPL run ``text`` now (true) or ask for another line (false)?"""
    result = scan(text)
    if result.complete:
        return True
    return (
        len(result.pieces) == 1
        and result.open_construct is None
        and parse_command(result.pieces[0].text) is not None
    )
