"""DuckDB helpers for the formats: quoting, a private connection, schema conformance.

Contract:
- :func:`connect` gives a connection in UTC of the formats' own in-memory DuckDB database, one
  per process (a cursor: opening a database costs ~30 ms, a cursor microseconds, and the Kafka
  formats decode every poll's records with a query). Each call is a new connection, so
  registered tables and session settings stay private to the caller; close it when done.
  Format readers and writers never share the batch runner's sandboxed database; they read
  only the files they are given.
- :func:`ident` / :func:`literal` quote identifiers and string literals for DuckDB SQL.
- :func:`duck_type` is the DuckDB type of a physical column; :func:`conform` casts an Arrow
  table to the declared schema (timestamps may lose sub-precision digits, as Flink truncates).
"""

from __future__ import annotations

import os
import threading

import duckdb
import pyarrow as pa

from catalog.table import Column
from flowsql.types import parse_type, to_duckdb

_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_database_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():  # not across a fork
            db = duckdb.connect()
            db.execute("SET GLOBAL TimeZone = 'UTC'")
            _database = (os.getpid(), db)
        return _database[1].cursor()


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
