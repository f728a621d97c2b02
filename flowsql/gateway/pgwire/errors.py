"""FlowSQL errors as Postgres ErrorResponse fields (severity, SQLSTATE, message, hint, position).

Contract: :func:`error_fields` maps any exception to the fields of one ErrorResponse —
never a Python traceback on the wire:
- ``SqlParseError`` → 42601 with ``P`` (1-based character position in the statement text,
  computed from FlowSQL's line and column);
- unknown table (a ``CatalogError`` saying "not found") → 42P01; unknown column → 42703;
- ``NotSupportedError`` → 0A000; a refused privilege (:class:`Refused`) → 42501;
- ``QueryCancelled`` → 57014; any other ``FlowSQLError`` → 42000 (a user error); anything else
  → XX000 "internal error" naming only the exception type.
``M`` is FlowSQL's message (the parse error's title line), ``H`` its hint, ``D`` the caret
lines of a parse error.
"""

from __future__ import annotations

from flowsql.errors import (
    CatalogError,
    FlowSQLError,
    NotSupportedError,
    QueryCancelled,
    SqlParseError,
)


class Refused(FlowSQLError):
    """A statement this protocol refuses to run (file access, extensions, COPY)."""

    title = "Permission denied"


def _position(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    return sum(len(ln) + 1 for ln in lines[: max(line - 1, 0)]) + max(col, 1)


def error_fields(exc: BaseException, statement: str | None = None,
                 code: str | None = None) -> dict[str, str]:
    fields = {"S": "ERROR", "V": "ERROR"}
    if isinstance(exc, SqlParseError):
        fields["C"] = code or "42601"
        fields["M"] = f"{exc.title} at line {exc.line}, column {exc.col}: {exc.message}"
        if statement is not None:
            fields["P"] = str(_position(statement, exc.line, exc.col))
    elif isinstance(exc, FlowSQLError):
        fields["C"] = code or _code(exc)
        fields["M"] = exc.render().split("\nHint: ")[0]
    elif type(exc).__module__.startswith(("duckdb", "_duckdb")):
        # the catalog mirror's own errors: DuckDB's message, Postgres' code
        fields["C"] = code or _DUCKDB_CODES.get(type(exc).__name__, "XX000")
        fields["M"] = str(exc).split("\n")[0]
    else:
        fields["C"] = code or "XX000"
        fields["M"] = f"internal error: {type(exc).__name__}"
    hint = getattr(exc, "hint", None)
    if hint:
        fields["H"] = hint
    return fields


_DUCKDB_CODES = {"CatalogException": "42P01", "BinderException": "42703",
                 "ParserException": "42601", "PermissionException": "42501",
                 "InterruptException": "57014", "ConversionException": "22P02",
                 "NotImplementedException": "0A000"}


def _code(exc: FlowSQLError) -> str:
    text = exc.message.lower()
    if isinstance(exc, QueryCancelled) or "is canceled" in text or "cancelled" in text:
        return "57014"
    if isinstance(exc, Refused):
        return "42501"
    if isinstance(exc, NotSupportedError):
        return "0A000"
    if isinstance(exc, CatalogError) and "not found" in text:
        return "42P01"
    if "column" in text and "not found" in text:
        return "42703"
    return "42000"
