"""Bind parameters (``$1``, ``$2``, …) substituted into the statement text as typed literals.

Contract:
- :func:`placeholders` finds the ``$n`` markers outside string literals, quoted
  identifiers and comments; :func:`param_count` is the highest ``n``.
- :func:`substitute` replaces each marker by the literal of its value: NULL, TRUE/FALSE,
  integers, ``CAST('…' AS DOUBLE)``, ``CAST('…' AS DECIMAL(p, s))``, ``DATE '…'``,
  ``TIMESTAMP '…'`` and strings quoted with doubled single quotes (FlowSQL, Flink and DuckDB
  read backslashes literally, so a value can never end its literal: no injection). A string
  parameter whose type the client left open (text, varchar or unknown) that sits in a
  comparison with a column of another type is given that column's type by ``cast_for``
  (``CAST('42' AS BIGINT)``), as Postgres infers an unknown literal's type from its context.
- bytea parameters are refused (FlowSQL has no binary literal yet): a NotSupportedError.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable

from flowsql.errors import FlowSQLError, NotSupportedError, ValidationError

_TOKEN = re.compile(
    r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|`[^`]*`?|--[^\n]*|/\*.*?(?:\*/|$)|\$(\d+)",
    re.S,
)


def placeholders(sql: str) -> list[tuple[int, int, int]]:
    """(start, end, number) of every ``$n`` marker in code (not in literals or comments)."""
    return [(m.start(), m.end(), int(m.group(1))) for m in _TOKEN.finditer(sql) if m.group(1)]


def param_count(sql: str) -> int:
    return max((n for _, _, n in placeholders(sql)), default=0)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def literal(value: object, cast: str | None = None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST({quote(repr(value))} AS DOUBLE)"
    if isinstance(value, decimal.Decimal):
        _, digits, exp = value.as_tuple()
        scale = max(-exp, 0) if isinstance(exp, int) else 0
        precision = min(max(len(digits), scale + 1), 38)
        return f"CAST({quote(str(value))} AS DECIMAL({precision}, {scale}))"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP {quote(value.replace(tzinfo=None).isoformat(sep=' '))}"
    if isinstance(value, dt.date):
        return f"DATE {quote(value.isoformat())}"
    if isinstance(value, list):  # an array parameter (catalog queries: ``= any($1)``)
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bytes):
        raise NotSupportedError("bytea parameters",
                                hint="pass the value as text, or inline it in the statement")
    text = quote(str(value))
    return f"CAST({text} AS {cast})" if cast else text


def substitute(sql: str, values: list[object],
               cast_for: Callable[[int], str | None] | None = None) -> str:
    out: list[str] = []
    pos = 0
    for start, end, n in placeholders(sql):
        if n < 1 or n > len(values):
            raise ValidationError(f"there is no parameter ${n}: {len(values)} were bound")
        value = values[n - 1]
        cast = cast_for(n) if (cast_for is not None and isinstance(value, str)) else None
        out.append(sql[pos:start])
        out.append(literal(value, cast))
        pos = end
    out.append(sql[pos:])
    return "".join(out)


_CMP = r"(?:=|<>|!=|<=|>=|<|>)"


def compared_columns(sql: str) -> dict[int, str]:
    """``{n: column}`` for markers in a comparison with a (possibly qualified) column:
    ``col = $1``, ``t.col >= $2``, ``$3 <> col``."""
    found: dict[int, str] = {}
    for m in re.finditer(rf"([A-Za-z_][\w]*)[`\"]?\s*{_CMP}\s*\$(\d+)", sql):
        found.setdefault(int(m.group(2)), m.group(1))
    for m in re.finditer(rf"\$(\d+)\s*{_CMP}\s*(?:[A-Za-z_]\w*\.)?[`\"]?([A-Za-z_]\w*)", sql):
        found.setdefault(int(m.group(1)), m.group(2))
    return found


_OPEN_TYPES = (0, 25, 1043, 705)  # unspecified, text, varchar, unknown


def column_casts(sql: str, oids: list[int], catalog) -> dict[int, str]:
    """``{n: Flink type}`` for parameters of an open type compared with a non-string column
    of a table in the current database (for ``substitute``'s ``cast_for``)."""
    types: dict[str, str] = {}
    try:
        for name, kind in catalog.list_objects():
            obj = catalog.find(name) if kind == "table" else None
            for c in getattr(obj, "columns", ()) or ():
                if c.data_type:
                    types.setdefault(c.name.lower(), c.data_type)
    except FlowSQLError:
        return {}
    out = {}
    for n, column in compared_columns(sql).items():
        ftype = types.get(column.lower())
        if n - 1 < len(oids) and oids[n - 1] not in _OPEN_TYPES:
            continue
        if ftype and not ftype.upper().startswith(("STRING", "VARCHAR", "CHAR")):
            out[n] = ftype.upper().replace(" NOT NULL", "")
    return out
