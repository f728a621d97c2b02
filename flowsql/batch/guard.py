"""Reject SQL that could reach outside the catalog, before DuckDB ever sees it.

Contract: :func:`check_query` raises ``ValidationError`` when a query tree contains
- a statement that is not a query (ATTACH, COPY, INSTALL/LOAD, PRAGMA, SET, DDL, DML ...),
- a table function or file reference in FROM (``read_csv('/etc/passwd')``, ``'file.parquet'``),
- a file-reading function anywhere (``read_csv``, ``read_text``, ``glob`` ...).
Only catalog tables/views, CTEs, subqueries, ``UNNEST`` and window TVFs may appear as
relations. This is the first line of defence; the DuckDB sandbox
(:mod:`flowsql.batch.sandbox`) is the second, so a path that slips through still cannot be read.
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.errors import ValidationError

_STATEMENTS: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, n)
    for n in (
        "Attach", "Detach", "Copy", "Pragma", "Command", "Set", "Use", "Create", "Drop", "Insert",
        "Delete", "Update", "Merge", "Install", "LoadData", "Export", "Alter", "TruncateTable",
        "Transaction", "Commit", "Rollback", "Describe", "Summarize", "Show", "Kill", "Cache",
        "Uncache", "Refresh",
    )
    if hasattr(exp, n)
)
_FILE_FUNCTIONS = frozenset(
    {
        "READ_CSV", "READ_CSV_AUTO", "READ_PARQUET", "PARQUET_SCAN", "READ_JSON", "READ_JSON_AUTO",
        "READ_NDJSON", "READ_JSON_OBJECTS", "READ_TEXT", "READ_BLOB", "GLOB", "QUERY",
        "QUERY_TABLE", "SNIFF_CSV", "PARQUET_METADATA", "PARQUET_SCHEMA", "GETENV", "READ_XLSX",
        "SQLITE_SCAN", "POSTGRES_SCAN", "ICEBERG_SCAN", "DELTA_SCAN", "CSV_SCAN",
    }
)
_HINT = "batch queries read catalog tables and views only; declare a table with CREATE TABLE ... WITH ('connector' = 'filesystem', 'path' = ...)"


def _func_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    if isinstance(node, exp.Func):
        return node.sql_name().upper()
    return type(node).__name__.upper()


def check_query(tree: exp.Expression) -> None:
    """Raise ``ValidationError`` if ``tree`` holds anything but a read-only catalog query."""
    for node in tree.walk():
        if isinstance(node, _STATEMENTS):
            kind = type(node).__name__.upper()
            raise ValidationError(f"{kind} is not allowed inside a query", hint=_HINT)
        if isinstance(node, exp.ReadCSV | exp.ReadParquet):
            raise ValidationError(f"function {_func_name(node)}() is not allowed", hint=_HINT)
        if isinstance(node, exp.Func) and _func_name(node) in _FILE_FUNCTIONS:
            raise ValidationError(f"function {_func_name(node)}() is not allowed", hint=_HINT)
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Identifier):
                continue
            if isinstance(target, exp.Func):
                raise ValidationError(
                    f"table function {_func_name(target)}() is not allowed in FROM", hint=_HINT
                )
            if isinstance(target, exp.Literal):
                raise ValidationError(f"reading the file '{target.this}' directly is not allowed", hint=_HINT)
            if target is not None:
                raise ValidationError(f"'{target.sql()}' is not a table name", hint=_HINT)
