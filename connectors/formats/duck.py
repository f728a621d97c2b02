"""DuckDB helpers for the formats: quoting, a private connection, schema conformance.

Contract:
- :func:`connect` opens a private in-memory DuckDB connection in UTC (format readers and writers
  never share the batch runner's sandboxed connection; they read only the files they are given).
- :func:`ident` / :func:`literal` quote identifiers and string literals for DuckDB SQL.
- :func:`duck_type` is the DuckDB type of a physical column; :func:`conform` casts an Arrow
  table to the declared schema (timestamps may lose sub-precision digits, as Flink truncates).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from catalog.table import Column
from flowsql.types import parse_type, to_duckdb


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duck_type(column: Column) -> str:
    return to_duckdb(parse_type(column.data_type or "STRING"))


def is_string_column(column: Column) -> bool:
    return parse_type(column.data_type or "STRING").root in ("VARCHAR", "CHAR")


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast ``table`` (columns in schema order) to ``schema``. A NOT NULL field that holds
    nulls is relaxed to nullable here (enforcing NOT NULL is the planner's job)."""
    arrays, fields = [], []
    for i, field in enumerate(schema):
        col = table.column(i)
        if col.type != field.type:
            safe = not pa.types.is_timestamp(field.type) and not pa.types.is_time(field.type)
            col = col.cast(field.type, safe=safe)
        arrays.append(col)
        fields.append(field if col.null_count == 0 else field.with_nullable(True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
