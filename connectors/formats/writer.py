"""Write one part file of a bounded result in csv, json or parquet.

Contract of :func:`write_part_file`: the input's columns are taken by position as the
table's physical columns (renamed to them and cast to their declared types), written through
a private DuckDB connection with ``COPY ... TO`` into ``<directory>/part-<uuid>-0.<ext>``;
returns ``(rows written, file path)``. An empty input writes no file. CSV has no header and
uses the ``csv.*`` dialect (delimiter, quote, escape, null literal); JSON is one object per
line, timestamps as SQL text or, with ``json.timestamp-format.standard`` = ``ISO-8601``, as
``yyyy-MM-ddTHH:mm:ss.SSS`` (``Z`` for TIMESTAMP_LTZ).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from catalog.table import Column
from connectors.base import iter_batches
from connectors.formats.csv_format import dialect
from connectors.formats.duck import connect, duck_type, ident, literal
from flowsql.errors import ConnectorError
from flowsql.types import parse_type

EXTENSIONS = {"csv": "csv", "json": "json", "parquet": "parquet"}
INPROGRESS = ".inprogress"


def visible_name(hidden_path: str) -> str:
    """The committed name of a hidden part file (``.part-x.csv.inprogress`` -> ``part-x.csv``)."""
    folder, name = os.path.split(hidden_path)
    return os.path.join(folder, name[1:-len(INPROGRESS)])


def _renamed(data: pa.Table | pa.RecordBatchReader, names: list[str]) -> pa.RecordBatchReader:
    if data.schema.names and len(data.schema) != len(names):
        raise ConnectorError(
            f"the sink has {len(names)} physical columns ({', '.join(names)}) "
            f"but the data has {len(data.schema)} ({', '.join(data.schema.names)})"
        )
    schema = pa.schema([pa.field(n, f.type) for n, f in zip(names, data.schema, strict=True)])

    def batches() -> Iterator[pa.RecordBatch]:
        for b in iter_batches(data):
            yield pa.RecordBatch.from_arrays(b.columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def select_sql(columns: Sequence[Column], fmt: str, options: dict[str, Any]) -> str:
    iso = fmt == "json" and options.get("json.timestamp-format.standard") == "ISO-8601"
    out = []
    for c in columns:
        expr = f"CAST({ident(c.name)} AS {duck_type(c)})"
        root = parse_type(c.data_type or "STRING").root
        if iso and root in ("TIMESTAMP", "TIMESTAMP_LTZ"):
            zone = "Z" if root == "TIMESTAMP_LTZ" else ""
            expr = f"strftime({expr}, '%Y-%m-%dT%H:%M:%S.%g{zone}')"
        out.append(f"{expr} AS {ident(c.name)}")
    return ", ".join(out)


def write_part_file(
    data: pa.Table | pa.RecordBatchReader,
    directory: str,
    fmt: str,
    columns: Sequence[Column],
    options: dict[str, Any],
    hidden: bool = False,
) -> tuple[int, str | None]:
    """Write ``data`` as one part file under ``directory`` (module docstring); ``hidden``
    writes ``.part-<uuid>-0.<ext>.inprogress`` instead, which readers skip (see
    :func:`visible_name`)."""
    reader = _renamed(data, [c.name for c in columns])
    first = next(iter(reader), None)
    if first is None:
        return 0, None

    def again() -> Iterator[pa.RecordBatch]:
        yield first
        yield from reader

    source = pa.RecordBatchReader.from_batches(reader.schema, again())
    name = f"part-{uuid.uuid4()}-0.{EXTENSIONS[fmt]}"
    path = os.path.join(directory, f".{name}{INPROGRESS}" if hidden else name)
    if fmt == "csv":
        d = dialect(options)
        copy_opts = (
            f"FORMAT csv, HEADER false, DELIMITER {literal(d['delim'])}, "
            f"QUOTE {literal(d['quote'])}, ESCAPE {literal(d['escape'])}, "
            f"NULLSTR {literal(d['nullstr'])}"
        )
    elif fmt == "json":
        copy_opts = "FORMAT json"
    else:
        copy_opts = "FORMAT parquet"
    con = connect()
    try:
        con.register("sink_input", source)
        sql = f"COPY (SELECT {select_sql(columns, fmt, options)} FROM sink_input) TO {literal(path)} ({copy_opts})"
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise ConnectorError(f"cannot write {fmt} file '{path}': {exc}") from exc
    finally:
        con.close()
    return int(rows[0][0]) if rows else 0, path
