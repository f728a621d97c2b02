"""Flink's ``csv`` format: options, and reading CSV files into the declared physical columns.

Semantics (Flink's): no header; fields map by position to the physical columns; a field that
is empty is NULL except for string columns (where it is the empty string) unless
``csv.null-literal`` names the null text; ``csv.allow-comments`` skips lines starting with ``#``.
A record that cannot be decoded (too few or too many fields, a value that does not convert
to its column's type, invalid UTF-8) raises :class:`MalformedRecordError` naming the file and
physical line; with ``csv.ignore-parse-errors`` such records are skipped.

Why DuckDB's reader rather than ``pyarrow.csv``: the requirement that decides it is reporting
the bad record's line. ``read_csv(..., ignore_errors, store_rejects)`` parses *and* converts
types in one vectorized pass and records every rejected line (kind of error, byte offset,
text) in ``reject_errors``; pyarrow's reader reports structural errors only, and its type
conversion fails a whole block without saying which row. The byte offset of a rejected line is
turned into a physical line number (counting newlines, so quoted multi-line fields are
counted correctly) only on that error path.

Fast path (:func:`_fast_read`): a file whose columns are all integers and strings, read with
the default quoting and no null literal, escape character or comments, is first read with
``pyarrow.csv``'s streaming reader, column types given up front (about 1.6x less CPU than the
query). Arrow accepts a subset of what the query accepts for those types (digits with an
optional sign and surrounding blanks; any valid UTF-8 text; an empty or quoted-empty field
is NULL for integers, the empty string for strings; empty lines are skipped by both) and
converts it to the same values, so any file Arrow refuses (a bad value, a wrong field count,
invalid UTF-8) is read again by the query, which reports or skips the bad records as above.
Before Arrow's reader, the C scanner of :mod:`connectors.formats.csv_scan` reads the file
block by block (about 2-2.8x less CPU than Arrow's reader: figures there): it takes a subset
of what Arrow takes (no quote character, no ``\r``, integers as plain ``-?[0-9]+``, lines
shorter than a block) and converts it to the same values, and declines any other block, from
which Arrow's reader reads the rest of the file (``FLOWSQL_CSV_NATIVE=0`` leaves it all to
Arrow's reader; a compressed file is Arrow's too).

Batch mode reads whole tables with :func:`read_csv`; the streaming filesystem source reads one
file at a time with :func:`stream_csv`, block by block, converting only the fields of the
columns the query reads (the other fields are split, so the field count is still checked).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from catalog.table import Column
from connectors.base import OptionSpec, columns_schema
from connectors.formats import csv_scan
from connectors.formats.duck import conform, connect, duck_type, ident, is_string_column, literal
from flowsql.errors import ConnectorError, MalformedRecordError

CSV_OPTIONS: list[OptionSpec] = [
    OptionSpec("csv.field-delimiter", "char", default=",", description="Field delimiter character."),
    OptionSpec("csv.quote-character", "char", default='"', description="Quote character."),
    OptionSpec("csv.disable-quote-character", "bool", default="false",
               description="Disable quoting (then csv.quote-character is ignored)."),
    OptionSpec("csv.allow-comments", "bool", default="false",
               description="Ignore lines starting with '#'."),
    OptionSpec("csv.ignore-parse-errors", "bool", default="false",
               description="Skip records that cannot be parsed instead of failing."),
    OptionSpec("csv.null-literal", "string", description="Text read and written as NULL."),
    OptionSpec("csv.escape-character", "char", description="Escape character (off by default)."),
    OptionSpec("csv.array-element-delimiter", "string", default=";",
               description="Accepted for Flink compatibility."),
    OptionSpec("csv.write-bigdecimal-in-scientific-notation", "bool", default="true",
               description="Accepted for Flink compatibility."),
]


def dialect(options: dict[str, Any]) -> dict[str, str]:
    """Delimiter / quote / escape / null text for DuckDB, from validated ``csv.*`` options."""
    quote = "" if options.get("csv.disable-quote-character") else options.get("csv.quote-character") or '"'
    escape = options.get("csv.escape-character") or quote
    return {
        "delim": options.get("csv.field-delimiter") or ",",
        "quote": quote,
        "escape": escape,
        "nullstr": options.get("csv.null-literal") or "",
    }


def _line_of(path: str, byte_position: int) -> int:
    """Physical 1-based line of the record starting at 1-based ``byte_position`` in ``path``."""
    with open(path, "rb") as f:
        head = np.frombuffer(f.read(max(byte_position - 1, 0)), dtype=np.uint8)
    return int(np.count_nonzero(head == 10)) + 1


def read_csv(
    files: Sequence[str], columns: Sequence[Column], schema: pa.Schema, options: dict[str, Any],
    on_skipped: Callable[[int], None] | None = None,
) -> pa.Table:
    """Read ``files`` (in order) into a table with ``schema`` (see the module docstring);
    ``on_skipped(n)`` hears how many malformed records ``csv.ignore-parse-errors`` skipped."""
    if not files:
        return schema.empty_table()
    fast = _fast_read(files, schema, options)
    if fast is not None:
        return fast
    return _query_read(files, columns, [c.name for c in columns], schema, options, on_skipped)


def stream_csv(
    path: str, columns: Sequence[Column], read: Sequence[str] | None, options: dict[str, Any],
    on_skipped: Callable[[int], None] | None = None,
) -> pa.RecordBatchReader:
    """One CSV file whose fields are ``columns`` (by position) as a stream of batches of the
    columns named in ``read`` (all when None), in ``columns`` order. Only those fields are
    converted: the others are split (the field count is checked) but not decoded, so a bad
    value there is no malformed record. On the fast path (module docstring) the scanner and
    then Arrow's reader stream the file block by block, so memory stays at about one block;
    if Arrow refuses a block, the query reads the file and the rows already given are skipped
    (they are the query's first rows: it accepts everything Arrow accepts, in the same
    order, and the scanner a subset of that)."""
    names = [c.name for c in columns] if read is None else list(read)
    schema = columns_schema([c for c in columns if c.name in set(names)])
    # the stream's schema: every column nullable (NOT NULL is the planner's to enforce), so
    # the batches of both paths have this one schema
    relaxed = pa.schema([f.with_nullable(True) for f in schema])

    def batches() -> Iterator[pa.RecordBatch]:
        done = 0
        fast = _arrow_batches(path, [c.name for c in columns], schema, options)
        if fast is not None:
            try:
                for batch in fast:
                    done += batch.num_rows
                    yield pa.RecordBatch.from_arrays(batch.columns, schema=relaxed)
                if done:
                    return
            except (pa.ArrowException, OSError, ValueError):
                pass
        table = _query_read([path], columns, names, schema, options, on_skipped)
        for batch in table.slice(done).to_batches():
            yield pa.RecordBatch.from_arrays(batch.columns, schema=relaxed)

    return pa.RecordBatchReader.from_batches(relaxed, batches())


def _query_read(
    files: Sequence[str], columns: Sequence[Column], read: Sequence[str], schema: pa.Schema,
    options: dict[str, Any], on_skipped: Callable[[int], None] | None,
) -> pa.Table:
    """The DuckDB query over ``files`` (module docstring), selecting the ``read`` columns
    (``schema``); the other fields are taken as text, not converted."""
    d = dialect(options)
    wanted = set(read)
    spec = ", ".join(f"{literal(c.name)}: {literal(duck_type(c) if c.name in wanted else 'VARCHAR')}"
                     for c in columns)
    args = [
        "header = false", "auto_detect = false", f"columns = {{{spec}}}",
        f"delim = {literal(d['delim'])}", f"quote = {literal(d['quote'])}",
        f"escape = {literal(d['escape'])}", f"nullstr = {literal(d['nullstr'])}",
        "ignore_errors = true", "store_rejects = true", "null_padding = false",
        "strict_mode = true",
    ]
    if options.get("csv.allow-comments"):
        args.append("comment = '#'")
    file_list = "[" + ", ".join(literal(f) for f in files) + "]"
    # without a null literal an empty string field is the empty string (not force_not_null:
    # DuckDB applies it to the wrong column when only some columns are selected)
    empty = options.get("csv.null-literal") is None
    select = ", ".join(
        f"COALESCE({ident(c.name)}, '') AS {ident(c.name)}" if empty and is_string_column(c)
        else ident(c.name) for c in columns if c.name in wanted)
    sql = f"SELECT {select} FROM read_csv({file_list}, {', '.join(args)})"

    con = connect()
    try:
        table = con.sql(sql).to_arrow_table()
        if not options.get("csv.ignore-parse-errors"):
            _raise_first_reject(con)
        elif on_skipped is not None:
            (rejected,) = con.execute(
                "SELECT count(DISTINCT (file_id, line)) FROM reject_errors").fetchone()
            if rejected:
                on_skipped(int(rejected))
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot read CSV files {list(files)}: {exc}") from exc
    finally:
        con.close()
    return conform(table, schema)


_FAST_BLOCK_BYTES = 1 << 20  # blocks that stay in cache parse fastest; the source re-batches


def _pool() -> pa.MemoryPool:
    """jemalloc when pyarrow has it, else the system allocator: with the default mimalloc,
    reading a file block by block spends more CPU in the kernel than parsing it."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # pragma: no cover - a pyarrow built without jemalloc
        return pa.system_memory_pool()


def _arrow_batches(path: str, names: Sequence[str], schema: pa.Schema,
                   options: dict[str, Any]) -> Iterator[pa.RecordBatch] | None:
    """The fast path's batches of one file whose fields are ``names`` (by position), holding
    ``schema``'s columns (a subset of the fields, converted to its types; the other fields
    are split, not converted), or None when the options or those types are outside the fast
    path. The C scanner (:mod:`connectors.formats.csv_scan`) reads the file block by block
    while it takes the blocks; Arrow's streaming reader reads the rest from the first block
    it declines (all of the file when the scanner is off or cannot take the dialect or a
    compressed file). Arrow's errors (a file it refuses) are raised while iterating."""
    if (options.get("csv.null-literal") is not None or options.get("csv.escape-character")
            or options.get("csv.allow-comments") or len(names) < 2 or not len(schema)
            or not all(pa.types.is_signed_integer(f.type) or f.type == pa.string()
                       for f in schema)):
        return None
    delimiter = options.get("csv.field-delimiter") or ","
    quote = False if options.get("csv.disable-quote-character") else (
        options.get("csv.quote-character") or '"')
    parse = pacsv.ParseOptions(delimiter=delimiter,
                               quote_char=quote, double_quote=True, escape_char=False,
                               newlines_in_values=True, ignore_empty_lines=True)
    convert = pacsv.ConvertOptions(column_types=schema, null_values=[""],
                                   strings_can_be_null=False, quoted_strings_can_be_null=True,
                                   check_utf8=True, include_columns=schema.names)
    read = pacsv.ReadOptions(column_names=list(names), block_size=_FAST_BLOCK_BYTES,
                             use_threads=False)
    scan = None if _compressed(path) else csv_scan.scanner(
        len(names), delimiter, quote or None, [list(names).index(n) for n in schema.names], schema,
        _pool())

    def batches() -> Iterator[pa.RecordBatch]:
        start: int | None = 0
        if scan is not None:
            start = yield from csv_scan.scan_file(path, scan, _FAST_BLOCK_BYTES)
            if start is None:
                return
        with contextlib.ExitStack() as stack:
            source: str | pa.NativeFile = path
            if start:
                # from the newline ending the last block scanned: Arrow skips the empty line
                # it sees first, and takes a byte-order mark starting the next line as data,
                # as it does reading the whole file (it skips one only where its input starts)
                source = stack.enter_context(pa.OSFile(path))
                source.seek(start - 1)
            with pacsv.open_csv(source, read_options=read, parse_options=parse,
                                convert_options=convert, memory_pool=_pool()) as reader:
                yield from reader

    return batches()


def _compressed(path: str) -> bool:
    """Whether Arrow's reader decompresses ``path`` (by its extension: .gz, .bz2, ...)."""
    try:
        pa.Codec.detect(path)
    except TypeError:  # no codec for the extension
        return False
    return True


def _fast_read(files: Sequence[str], schema: pa.Schema, options: dict[str, Any]) -> pa.Table | None:
    """``files`` read whole by Arrow's CSV reader, or None when the options or column types
    are outside the fast path or Arrow refuses a file (see the module docstring)."""
    batches: list[pa.RecordBatch] = []
    try:
        for path in files:
            fast = _arrow_batches(path, schema.names, schema, options)
            if fast is None:
                return None
            batches.extend(fast)
    except (pa.ArrowException, OSError, ValueError):
        return None
    if not batches:
        return None
    return conform(pa.Table.from_batches(batches), schema)


def _raise_first_reject(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT s.file_path, e.line_byte_position, e.line, e.error_type, e.column_name, "
        "e.csv_line, e.error_message "
        "FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) "
        "ORDER BY e.file_id, e.line LIMIT 1"
    ).fetchall()
    if not rows:
        return
    path, byte_pos, line, kind, column, text, message = rows[0]
    try:
        line = _line_of(path, int(byte_pos)) if byte_pos is not None else line
    except OSError:
        pass
    what = {
        "CAST": f"value of column '{column}' does not convert: "
        + str(message).split(". ", 1)[-1],
        "MISSING COLUMNS": f"too few fields ({message})",
        "TOO MANY COLUMNS": f"too many fields ({message})",
    }.get(str(kind), str(message))
    shown = text if text is None or len(text) <= 200 else text[:200] + "..."
    raise MalformedRecordError(
        f"cannot parse CSV record {shown!r}: {what}",
        position=f"{path}:{line}",
        hint="Set 'csv.ignore-parse-errors' = 'true' to skip malformed records.",
    )
