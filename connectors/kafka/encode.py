"""Rows of an Arrow batch → one Kafka message key or value per row, vectorized.

Contract of :func:`encode`: ``encode(table, columns, fmt, options)`` returns a binary array
with one encoded record per row of ``table`` (whose columns include ``columns`` by name):
- ``json``: one JSON object per row (``to_json`` of a struct in one DuckDB query; the same
  column casts and ``json.timestamp-format.standard`` handling as the filesystem json writer);
- ``csv``: one CSV line per row, no header, with the ``csv.*`` dialect (pyarrow's CSV
  writer quotes each column's values, then the fields are joined per row); NULL is written
  as ``csv.null-literal`` (an empty field without it). A value holding a line break cannot be
  framed as one line per row and raises ``ConnectorError``;
- ``raw``: the single column's bytes (STRING as UTF-8; BYTES as is);
- ``avro``: one schemaless Avro binary record per row (:mod:`connectors.formats.avro_format`);
- ``avro-confluent``: the same in Confluent's wire format, the schema registered in the Schema
  Registry (:mod:`connectors.formats.avro_confluent`).
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
    if fmt == "avro":
        from connectors.formats.avro_format import encode_avro

        return encode_avro(table, columns)
    if fmt == "avro-confluent":
        from connectors.formats.avro_confluent import encode_confluent

        return encode_confluent(table, columns, options)
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
    """Each column is written alone by pyarrow's CSV writer (its quoting), split into one field
    per row; NULL becomes the null literal (or an empty field); the fields are then joined
    with the delimiter, row by row, by one Arrow kernel."""
    from connectors.formats.csv_format import dialect

    d = dialect(options)
    fields = [_csv_field(table.column(c.name).combine_chunks(), d) for c in columns]
    big = pa.large_binary()
    joined = pc.binary_join_element_wise(*fields, pa.scalar(d["delim"].encode(), big))
    return joined.cast(pa.binary())


def _csv_field(column: pa.Array, d: dict[str, str]) -> pa.Array:
    """One column's CSV field text per row (large_binary, never NULL)."""
    buf = io.BytesIO()
    pacsv.write_csv(pa.table({"c": column}), buf, pacsv.WriteOptions(
        include_header=False, delimiter=d["delim"],
        quoting_style="needed" if d["quote"] else "none",
    ))
    text = buf.getvalue()
    ends = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10)
    if len(ends) != len(column):
        raise ConnectorError("a CSV value holds a line break; the kafka csv format writes one "
                             "line per message and cannot frame it")
    offsets = np.concatenate([[0], ends + 1]).astype(np.int64)
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text)]
    )
    field = pc.utf8_rtrim(lines.cast(pa.large_string()), characters="\r\n").cast(pa.large_binary())
    null = pa.scalar(d["nullstr"].encode(), pa.large_binary())
    return pc.if_else(pc.is_null(column), null, field)
