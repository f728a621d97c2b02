"""Java date patterns (Flink's DATE_FORMAT, TO_TIMESTAMP, UNIX_TIMESTAMP, FROM_UNIXTIME) for
both engines: one reading of the pattern, rendered for DuckDB (batch) and Arrow (streaming).

Contract:
- :func:`parse_pattern` reads a pattern the way ``java.time.DateTimeFormatter`` does (what
  Flink's DATE_FORMAT uses): runs of one letter are fields, ``'…'`` is literal text (``''``
  is a quote, inside or outside a literal), any other character is literal. It returns a
  :class:`DatePattern`, a tuple of literal strings and :class:`Field`\\ s, or raises
  ``NotSupportedError`` naming the letters and listing the supported ones.
- Supported fields: ``y yy yyy yyyy u uu uuuu`` (year; two letters: two digits), ``M MM MMM
  MMMM`` and ``L…`` (month: number, padded, short and full name), ``d dd``, ``D DD DDD`` (day
  of year), ``H HH``, ``h hh`` (clock hour 1-12), ``m mm``, ``s ss``, ``S…`` (1-9 fraction
  digits, truncated), ``a`` (AM/PM), ``E EE EEE EEEE`` (day name) and ``ww`` (ISO week:
  Java's locale week can differ around New Year). A single
  letter is unpadded (``M`` prints 1, ``MM`` 01). Time-zone letters are refused: DATE_FORMAT
  prints a wall-clock time (a TIMESTAMP_LTZ in the session time zone), which has no offset.
- :meth:`DatePattern.segments` ``(engine)`` splits the pattern for formatting into pieces the
  engine computes: :class:`Strftime` (one ``strftime`` call for a run of fields and literals
  that the engine's ``strftime`` prints exactly) and :class:`Component` (an unpadded number
  or a fraction that it does not: the caller extracts the part and prints it). DuckDB's
  ``strftime`` has unpadded codes (``%-m``) and 3/6/9-digit fractions; Arrow's has neither.
- :meth:`DatePattern.strptime` is the ``strptime`` format for parsing, the same for both
  engines (their ``%m``, ``%d``, ``%H``… accept one or two digits, so unpadded fields parse
  with the padded codes). ``fraction_digits`` says whether the pattern parses a fraction
  (``%g`` milliseconds in DuckDB; Arrow's ``strptime`` has no fraction code, so the streaming
  engine refuses such a pattern for parsing).

Written by hand: the mapping is a small table, and no library converts Java patterns to
strftime for DuckDB or Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowsql.errors import NotSupportedError

SUPPORTED = "y yy yyyy u M MM MMM MMMM d dd D DDD H HH h hh m mm s ss S… a E EEEE ww"
_ZONE_LETTERS = frozenset("ZXxzOVv")


@dataclass(frozen=True)
class Field:
    """One pattern field: ``kind`` (year, year2, month, month_abbr, month_name, day,
    day_of_year, hour, hour12, minute, second, fraction, ampm, day_abbr, day_name, week), ``width`` (digits it is padded to; 0 = unpadded) and ``letters`` (as written)."""

    kind: str
    width: int
    letters: str


@dataclass(frozen=True)
class Strftime:
    """A run of the pattern that one ``strftime`` call with ``format`` prints."""

    format: str


@dataclass(frozen=True)
class Component:
    """A field the engine's ``strftime`` does not print: ``kind`` is ``month``, ``day``,
    ``day_of_year``, ``hour``, ``hour12``, ``minute`` or ``second`` (an unpadded number), or
    ``fraction`` (``digits`` digits of the second's fraction, truncated)."""

    kind: str
    digits: int = 0


# (padded strftime code, unpadded one) per numeric field kind
_NUMERIC = {
    "month": ("%m", "%-m"), "day": ("%d", "%-d"), "day_of_year": ("%j", "%-j"),
    "hour": ("%H", "%-H"), "hour12": ("%I", "%-I"), "minute": ("%M", "%-M"),
    "second": ("%S", "%-S"),
}
_TEXT = {"year": "%Y", "year2": "%y", "month_abbr": "%b", "month_name": "%B", "ampm": "%p",
         "day_abbr": "%a", "day_name": "%A", "week": "%V"}


def _field(letter: str, count: int, pattern: str) -> Field:
    run = letter * count
    kind: str | None = None
    width = 0
    if letter in "yu":
        kind = "year2" if count == 2 else "year"
    elif letter in "ML":
        kind, width = {1: ("month", 0), 2: ("month", 2), 3: ("month_abbr", 0),
                       4: ("month_name", 0)}.get(count, (None, 0))
    elif letter in "dHhms" and count <= 2:
        kind = {"d": "day", "H": "hour", "h": "hour12", "m": "minute", "s": "second"}[letter]
        width = 2 if count == 2 else 0
    elif letter == "D" and count <= 3:
        kind, width = "day_of_year", (0 if count == 1 else 3)
        if count == 2:
            kind = None  # 'DD' pads to two digits of a three-digit number: rarely meant
    elif letter == "S" and count <= 9:
        kind, width = "fraction", count
    elif letter == "a" and count == 1:
        kind = "ampm"
    elif letter == "E" and count <= 4:
        kind = "day_name" if count == 4 else "day_abbr"
    elif letter == "w" and count == 2:
        kind, width = "week", 2
    if kind is None:
        if letter in _ZONE_LETTERS:
            raise NotSupportedError(
                f"time-zone letter(s) '{run}' in the date pattern '{pattern}'",
                hint="DATE_FORMAT prints a wall-clock time (TIMESTAMP_LTZ values in the session "
                     "time zone, 'table.local-time-zone'), which has no offset; "
                     f"supported letters: {SUPPORTED}")
        raise NotSupportedError(f"date pattern letter(s) '{run}' in '{pattern}'",
                                hint=f"supported letters: {SUPPORTED}")
    return Field(kind, width, run)


@dataclass(frozen=True)
class DatePattern:
    pattern: str
    parts: tuple[str | Field, ...]

    @property
    def fraction_digits(self) -> int:
        """Digits of the fraction the pattern shows (0 when none)."""
        return max((p.width for p in self.parts if isinstance(p, Field) and p.kind == "fraction"),
                   default=0)

    def segments(self, engine: str) -> list[Strftime | Component]:
        """The pieces that print this pattern on ``engine`` (``duckdb`` or ``arrow``)."""
        out: list[Strftime | Component] = []
        text: list[str] = []

        def flush() -> None:
            if text:
                out.append(Strftime("".join(text)))
                text.clear()

        for part in self.parts:
            if isinstance(part, str):
                text.append(part.replace("%", "%%"))
            elif part.kind == "fraction":
                if engine == "duckdb" and part.width in (3, 6, 9):
                    text.append({3: "%g", 6: "%f", 9: "%n"}[part.width])
                else:
                    flush()
                    out.append(Component("fraction", part.width))
            elif part.kind in _NUMERIC:
                padded, unpadded = _NUMERIC[part.kind]
                if part.width:
                    text.append(padded)
                elif engine == "duckdb":
                    text.append(unpadded)
                else:
                    flush()
                    out.append(Component(part.kind))
            else:
                text.append(_TEXT[part.kind])
        flush()
        return out

    def strptime(self) -> str:
        """The ``strptime`` format that parses this pattern (both engines)."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part.replace("%", "%%"))
            elif part.kind == "fraction":
                out.append("%g")
            elif part.kind in _NUMERIC:
                out.append(_NUMERIC[part.kind][0])
            else:
                out.append(_TEXT[part.kind])
        return "".join(out)


def parse_pattern(pattern: str) -> DatePattern:
    """Read a Java date pattern (see the module contract)."""
    parts: list[str | Field] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            if pattern.startswith("''", i):
                literal.append("'")
                i += 2
                continue
            i += 1
            while i < n:
                if pattern.startswith("''", i):
                    literal.append("'")
                    i += 2
                elif pattern[i] == "'":
                    i += 1
                    break
                else:
                    literal.append(pattern[i])
                    i += 1
            continue
        if ch.isascii() and ch.isalpha():
            j = i
            while j < n and pattern[j] == ch:
                j += 1
            if literal:
                parts.append("".join(literal))
                literal.clear()
            parts.append(_field(ch, j - i, pattern))
            i = j
            continue
        literal.append(ch)
        i += 1
    if literal:
        parts.append("".join(literal))
    return DatePattern(pattern, tuple(parts))
