"""Flink's ``csv`` format for message values and keys: one CSV record per message.

Contract of :func:`decode_csv_records` (``raw``: one binary record per message):
- Fields map by position to ``columns``; an empty field is NULL, except for a string column
  where it is the empty string unless ``csv.null-literal`` is set (then that text is NULL);
  the ``csv.*`` dialect (delimiter, quote, escape, disabled quoting) applies, as in the
  filesystem's csv format. ``csv.allow-comments`` is not honoured here (a ``#`` record is
  parsed like any other).
- Returns ``(table, bad, first_bad)``: one row per record (in input order; a bad record's
  row is NULL), the bad-record mask (None when none is bad), and the first bad record's index
  and message (too few or too many fields, or the column whose value does not convert).
How (vectorized): the records are joined with newlines and parsed once by pyarrow's CSV
reader as strings (a record with the wrong number of fields is reported by number through
``invalid_row_handler``), then one DuckDB query ``TRY_CAST``s every column and flags the
values that do not convert. Only the first bad record's message is built in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from catalog.table import Column
from connectors.formats.csv_format import dialect
from connectors.formats.duck import conform, connect, duck_type, is_string_column
from flowsql.errors import ConnectorError


def _joined(raw: pa.Array) -> pa.Buffer:
    """The records, each followed by a newline, as one contiguous buffer (no Python loop)."""
    big = pa.large_binary()
    lines = pc.binary_join_element_wise(pc.fill_null(raw.cast(big), pa.scalar(b"", big)),
                                        pa.scalar(b"", big), pa.scalar(b"\n", big))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1,
                            offset=lines.offset * 8)
    return lines.buffers()[2][int(offsets[0]):int(offsets[-1])]


def decode_csv_records(
    raw: pa.Array, columns: Sequence[Column], schema: pa.Schema, options: dict[str, Any]
) -> tuple[pa.Table, pa.Array | None, tuple[int, str] | None]:
    n, width = len(raw), len(columns)
    d = dialect(options)
    names = [f"c{i}" for i in range(width)]
    invalid: dict[int, str] = {}

    def on_invalid(row: Any) -> str:
        if row.number is None:
            raise ConnectorError("the CSV reader could not number a malformed record")
        invalid[row.number - 1] = (f"{'too few' if row.actual_columns < width else 'too many'} "
                                   f"fields (expected {width}, got {row.actual_columns})")
        return "skip"

    null_text = options.get("csv.null-literal")
    try:
        parsed = pacsv.read_csv(
            pa.BufferReader(_joined(raw)),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=d["delim"], quote_char=d["quote"] or False,
                escape_char=(d["escape"] if d["escape"] != d["quote"] else False) or False,
                double_quote=d["escape"] == d["quote"], newlines_in_values=True,
                ignore_empty_lines=False, invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names}, strings_can_be_null=True,
                null_values=[null_text] if null_text else [""], quoted_strings_can_be_null=False,
            ),
        ) if n else pa.table({c: pa.array([], pa.string()) for c in names})
    except pa.ArrowInvalid as exc:
        raise ConnectorError(f"cannot parse CSV records: {exc}") from None
    if parsed.num_rows + len(invalid) != n:
        raise ConnectorError("a CSV record holds a line break outside quotes; the kafka csv "
                             "format expects one record per message")
    if invalid:  # re-align: a structurally bad record becomes a NULL row at its index
        good = np.setdiff1d(np.arange(n), np.fromiter(invalid, dtype=np.int64))
        index = np.full(n, -1, dtype=np.int64)
        index[good] = np.arange(len(good))
        parsed = parsed.take(pa.array(index, mask=index < 0))

    values, cast_bad = [], []
    for i, c in enumerate(columns):
        if is_string_column(c):
            values.append(f"c{i}" if null_text else f"COALESCE(c{i}, '')")
            continue
        values.append(f"CASE WHEN c{i} = '' THEN NULL ELSE TRY_CAST(c{i} AS {duck_type(c)}) END")
        cast_bad.append(f"(c{i} IS NOT NULL AND c{i} <> '' AND v{i} IS NULL)")
    selects = ", ".join(f"{v} AS v{i}" for i, v in enumerate(values))
    flags = ", ".join(f"{b} AS b{i}" for i, b in enumerate(cast_bad)) or "false AS b0"
    con = connect()
    try:
        con.register("records", parsed)
        result = con.sql(f"WITH t AS (SELECT *, {selects} FROM records) SELECT *, {flags} FROM t"
                         ).to_arrow_table()
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot read CSV records: {exc}") from exc
    finally:
        con.close()
    flag_names = [f for f in result.column_names if f.startswith("b") and f[1:].isdigit()]
    bad = pa.array(np.zeros(n, dtype=bool))
    for f in flag_names:
        bad = pc.or_(bad, pc.fill_null(result.column(f), False).combine_chunks())
    if invalid:
        bad = pc.or_(bad, pa.array(np.isin(np.arange(n), list(invalid))))
    table = conform(pa.table({c.name: result.column(f"v{i}") for i, c in enumerate(columns)}), schema)
    if not pc.any(bad).as_py():
        return table, None, None
    first = pc.index(bad, True).as_py()
    return table, bad, (first, _describe(first, invalid, result, columns, raw))


def _describe(index: int, invalid: dict[int, str], result: pa.Table, columns: Sequence[Column],
              raw: pa.Array) -> str:
    """Error path: say why record ``index`` is bad."""
    text = raw[index].as_py()
    shown = text.decode("utf-8", "replace") if text is not None else None
    if shown is not None and len(shown) > 200:
        shown = shown[:200] + "..."
    if index in invalid:
        return f"cannot parse CSV record {shown!r}: {invalid[index]}"
    row = result.slice(index, 1).to_pylist()[0]
    for i, c in enumerate(columns):
        value = row[f"c{i}"]
        if value not in (None, "") and row[f"v{i}"] is None and not is_string_column(c):
            return (f"cannot parse CSV record {shown!r}: field '{c.name}' value {value!r} "
                    f"does not convert to {c.data_type}")
    return f"cannot parse CSV record {shown!r}"
