"""Rows of an Arrow batch → one Kafka message key or value per row, vectorized.

Contract of :func:`encode`: ``encode(table, columns, fmt, options)`` returns a binary array
with one encoded record per row of ``table`` (whose columns include ``columns`` by name):
- ``json``: one JSON object per row (``to_json`` of a struct in one DuckDB query; the same
  column casts and ``json.timestamp-format.standard`` handling as the filesystem json writer).
  A batch whose columns are all integers, BOOLEAN, DECIMAL, TIMESTAMP or strings that need no
  escaping, of their declared types, gets the very same text from Arrow string kernels
  instead (``_json_concat``, several times cheaper; proven equal to the query in the tests),
  and from the C writer of :mod:`connectors.formats.json_write` before them when it is built
  (proven byte-identical to the kernels in the tests);
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
import re
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from catalog.table import Column
from connectors.formats import json_write
from connectors.formats.duck import connect, ident
from connectors.formats.writer import select_sql
from flowsql.errors import ConnectorError
from flowsql.types import parse_type, to_arrow


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
    fast = _json_concat(table, columns, options)
    if fast is not None:
        return fast
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


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGERS = ("TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT")
_NEEDS_ESCAPE = r'["\\\x00-\x1f\x7f]'
_YEAR_1 = -62135596800  # 0001-01-01 00:00:00 UTC in seconds
_YEAR_10000 = 253402300800  # 10000-01-01 00:00:00 UTC in seconds
# the declared types whose Arrow type (when it is the declared one) the C writer formats as
# _json_text does; it declines the rest itself
_NATIVE_ROOTS = frozenset(_INTEGERS + ("BOOLEAN", "DECIMAL", "TIMESTAMP", "VARCHAR"))


def _json_concat(table: pa.Table, columns: Sequence[Column], options: dict[str, Any]) -> pa.Array | None:
    """The DuckDB query's exact text, built by Arrow string kernels for the common column
    types: integers, BOOLEAN, DECIMAL(19..38, 1..6), TIMESTAMP(0..6) (SQL form, without time zone) and strings
    that need no escaping, each already of its declared Arrow type, under plain field
    names. None for anything else (the query then encodes the whole batch). The C writer
    (:mod:`connectors.formats.json_write`) writes the same text first when it is built and
    takes the batch (``FLOWSQL_JSON_NATIVE=0`` switches it off)."""
    if not columns or any(not _PLAIN_NAME.fullmatch(c.name) for c in columns):
        return None
    iso = options.get("json.timestamp-format.standard") == "ISO-8601"
    arrays = []
    for c in columns:
        col = table.column(c.name)
        arrays.append(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    prefixes = [("{" if i == 0 else ",") + f'"{c.name}":' for i, c in enumerate(columns)] + ["}"]
    if not iso and json_write.available() and all(
            a.type == to_arrow(t) and t.root in _NATIVE_ROOTS
            for a, t in zip(arrays, (parse_type(c.data_type or "STRING") for c in columns), strict=True)):
        native = json_write.json_rows(prefixes, arrays)  # the same text in one C pass, or None
        if native is not None:
            return native
    pieces: list[Any] = []
    for prefix, col, c in zip(prefixes, arrays, columns, strict=False):
        text = _json_text(col, c, iso)
        if text is None:
            return None
        pieces += [pa.scalar(prefix, pa.large_string()), text]
    pieces.append(pa.scalar("}", pa.large_string()))
    options = pc.JoinOptions(null_handling="replace", null_replacement="null")
    joined = pc.binary_join_element_wise(*pieces, _EMPTY, options=options)
    return joined.cast(pa.binary())


def _json_text(col: pa.Array, column: Column, iso: bool) -> pa.Array | None:
    """One column's JSON value text (large_string, NULL for NULL), or None (module note)."""
    t = parse_type(column.data_type or "STRING")
    if col.type != to_arrow(t):
        return None
    if t.root in _INTEGERS or t.root == "BOOLEAN" or (
            t.root == "DECIMAL" and 19 <= col.type.precision and 0 < col.type.scale <= 6):
        # (DuckDB writes the zero of narrower decimals as 0.0; Arrow writes 0E-10 for larger
        # scales: those go to the query)
        return col.cast(pa.large_string())
    if t.root == "TIMESTAMP" and col.type.tz is None:
        if iso or col.type.unit == "ns":  # (the query rounds nanoseconds to microseconds)
            return None
        per_s = {"s": 1, "ms": 1_000, "us": 1_000_000}[col.type.unit]
        lo_hi = pc.min_max(col.cast(pa.int64()))
        lo, hi = lo_hi["min"].as_py(), lo_hi["max"].as_py()
        if lo is not None and (lo < _YEAR_1 * per_s or hi >= _YEAR_10000 * per_s):
            return None  # years of other than four digits
        text = col.cast(pa.large_string())  # '2024-01-01 00:00:01.500'; DuckDB trims zeros
        if col.type.unit != "s":  # Arrow writes every digit of the fraction: trim them
            text = pc.ascii_rtrim(pc.ascii_rtrim(text, "0"), ".")
        return pc.binary_join_element_wise(_QUOTE, text, _QUOTE, _EMPTY)
    if t.root == "VARCHAR":
        if pc.any(pc.match_substring_regex(col, _NEEDS_ESCAPE)).as_py():
            return None
        return pc.binary_join_element_wise(_QUOTE, col.cast(pa.large_string()), _QUOTE, _EMPTY)
    return None


_QUOTE = pa.scalar('"', pa.large_string())
_EMPTY = pa.scalar("", pa.large_string())


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
