"""DuckDB exceptions → FlowSQL errors, so raw DuckDB text never reaches the user alone.

Contract: :func:`translate` maps a ``duckdb.Error`` raised while binding or running a
transpiled query to a :class:`flowsql.errors.FlowSQLError`:
- interrupts → ``QueryCancelled``;
- unknown column → ``ValidationError("unknown column 'x'")`` with the available columns;
- no matching function / operator for the argument types → ``ValidationError`` "type mismatch";
- other binder errors → ``ValidationError``; permission errors (sandbox) → ``ValidationError``;
- conversion errors while running → ``ExecutionError``; everything else → ``ExecutionError``.
Internal names (``__t0_bids``, ``__scan_0``) are replaced by the user's table names, and
DuckDB type names (``INT64``, ``VARCHAR``, ``TIMESTAMP_MS``) by Flink's (``BIGINT``,
``STRING``, ``TIMESTAMP(3)``); ambiguous columns and incomparable types get their own
messages.
"""

from __future__ import annotations

import re

import duckdb

from flowsql.errors import ExecutionError, FlowSQLError, QueryCancelled, ValidationError

_COLUMN = [
    re.compile(r'Referenced column "([^"]+)" not found'),
    re.compile(r'does not have a column named "([^"]+)"'),
    re.compile(r'Referenced table "[^"]+" not found'),
    re.compile(r'Values list "[^"]+" does not have a column named "([^"]+)"'),
]
_FUNCTION = re.compile(r"argument types '([^']+)'|function call \"([^\"]+)\"")
_INTERNAL = re.compile(r"__(?:t|v)\d+_([A-Za-z0-9_]+)|__scan_\d+")
_SOURCE_COLUMN = re.compile(r" when casting from source column __c\d+")
_AMBIGUOUS = re.compile(r'Ambiguous reference to column name "([^"]+)" \(use: (.*)\)')
_CANDIDATE = re.compile(r'^\s+"?[A-Za-z_][A-Za-z0-9_]*"?\((.*)\) -> ')
_NOT_GROUPED = re.compile(r'column "([^"]+)" must appear in the GROUP BY clause')
_COMPARE = re.compile(r"Cannot compare values of type (.+?) and type (.+?) - ")
# DuckDB type names as Flink spells them (longest first, so TIMESTAMP_MS wins over TIMESTAMP).
_DUCK_TYPES = {
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP_LTZ(6)", "TIMESTAMP_MS": "TIMESTAMP(3)",
    "TIMESTAMP_S": "TIMESTAMP(0)", "STRING_LITERAL": "STRING", "INTEGER_LITERAL": "INT",
    "VARCHAR": "STRING", "INTEGER": "INT", "INT64": "BIGINT", "INT32": "INT",
    "INT16": "SMALLINT", "INT8": "TINYINT", "BOOL": "BOOLEAN", "BLOB": "BYTES",
}
_TYPE_NAMES = re.compile(
    r"\b(" + "|".join(re.escape(k) for k in sorted(_DUCK_TYPES, key=len, reverse=True)) + r")\b"
)


def flink_type_names(text: str) -> str:
    """``text`` with DuckDB type names replaced by their Flink spelling."""
    return _TYPE_NAMES.sub(lambda m: _DUCK_TYPES[m.group(1)], text)


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated items of ``text`` (commas inside parentheses do not split)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    return [*items, last] if last or items else items


def _arity_error(call: str, text: str) -> ValidationError | None:
    """A "wrong number of arguments" error when none of DuckDB's listed candidates takes as
    many arguments as ``call`` (``name(T1, T2)``) has; ``None`` when the count is fine."""
    name, _, args = call.partition("(")
    given = len(_split_args(args.rsplit(")", 1)[0]))
    counts: set[int] = set()
    for line in text.splitlines():
        m = _CANDIDATE.match(line)
        if not m:
            continue
        params = [p for p in _split_args(m.group(1)) if p != "/"]
        if any(p.startswith("*") for p in params):
            return None  # variadic
        counts.add(len(params))
    if not counts or given in counts:
        return None
    expected = " or ".join(str(c) for c in sorted(counts))
    function = name.strip('"').upper()
    return ValidationError(
        f"wrong number of arguments for {function}(): got {given}, expected {expected}"
    )


def _clean(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
    first = _SOURCE_COLUMN.sub("", first)
    return _INTERNAL.sub(lambda m: m.group(1) or "<scan>", first)


def translate(err: duckdb.Error, available: list[str] | None = None) -> FlowSQLError:
    """The FlowSQL error for a DuckDB error (see module contract)."""
    text = str(err)
    if isinstance(err, duckdb.InterruptException):
        return QueryCancelled("query cancelled")
    if isinstance(err, duckdb.BinderException):
        for pattern in _COLUMN:
            m = pattern.search(text)
            if m and m.groups():
                cols = ", ".join(sorted(set(c for c in (available or []) if not c.startswith("__"))))
                return ValidationError(
                    f"unknown column '{m.group(1)}'",
                    hint=f"available columns: {cols}" if cols else None,
                )
        m = _AMBIGUOUS.search(text)
        if m:
            options = " or ".join(o.strip("'").replace('"', "") for o in m.group(2).split(" or "))
            return ValidationError(
                f"ambiguous column '{m.group(1)}': more than one table has it",
                hint=f"qualify it with its table: {_INTERNAL.sub(lambda g: g.group(1), options)}",
            )
        m = _NOT_GROUPED.search(text)
        if m:
            return ValidationError(
                f"column '{m.group(1)}' must appear in the GROUP BY clause or be used in an "
                "aggregate function",
                hint=f"add {m.group(1)} to GROUP BY, or aggregate it, e.g. MAX({m.group(1)})",
            )
        m = _COMPARE.search(text)
        if m:
            left, right = flink_type_names(m.group(1)), flink_type_names(m.group(2))
            return ValidationError(
                f"type mismatch: cannot compare {left} with {right}",
                hint=f"cast one side to the other's type, e.g. CAST(x AS {left})",
            )
        m = _FUNCTION.search(text)
        if m:
            call = flink_type_names(m.group(1) or m.group(2))
            arity = _arity_error(call, text)
            if arity is not None:
                return arity
            return ValidationError(
                f"type mismatch: no function matches {call}",
                hint="cast the arguments to matching types, e.g. CAST(x AS INT)",
            )
        return ValidationError(_clean(text))
    if isinstance(err, duckdb.PermissionException):
        return ValidationError(
            f"access denied: {_clean(text)}",
            hint="batch queries may read only the paths of the tables they use",
        )
    if isinstance(err, duckdb.ConversionException):
        return ExecutionError(f"conversion failed: {flink_type_names(_clean(text))}")
    if isinstance(err, duckdb.CatalogException):
        return ValidationError(_clean(text))
    return ExecutionError(_clean(text))
