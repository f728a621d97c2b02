"""Rows of an Arrow batch → one Kafka message key or value per row, vectorized.

Contract of :func:`encode`: ``encode(table, columns, fmt, options)`` returns a binary array
with one encoded record per row of ``table`` (whose columns include ``columns`` by name):
- ``json``: one JSON object per row (``to_json`` of a struct in one DuckDB query; the same
  column casts and ``json.timestamp-format.standard`` handling as the filesystem json writer);
- ``csv``: one CSV line per row, no header, with the ``csv.*`` dialect (pyarrow's CSV
  writer, then the text split at line ends). A value holding a line break cannot be framed
  as one line per row and raises ``ConnectorError``;
- ``raw``: the single column's bytes (STRING as UTF-8; BYTES as is).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from catalog.table import Column
from connectors.formats.duck import connect, ident
from connectors.formats.writer import select_sql
from flowsql.errors import ConnectorError


def encode(table: pa.Table, columns: Sequence[Column], fmt: str, options: dict[str, Any]) -> pa.Array:
    if fmt == "raw":
        return _raw(table, columns)
    if fmt == "json":
        return _json(table, columns, options)
    return _csv(table, columns, options)


def _raw(table: pa.Table, columns: Sequence[Column]) -> pa.Array:
    if len(columns) != 1:
        raise ConnectorError(f"The 'raw' format writes exactly one column, got {len(columns)}")
    col = table.column(columns[0].name).combine_chunks()
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        return col.cast(pa.binary())
    return col.cast(pa.string()).cast(pa.binary())


def _json(table: pa.Table, columns: Sequence[Column], options: dict[str, Any]) -> pa.Array:
    names = ", ".join(f"{ident(c.name)} := {ident(c.name)}" for c in columns)
    sql = (f"WITH cast_rows AS (SELECT {select_sql(columns, 'json', options)} FROM rows) "
           f"SELECT to_json(struct_pack({names}))::VARCHAR AS v FROM cast_rows")
    con = connect()
    try:
        con.register("rows", table.select([c.name for c in columns]))
        out = con.sql(sql).to_arrow_table().column(0)
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot encode rows as JSON: {exc}") from exc
    finally:
        con.close()
    return out.combine_chunks().cast(pa.string()).cast(pa.binary())


def _csv(table: pa.Table, columns: Sequence[Column], options: dict[str, Any]) -> pa.Array:
    from connectors.formats.csv_format import dialect

    d = dialect(options)
    data = table.select([c.name for c in columns])
    if d["nullstr"]:  # Flink writes NULL as the null literal; pyarrow as an empty field
        data = pa.table({n: pc.fill_null(data.column(n).cast(pa.string()), d["nullstr"])
                         for n in data.column_names})
    buf = io.BytesIO()
    pacsv.write_csv(data, buf, pacsv.WriteOptions(
        include_header=False, delimiter=d["delim"],
        quoting_style="needed" if d["quote"] else "none",
    ))
    text = buf.getvalue()
    ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10)
    if len(ends) != data.num_rows:
        raise ConnectorError("a CSV value holds a line break; the kafka csv format writes one "
                             "line per message and cannot frame it")
    offsets = np.concatenate([[0], ends + 1]).astype(np.int32)
    lines = pa.BinaryArray.from_buffers(
        pa.binary(), len(ends), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text)]
    )
    return pc.utf8_rtrim(lines.cast(pa.string()), characters="\r\n").cast(pa.binary())
