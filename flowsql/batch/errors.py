"""DuckDB exceptions → FlowSQL errors, so raw DuckDB text never reaches the user alone.

Contract: :func:`translate` maps a ``duckdb.Error`` raised while binding or running a
transpiled query to a :class:`flowsql.errors.FlowSQLError`:
- interrupts → ``QueryCancelled``;
- unknown column → ``ValidationError("unknown column 'x'")`` with the available columns;
- no matching function / operator for the argument types → ``ValidationError`` "type mismatch";
- other binder errors → ``ValidationError``; permission errors (sandbox) → ``ValidationError``;
- conversion errors while running → ``ExecutionError``; everything else → ``ExecutionError``.
Internal names (``__t0_bids``, ``__scan_0``) are replaced by the user's table names.
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


def _clean(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    first = re.sub(r"^[A-Za-z ]*Error: ", "", first)
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
        m = _FUNCTION.search(text)
        if m:
            call = (m.group(1) or m.group(2)).replace("STRING_LITERAL", "STRING").replace(
                "INTEGER_LITERAL", "INTEGER"
            )
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
        return ExecutionError(f"conversion failed: {_clean(text)}")
    if isinstance(err, duckdb.CatalogException):
        return ValidationError(_clean(text))
    return ExecutionError(_clean(text))
