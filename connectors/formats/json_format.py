"""Flink's ``json`` format: options, and reading newline-delimited JSON into physical columns.

Semantics (Flink's): one JSON object per line, fields mapped by name (case-sensitive); a
missing field is NULL unless ``json.fail-on-missing-field``; a string column takes a JSON
string as is and any other JSON value as its JSON text; nested columns (ARRAY / MAP / ROW)
take JSON arrays / objects; BYTES are base64 strings; timestamps are read in either SQL
(``2024-01-01 12:00:00.123``) or ISO-8601 (``2024-01-01T12:00:00.123Z``) form. Blank lines
are skipped. A line that is not a JSON object, or a value that does not convert to its
column's type, raises :class:`MalformedRecordError` naming the file and line; with
``json.ignore-parse-errors`` such lines are skipped.

How (vectorized): each file is split into lines with numpy (newline positions → Arrow string
offsets, so line numbers are exact), then one DuckDB query over that Arrow table validates
every line (``json_valid``), extracts and ``TRY_CAST``s every field, and flags bad rows. Only
the error message for the first bad row is built in Python (a batch whose columns are all
numbers, booleans and strings first tries the C scanner of :mod:`connectors.formats.json_scan`,
then Arrow's JSON reader, which convert those exactly as the query does and refuse anything
else: see :func:`_fast_decode`). DuckDB's ``read_json`` is not used
because it reports neither the line of a bad record nor lets us skip only the bad ones.
:func:`decode_json_lines` is that decoder over any table of text records (the Kafka source
feeds it one record per message and names topic, partition and offset itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from catalog.table import Column
from connectors.base import OptionSpec
from connectors.formats import json_scan
from connectors.formats.duck import conform, connect, duck_type, literal
from flowsql.errors import ConnectorError, MalformedRecordError
from flowsql.types import parse_type

JSON_OPTIONS: list[OptionSpec] = [
    OptionSpec("json.ignore-parse-errors", "bool", default="false",
               description="Skip lines that cannot be parsed instead of failing."),
    OptionSpec("json.fail-on-missing-field", "bool", default="false",
               description="Fail when a field of the table is missing from a record."),
    OptionSpec("json.timestamp-format.standard", "enum", default="SQL", choices=("SQL", "ISO-8601"),
               description="Timestamp text written: SQL (space) or ISO-8601 ('T'); both are read."),
    OptionSpec("json.map-null-key.mode", "enum", default="FAIL", choices=("FAIL", "DROP", "LITERAL"),
               description="Accepted for Flink compatibility."),
    OptionSpec("json.map-null-key.literal", "string", default="null",
               description="Accepted for Flink compatibility."),
    OptionSpec("json.encode.decimal-as-plain-number", "bool", default="false",
               description="Accepted for Flink compatibility."),
    OptionSpec("json.encode.ignore-null-fields", "bool", default="false",
               description="Accepted for Flink compatibility."),
]


def file_lines(path: str) -> pa.Table:
    """``(line_no, line)`` of every non-blank line of ``path``; invalid UTF-8 lines become NULL
    with ``utf8_ok`` false."""
    with open(path, "rb") as f:
        data = f.read()
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    offsets = np.concatenate([[0], newlines + 1])
    if offsets[-1] != len(buf):
        offsets = np.append(offsets, len(buf))
    offsets = offsets.astype(np.int64)
    n = len(offsets) - 1
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)]
    )
    line_no = pa.array(np.arange(1, n + 1, dtype=np.int64))
    text = text_lines(raw)
    text = text.set_column(0, "line", pc.utf8_rtrim(text.column("line"), characters="\r\n"))
    line, utf8_ok = text.column("line"), text.column("utf8_ok")
    keep = pc.or_(pc.invert(utf8_ok), pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(line)), 0))
    return pa.table({"line_no": line_no, "line": line, "utf8_ok": utf8_ok}).filter(keep)


def text_lines(raw: pa.Array) -> pa.Table:
    """Binary records → ``(line: large_string, utf8_ok: bool)``; a record that is not UTF-8
    becomes the empty string with ``utf8_ok`` false (found in Python on that path only)."""
    raw = raw.cast(pa.large_binary())
    n = len(raw)
    try:
        text = raw.cast(pa.large_string())
        utf8_ok = pa.array(np.ones(n, dtype=bool))
    except pa.ArrowInvalid:  # slow path: find the records that are not UTF-8
        ok = []
        for value in raw.to_pylist():
            try:
                if value is not None:
                    value.decode("utf-8")
                ok.append(True)
            except UnicodeDecodeError:
                ok.append(False)
        utf8_ok = pa.array(ok)
        text = pc.if_else(utf8_ok, raw, pa.scalar(b"", pa.large_binary())).cast(pa.large_string())
    return pa.table({"line": text, "utf8_ok": utf8_ok})


def _key(name: str) -> str:
    """DuckDB JSON path for a top-level key (a bare key, unless it looks like a path)."""
    if name.startswith(("$", "/")):
        return literal('$."' + name.replace('"', '\\"') + '"')
    return literal(name)


def _value_sql(column: Column) -> str:
    t = parse_type(column.data_type or "STRING")
    key = _key(column.name)
    if t.root in ("VARCHAR", "CHAR"):
        return f"(j->>{key})"
    if t.root in ("VARBINARY", "BINARY"):
        return f"try(from_base64(j->>{key}))"
    if t.root in ("ARRAY", "MULTISET", "MAP", "ROW"):
        return f"TRY_CAST(j->{key} AS {duck_type(column)})"
    return f"TRY_CAST(j->>{key} AS {duck_type(column)})"


def read_json(
    files: Sequence[str], columns: Sequence[Column], schema: pa.Schema, options: dict[str, Any],
    on_skipped: Callable[[int], None] | None = None,
) -> pa.Table:
    """Read newline-delimited JSON ``files`` into a table with ``schema`` (module docstring);
    ``on_skipped(n)`` hears how many malformed lines ``json.ignore-parse-errors`` skipped."""
    if not files:
        return schema.empty_table()
    parts = []
    for i, path in enumerate(files):
        try:
            lines = file_lines(path)
        except OSError as exc:
            raise ConnectorError(f"cannot read file '{path}': {exc.strerror or exc}") from exc
        parts.append(lines.append_column("file_idx", pa.array(np.full(len(lines), i, np.int32))))
    lines = pa.concat_tables(parts)
    decoded = decode_json_lines(lines, columns, schema, options, what=f"JSON files {list(files)}")
    if decoded.first_bad is not None and not options.get("json.ignore-parse-errors"):
        index, message = decoded.first_bad
        row = lines.slice(index, 1).to_pylist()[0]
        raise MalformedRecordError(
            message, position=f"{files[row['file_idx']]}:{row['line_no']}", hint=IGNORE_HINT
        )
    if decoded.bad_count and on_skipped is not None:
        on_skipped(int(decoded.bad_count))
    return decoded.good()


IGNORE_HINT = "Set 'json.ignore-parse-errors' = 'true' to skip malformed records."


@dataclass
class DecodedLines:
    """What :func:`decode_json_lines` found: one row per input row (in input order, conformed
    to the schema; a bad row's values are NULL), the ``bad`` mask, how many rows were bad, and
    the first bad row's index and message (or None)."""

    values: pa.Table
    bad: pa.ChunkedArray
    bad_count: int
    first_bad: tuple[int, str] | None

    def good(self) -> pa.Table:
        """The rows that decoded."""
        return self.values.filter(pc.invert(self.bad)) if self.bad_count else self.values


def decode_json_lines(
    lines: pa.Table,
    columns: Sequence[Column],
    schema: pa.Schema,
    options: dict[str, Any],
    *,
    what: str = "JSON records",
) -> DecodedLines:
    """Decode one JSON object per row of ``lines`` (columns ``line``: large_string, NULL when
    not UTF-8, and ``utf8_ok``: bool) into ``schema``'s columns, in one DuckDB query (module
    docstring); bad rows are flagged and counted, and the first is described."""
    fast = _fast_decode(lines, columns, schema, options)
    if fast is not None:
        return fast
    n = len(columns)
    lines = pa.table({"line": lines.column("line"), "utf8_ok": lines.column("utf8_ok"),
                      "seq": pa.array(np.arange(len(lines), dtype=np.int64))})
    raw = ", ".join(f"(j->{_key(c.name)}) AS r{i}" for i, c in enumerate(columns))
    vals = ", ".join(f"{_value_sql(c)} AS v{i}" for i, c in enumerate(columns))
    bad_cast = [f"(r{i} IS NOT NULL AND json_type(r{i}) <> 'NULL' AND v{i} IS NULL)" for i in range(n)]
    bad = ["j IS NULL", *bad_cast]
    if options.get("json.fail-on-missing-field"):
        bad += [f"r{i} IS NULL" for i in range(n)]
    sql = f"""
        WITH src AS (
            SELECT seq, line,
                   CASE WHEN utf8_ok AND json_valid(line) THEN
                       CASE WHEN json_type(line) = 'OBJECT' THEN line::JSON END END AS j
            FROM lines),
        ext AS (SELECT seq, line, j{', ' + raw if n else ''}{', ' + vals if n else ''}
                FROM src)
        SELECT *, ({' OR '.join(bad)}) AS bad FROM ext ORDER BY seq
    """
    con = connect()
    try:
        con.register("lines", lines)
        result = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot read {what}: {exc}") from exc
    finally:
        con.close()

    bad_mask = result.column("bad")
    bad_count = pc.sum(bad_mask.cast(pa.int64())).as_py() or 0
    first_bad = None
    if bad_count:
        first_bad = _first_bad(result, columns, bool(options.get("json.fail-on-missing-field")))
    values = pa.table({c.name: result.column(f"v{i}") for i, c in enumerate(columns)})
    return DecodedLines(conform(values, schema), bad_mask, bad_count, first_bad)


_FAST_TYPES = {"TINYINT": pa.int8(), "SMALLINT": pa.int16(), "INT": pa.int32(),
               "INTEGER": pa.int32(), "BIGINT": pa.int64(), "FLOAT": pa.float32(),
               "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "VARCHAR": pa.string(),
               "STRING": pa.string(), "CHAR": pa.string()}


def _fast_decode(
    lines: pa.Table, columns: Sequence[Column], schema: pa.Schema, options: dict[str, Any]
) -> DecodedLines | None:
    """The fast path (:func:`decode_json_values`) over all lines at once; None sends the
    batch to the DuckDB path."""
    if len(lines) == 0 or not pc.all(lines.column("utf8_ok")).as_py():
        return None
    return decode_json_values(lines.column("line").combine_chunks(), columns, schema, options)


def decode_json_values(
    values: pa.Array, columns: Sequence[Column], schema: pa.Schema, options: dict[str, Any]
) -> DecodedLines | None:
    """The fast path over an array of JSON records (binary or string, no NULLs: one record
    per element), as :func:`decode_joined_json` decides it; None sends the records to the
    general path. The C scanner (:mod:`connectors.formats.json_scan`) reads the records
    through the array's own offsets; when it does not take them, they are joined by newlines
    with one Arrow kernel call for Arrow's reader."""
    if len(values) == 0 or values.null_count or not fast_json_columns(columns, options):
        return None
    scanned = json_scan.scan_values(values, _fast_schema(columns))
    if scanned is not None:
        return _decoded(scanned, columns, schema)
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        text_type = pa.large_string() if pa.types.is_large_binary(values.type) else pa.string()
        try:
            values = values.cast(text_type)  # validates UTF-8 (Arrow's reader does not)
        except pa.ArrowInvalid:
            return None
    joined = pc.binary_join_element_wise(values, pa.scalar("", values.type),
                                         pa.scalar("\n", values.type))
    width = np.int64 if pa.types.is_large_string(joined.type) else np.int32
    offsets = np.frombuffer(joined.buffers()[1], dtype=width)[joined.offset:]
    data = joined.buffers()[2][int(offsets[0]):int(offsets[len(joined)])]
    return decode_joined_json(data, len(values), columns, schema, options, utf8_checked=True,
                              try_scanner=False)  # it declined these records already


def fast_json_columns(columns: Sequence[Column], options: dict[str, Any]) -> bool:
    """Whether :func:`decode_joined_json` can serve these columns and options at all."""
    if options.get("json.fail-on-missing-field") or not columns:
        return False
    if len({c.name for c in columns}) != len(columns):
        return False
    return all(parse_type(c.data_type or "STRING").root in _FAST_TYPES for c in columns)


def decode_joined_json(
    data: bytes | pa.Buffer, n: int, columns: Sequence[Column], schema: pa.Schema,
    options: dict[str, Any], *, utf8_checked: bool = False, try_scanner: bool = True,
) -> DecodedLines | None:
    """``n`` JSON records joined by single newlines (one more may end the last), read at once by Arrow's JSON reader,
    for records whose columns are numbers, booleans and strings: it converts exactly what
    the DuckDB path converts the same way (a JSON number into a number column, a string into
    a string column …) and raises on anything else (a number in a string column, ``"1"`` in
    a BIGINT column, a duplicate key, a non-object), in which case None sends the records to
    the DuckDB path, which decides row by row. So does input that is not UTF-8 (Arrow's
    reader does not check it), a record holding a newline, a blank record or one not starting
    with ``{`` (the rows would not be the records). ~10x faster than the query on Kafka-sized
    batches. Unless ``try_scanner`` is false, the C scanner (:mod:`connectors.formats.json_scan`)
    reads the records first, 5-8x faster again: it gives what both Arrow's reader and the query
    give, and declines (then Arrow's reader runs) whatever either might read differently."""
    if n == 0 or not fast_json_columns(columns, options):
        return None
    explicit = _fast_schema(columns)
    scanned = json_scan.scan_joined(data, n, explicit) if try_scanner else None
    if scanned is not None:
        return _decoded(scanned, columns, schema)
    buf = pa.py_buffer(data) if not isinstance(data, pa.Buffer) else data
    bytes_ = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(bytes_ == 10)
    if len(newlines) - int(len(bytes_) > 0 and bytes_[-1] == 10) != n - 1:
        return None  # a newline inside a record (one at the very end is a separator)
    starts = np.concatenate([[0], newlines[:n - 1] + 1])
    if len(bytes_) == 0 or not (bytes_[starts] == ord("{")).all():
        # Arrow's reader gives a row for a JSON null (and crashes on a lone one), none for a
        # blank record and two for two objects: so every record starts with '{' here (a
        # record opening with whitespace goes to the query), and one row per record is checked
        return None
    if not utf8_checked:
        whole = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(buf)], np.int64)), buf])
        try:
            whole.cast(pa.large_string())
        except pa.ArrowInvalid:
            return None
    try:
        table = pajson.read_json(pa.BufferReader(buf), parse_options=pajson.ParseOptions(
            explicit_schema=explicit, unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != n:  # a blank record
        return None
    return _decoded(pa.table({c.name: table.column(c.name) for c in columns}), columns, schema)


def _fast_schema(columns: Sequence[Column]) -> pa.Schema:
    """The Arrow types the fast path reads ``columns`` as (before conforming to the table)."""
    return pa.schema([pa.field(c.name, _FAST_TYPES[parse_type(c.data_type or "STRING").root])
                      for c in columns])


def _decoded(values: pa.Table, columns: Sequence[Column], schema: pa.Schema) -> DecodedLines:
    """The fast path's result: every row good."""
    bad = pa.chunked_array([pa.array(np.zeros(values.num_rows, dtype=bool))])
    return DecodedLines(conform(values, schema), bad, 0, None)


def _first_bad(
    result: pa.Table, columns: Sequence[Column], fail_on_missing: bool
) -> tuple[int, str]:
    """Error path: describe the first bad row in Python."""
    index = pc.index(result.column("bad"), True).as_py()
    row = result.slice(index, 1).to_pylist()[0]
    line = row["line"]
    if row["j"] is None:
        reason = "not valid JSON" if line is not None else "not valid UTF-8"
        if line is not None and line.lstrip()[:1] not in ("{", ""):
            reason = "not a JSON object"
    else:
        reason = "malformed record"
        for i, c in enumerate(columns):
            r, v = row[f"r{i}"], row[f"v{i}"]
            if r is None and fail_on_missing:
                reason = f"field '{c.name}' is missing"
                break
            if r is not None and r != "null" and v is None:
                reason = f"field '{c.name}' value {r} does not convert to {c.data_type}"
                break
    shown = line if line is None or len(line) <= 200 else line[:200] + "..."
    return int(row["seq"]), f"cannot parse JSON record {shown!r}: {reason}"
