"""A token cursor for the hand-written statement shell, and script-position errors.

Contract:
- :class:`Cursor` walks the Flink-dialect tokens of one statement's text; every token keeps
  its character offsets, so any span of tokens maps back to the exact source text (which is
  what expressions and types are re-parsed from).
- :meth:`Cursor.error` / :func:`error_at` raise :class:`SqlParseError` with the 1-based line
  and column *in the script*: positions inside the statement are offset by the statement's
  own ``line``/``col`` (a statement's first line starts at column ``col`` of the script).
- :func:`translate_sqlglot_error` turns a sqlglot ``ParseError``/``TokenError`` raised while
  parsing a substring (at offset ``base`` of the statement) into a ``SqlParseError``.

Why hand-written: sqlglot's CREATE support does not model Flink DDL (metadata columns,
``WATERMARK FOR``, ``LIKE`` options, statement sets), so the statement shell is parsed here
from sqlglot's own tokens, and every embedded expression, type and query is handed to sqlglot.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import NoReturn

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

import flowsql.sql.dialect  # noqa: F401  (registers the "flink" dialect)
from flowsql.errors import SqlParseError

FLINK = Dialect.get_or_raise("flink")


@dataclass(frozen=True)
class Origin:
    """Where a statement's text sits in the script."""

    text: str
    line: int = 1
    col: int = 1

    def position(self, offset: int) -> tuple[int, int, str]:
        """Script (line, col, statement source line) of a character offset in ``text``."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        line_start = self.text.rfind("\n", 0, offset) + 1
        col = offset - line_start + 1
        line_end = self.text.find("\n", offset)
        source = self.text[line_start : (len(self.text) if line_end < 0 else line_end)]
        if line == 1:
            col += self.col - 1
            source = " " * (self.col - 1) + source
        return line + self.line - 1, col, source

    def error(self, message: str, offset: int, hint: str | None = None) -> SqlParseError:
        line, col, source = self.position(offset)
        return SqlParseError(message, line=line, col=col, source_line=source, hint=hint)


def _unterminated(text: str) -> int | None:
    """Offset of an unterminated quote or block comment in ``text``, if any."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'`\"":
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                return i
            i = j + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return i
            i = end + 2
        else:
            i += 1
    return None


def tokenize(origin: Origin, text: str | None = None, base: int = 0) -> list[Token]:
    """Flink tokens of ``text`` (default: the whole statement); errors become SqlParseError."""
    text = origin.text if text is None else text
    try:
        return FLINK.tokenize(text)
    except TokenError as e:
        where = _unterminated(text)
        if where is not None:
            what = {"'": "string literal", "`": "quoted identifier", '"': "quoted identifier"}
            kind = what.get(text[where], "block comment")
            raise origin.error(f"unterminated {kind}", base + where) from None
        raise origin.error(f"cannot read the statement: {e}", base) from None


def translate_sqlglot_error(origin: Origin, err: ParseError, text: str, base: int) -> SqlParseError:
    """A sqlglot ParseError on ``text`` (which starts at offset ``base`` of the statement)."""
    info = err.errors[0] if err.errors else {}
    message = str(info.get("description") or err).split("\n")[0]
    line, col = info.get("line"), info.get("col")
    if not line or not col:
        return origin.error(message, base)
    starts = [0]
    for k, ch in enumerate(text):
        if ch == "\n":
            starts.append(k + 1)
    end = starts[min(line, len(starts)) - 1] + col - 1  # sqlglot points at the token's end
    highlight = info.get("highlight") or ""
    offset = end - len(highlight) + 1 if highlight and "\n" not in highlight else end
    if offset >= len(text) and text.strip():
        offset = len(text.rstrip())
    message = _clean(message)
    hint = None
    if message == "Invalid expression / Unexpected token" and highlight and "\n" not in highlight:
        message = f"unexpected '{highlight}'"
        hint = _misspelled_keyword(text[: max(offset, 0)])
    return origin.error(message, base + max(offset, 0), hint=hint)


_CLAUSE_KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "JOIN", "UNION",
    "WINDOW", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "DISTINCT", "BETWEEN", "LIKE",
    "INTERVAL", "GROUP", "ORDER",
)
_SQUEEZED = {k.replace(" ", ""): k for k in _CLAUSE_KEYWORDS}


def _misspelled_keyword(before: str) -> str | None:
    """'did you mean WHERE?' when the word before an unexpected token looks like a misspelled
    clause keyword (sqlglot reads ``FROM t WHER x`` as the alias ``WHER`` of ``t``)."""
    m = re.search(r"([A-Za-z_]+)\s*$", before)
    if not m or m.group(1).upper() in _SQUEEZED.values():
        return None
    close = difflib.get_close_matches(m.group(1).upper(), list(_SQUEEZED), n=1, cutoff=0.75)
    return f"did you mean {_SQUEEZED[close[0]]} instead of '{m.group(1)}'?" if close else None


def _clean(message: str) -> str:
    """sqlglot messages embed a repr of the token or a class; keep the human part."""
    if message.startswith("Required keyword") and "missing for" in message:
        func = _function_class(message)
        if func is not None:
            return f"missing argument of {func.sql_names()[0]}()"
        return "incomplete expression or clause"
    m = _TOO_MANY_ARGS.match(message)
    if m:
        return f"too many arguments: {m.group(1)} given, at most {m.group(2)} accepted"
    if "<Token " in message:
        head, _, rest = message.partition("<Token ")
        text = rest.split("text: ", 1)[-1].split(", line:", 1)[0]
        message = f"{head}'{text}'"
    return message.rstrip(".")


_TOO_MANY_ARGS = re.compile(
    r"The number of provided arguments \((\d+)\) is greater than the maximum number of "
    r"supported arguments \((\d+)\)"
)


def _function_class(message: str) -> type[exp.Func] | None:
    """The sqlglot function class named in a "Required keyword ... missing for <class ...>"."""
    name = message.rsplit("missing for", 1)[-1].strip(" <>'").rsplit(".", 1)[-1].rstrip("'>")
    cls = getattr(exp, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, exp.Func) else None


class Cursor:
    """Tokens of one statement with the helpers the statement-shell parser needs."""

    def __init__(self, origin: Origin, tokens: list[Token] | None = None) -> None:
        self.origin = origin
        self.tokens = tokenize(origin) if tokens is None else tokens
        self.i = 0

    # --- looking ---------------------------------------------------------------------------
    def peek(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, k: int = 0) -> str:
        tok = self.peek(k)
        if tok is None or tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
            return ""
        return tok.text.upper()

    def _match_len(self, words: tuple[str, ...]) -> int | None:
        """Tokens covering ``words`` from here (sqlglot fuses e.g. ``PRIMARY KEY``), or None."""
        k = w = 0
        while w < len(words):
            parts = self.word(k).split()
            if not parts or tuple(words[w : w + len(parts)]) != tuple(parts):
                return None
            w += len(parts)
            k += 1
        return k

    def at(self, *words: str) -> bool:
        return self._match_len(words) is not None

    def at_end(self) -> bool:
        return self.i >= len(self.tokens)

    def offset(self) -> int:
        tok = self.peek()
        return tok.start if tok is not None else len(self.origin.text.rstrip())

    # --- consuming ---------------------------------------------------------------------------
    def accept(self, *words: str) -> bool:
        k = self._match_len(words)
        if k is None:
            return False
        self.i += k
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            self.fail(f"expected {' '.join(words)}")

    def accept_type(self, token_type: TokenType) -> Token | None:
        tok = self.peek()
        if tok is not None and tok.token_type == token_type:
            self.i += 1
            return tok
        return None

    def expect_type(self, token_type: TokenType, what: str) -> Token:
        tok = self.accept_type(token_type)
        if tok is None:
            self.fail(f"expected {what}")
        return tok  # type: ignore[return-value]

    def string(self, what: str = "a string literal") -> str:
        return self.expect_type(TokenType.STRING, what).text

    def identifier(self, what: str = "a name") -> str:
        tok = self.peek()
        if tok is None or tok.token_type in (
            TokenType.STRING, TokenType.NUMBER, TokenType.L_PAREN, TokenType.R_PAREN,
            TokenType.COMMA, TokenType.DOT, TokenType.EQ, TokenType.SEMICOLON,
        ):
            self.fail(f"expected {what}")
        self.i += 1
        return tok.text  # type: ignore[union-attr]

    def name(self, what: str = "a name") -> tuple[str, ...]:
        parts = [self.identifier(what)]
        while self.accept_type(TokenType.DOT):
            parts.append(self.identifier(what))
        if len(parts) > 3:
            self.fail(f"{what} has more than 3 parts", back=len(parts) * 2 - 1)
        return tuple(parts)

    def paren_names(self, what: str = "a column name") -> tuple[str, ...]:
        self.expect_type(TokenType.L_PAREN, "(")
        names = [self.identifier(what)]
        while self.accept_type(TokenType.COMMA):
            names.append(self.identifier(what))
        self.expect_type(TokenType.R_PAREN, ")")
        return tuple(names)

    def span(self, stop_words: tuple[str, ...] = (), angle: bool = False) -> tuple[int, int]:
        """Consume tokens up to a depth-0 ``,`` / unmatched ``)`` / stop word / end; return the
        character span ``[start, end)``. ``angle`` also nests ``<``/``>`` (type text)."""
        start_i = self.i
        depth = 0
        opens = {TokenType.L_PAREN, TokenType.L_BRACKET} | ({TokenType.LT} if angle else set())
        closes = {TokenType.R_PAREN, TokenType.R_BRACKET} | ({TokenType.GT} if angle else set())
        while (tok := self.peek()) is not None:
            if depth == 0 and (
                tok.token_type in (TokenType.COMMA, TokenType.R_PAREN)
                or (self.word().split()[:1] and self.word().split()[0] in stop_words)
            ):
                break
            if tok.token_type in opens:
                depth += 1
            elif tok.token_type in closes:
                depth -= 1
            self.i += 1
        if self.i == start_i:
            self.fail("expected an expression")
        return self.tokens[start_i].start, self.tokens[self.i - 1].end + 1

    def rest(self) -> tuple[int, int]:
        """Span of all remaining tokens (consumed)."""
        if self.at_end():
            self.fail("unexpected end of statement")
        start = self.tokens[self.i].start
        end = self.tokens[-1].end + 1
        self.i = len(self.tokens)
        return start, end

    def fail(self, message: str, back: int = 0, hint: str | None = None) -> NoReturn:
        tok = self.peek(-back) if back else self.peek()
        if tok is None:
            offset = len(self.origin.text.rstrip())
            found = "end of statement"
        else:
            offset = tok.start
            found = f"'{self.origin.text[tok.start : tok.end + 1]}'"
        raise self.origin.error(f"{message}, found {found}", offset, hint=hint)
