"""Flink's ``avro`` format for Kafka message keys and values: one schemaless Avro binary record
per message, with the Avro schema derived from the table's columns.

Contract:
- :func:`avro_schema` is Flink's ``AvroSchemaConverter`` mapping: a record named
  ``org.apache.flink.avro.generated.record`` (a nested ROW ``..._<field>``), fields in column
  order; BOOLEAN → boolean, TINYINT/SMALLINT/INT → int, BIGINT → long, FLOAT → float,
  DOUBLE → double, CHAR/VARCHAR/STRING → string, BINARY/BYTES → bytes, DECIMAL(p, s) → bytes
  with logical type decimal, DATE → int date, TIME → int time-millis, TIMESTAMP /
  TIMESTAMP_LTZ → long timestamp-millis (precision ≤ 3) or timestamp-micros, ARRAY → array,
  MAP<STRING, T> → map, ROW → record. A nullable column is the union ``["null", T]`` (default
  null); a NOT NULL one is ``T``. Other types raise ``ConnectorError`` at planning.
- :func:`decode_avro` reads one record per element of a binary array into the columns' Arrow
  schema. A record that does not decode, or has bytes left over, is bad: returns the table
  (a bad record's row is NULL), the bad mask, and the first bad record's index and reason.
  The ``avro`` format has no ignore-parse-errors option in Flink: the caller fails on it.
- :func:`encode_avro` writes each row as one record.
- ``avro.encoding`` = ``binary`` (Flink's default); ``json`` is not supported yet.
How: fastavro (C-accelerated) decodes/encodes each record, with the schema parsed once; the
rows become Arrow columns in one ``pa.Table.from_pylist``. This is a per-record library call
(Avro has no record framing that would let a whole batch be split without decoding it).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import fastavro
import pyarrow as pa

from catalog.table import Column
from connectors.base import OptionSpec
from flowsql.errors import ConnectorError, NotSupportedError
from flowsql.types import FlinkType, parse_type

AVRO_OPTIONS: list[OptionSpec] = [
    OptionSpec("avro.encoding", "enum", default="binary", choices=("binary", "json"),
               description="Avro encoding of each message (json: not supported yet)."),
]
_NAME = "org.apache.flink.avro.generated.record"
_PRIMITIVE = {"BOOLEAN": "boolean", "TINYINT": "int", "SMALLINT": "int", "INT": "int",
              "BIGINT": "long", "FLOAT": "float", "DOUBLE": "double", "CHAR": "string",
              "VARCHAR": "string", "BINARY": "bytes", "VARBINARY": "bytes"}


def _type(t: FlinkType, name: str) -> Any:
    r = t.root
    if r in _PRIMITIVE:
        out: Any = _PRIMITIVE[r]
    elif r == "DECIMAL":
        p = t.params[0] if t.params else 10
        s = t.params[1] if len(t.params) > 1 else 0
        out = {"type": "bytes", "logicalType": "decimal", "precision": p, "scale": s}
    elif r == "DATE":
        out = {"type": "int", "logicalType": "date"}
    elif r == "TIME":
        out = {"type": "int", "logicalType": "time-millis"}
    elif r in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        micros = (t.precision if t.precision is not None else 3) > 3
        out = {"type": "long", "logicalType": "timestamp-micros" if micros else "timestamp-millis"}
    elif r in ("ARRAY", "MULTISET"):
        out = {"type": "array", "items": _type(t.children[0], name)}
    elif r == "MAP":
        if t.children[0].root not in ("VARCHAR", "CHAR"):
            raise ConnectorError(f"the avro format needs STRING map keys, not {t.children[0]}")
        out = {"type": "map", "values": _type(t.children[1], name)}
    elif r == "ROW":
        out = {"type": "record", "name": name, "fields": [
            _field(n, c, f"{name}_{n}") for n, c in zip(t.field_names, t.children, strict=True)]}
    else:
        raise ConnectorError(f"the avro format does not support the type {t}")
    return ["null", out] if t.nullable else out


def _field(name: str, t: FlinkType, record_name: str) -> dict[str, Any]:
    f: dict[str, Any] = {"name": name, "type": _type(t, record_name)}
    if t.nullable:
        f["default"] = None
    return f


def avro_schema(columns: Sequence[Column]) -> dict[str, Any]:
    """The Avro record schema of ``columns`` (module contract)."""
    return {"type": "record", "name": _NAME, "fields": [
        _field(c.name, parse_type(c.data_type or "STRING"), f"{_NAME}_{c.name}") for c in columns]}


@lru_cache(maxsize=64)
def _parsed(key: tuple[tuple[str, str], ...]) -> Any:
    return fastavro.parse_schema(avro_schema([Column(n, t) for n, t in key]))


def parsed_schema(columns: Sequence[Column]) -> Any:
    return _parsed(tuple((c.name, c.data_type or "STRING") for c in columns))


def check_options(options: dict[str, Any]) -> None:
    if (options.get("avro.encoding") or "binary") != "binary":
        raise NotSupportedError("'avro.encoding' = 'json'", hint="Use the default 'binary'.")


def decode_avro(raw: pa.Array, columns: Sequence[Column], schema: pa.Schema
                ) -> tuple[pa.Table, pa.Array | None, tuple[int, str] | None]:
    """Binary records → (table, bad mask or None, first bad (index, reason) or None)."""
    parsed = parsed_schema(columns)
    return decode_records(raw.to_pylist(), lambda i: parsed, schema)


def decode_records(values: list[bytes | None], writer: Any, schema: pa.Schema,
                   first_bad: tuple[int, str] | None = None, bad: list[bool] | None = None
                   ) -> tuple[pa.Table, pa.Array | None, tuple[int, str] | None]:
    """Schemaless records, each read with ``writer(i)`` (a parsed Avro schema, or None when the
    record is already known bad: ``bad`` / ``first_bad`` from the caller), into ``schema``'s
    columns by field name (fields the schema does not name are ignored, missing ones NULL)."""
    empty = dict.fromkeys(schema.names)
    records: list[dict[str, Any]] = []
    flags = list(bad) if bad is not None else [False] * len(values)
    first = first_bad
    reader = fastavro.schemaless_reader
    for i, value in enumerate(values):
        parsed = None if flags[i] else writer(i)
        if parsed is None:
            records.append(empty)
            flags[i] = True
            continue
        buf = io.BytesIO(value or b"")
        try:
            rec = reader(buf, parsed, parsed)
            left = len(value or b"") - buf.tell()
            if left:
                raise ValueError(f"{left} byte(s) left after the record")
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError...
            if first is None or i < first[0]:
                first = (i, f"cannot decode Avro record: {type(exc).__name__}: {exc}")
            records.append(empty)
            flags[i] = True
            continue
        records.append(rec)
    try:
        table = pa.Table.from_pylist(records, schema=pa.schema([f.with_nullable(True) for f in schema]))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ConnectorError(f"cannot convert Avro records to the table's columns: {exc}") from None
    return table, pa.array(flags) if first is not None else None, first


def encode_avro(table: pa.Table, columns: Sequence[Column], parsed: Any = None,
                header: bytes = b"") -> pa.Array:
    """One schemaless Avro binary record per row (``parsed``: the schema to write with,
    default the columns' own; ``header``: bytes written before each record)."""
    parsed = parsed_schema(columns) if parsed is None else parsed
    writer = fastavro.schemaless_writer
    out: list[bytes] = []
    rows = table.select([c.name for c in columns]).to_pylist(maps_as_pydicts="strict")
    for row in rows:
        buf = io.BytesIO()
        buf.write(header)
        try:
            writer(buf, parsed, row)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConnectorError(f"cannot encode row {row!r} as Avro: {exc}") from None
        out.append(buf.getvalue())
    return pa.array(out, pa.binary())
