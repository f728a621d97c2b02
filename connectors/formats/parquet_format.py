"""Flink's ``parquet`` format for bounded reads: a DuckDB table expression over the files.

Contract: :func:`parquet_scan_sql` returns ``(SELECT CAST(...) AS col, ... FROM read_parquet([...]))``
yielding the physical columns, in order, with their declared types. Columns are matched by
name (``union_by_name`` across files); a column absent from every file reads as NULL, as
Flink's parquet reader does. Each file's footer is read up front (pyarrow, metadata only) so
an unreadable or non-parquet file fails at planning with a ``ConnectorError`` naming it,
instead of as a raw DuckDB error at run time.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow.parquet as pq

from catalog.table import Column
from connectors.formats.duck import duck_type, ident, literal
from flowsql.errors import ConnectorError


def parquet_columns(files: Sequence[str]) -> set[str]:
    """Union of the column names of ``files``; ConnectorError names an unreadable file."""
    names: set[str] = set()
    for path in files:
        try:
            names.update(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for bad files
            raise ConnectorError(f"cannot read parquet file '{path}': {exc}") from exc
    return names


def parquet_scan_sql(files: Sequence[str], columns: Sequence[Column]) -> str:
    """DuckDB table expression over non-empty ``files`` yielding ``columns`` (see module doc)."""
    present = parquet_columns(files)
    select = []
    for c in columns:
        source = ident(c.name) if c.name in present else "NULL"
        select.append(f"CAST({source} AS {duck_type(c)}) AS {ident(c.name)}")
    file_list = "[" + ", ".join(literal(f) for f in files) + "]"
    return f"(SELECT {', '.join(select)} FROM read_parquet({file_list}, union_by_name = true))"
