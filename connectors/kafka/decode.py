"""Kafka messages of one partition → one Arrow batch of the table's source columns.

Contract of :class:`MessageDecoder`:
- ``decode(records)`` takes a :class:`~connectors.kafka.records.Records` chunk (messages of
  ONE partition, in offset order, as columns; built at the librdkafka boundary by either
  consumer of :mod:`connectors.kafka.consume`) and returns a :class:`Decoded`: a
  ``pa.RecordBatch`` with the physical columns (in table order) then the metadata columns
  (:data:`METADATA`, in table order), and how many records were skipped as malformed.
  ``wanted`` says which columns beyond values and offsets the chunk must carry (keys,
  timestamps, headers, leader epochs).
- No per-message Python: decoding is vectorized over the whole chunk:
  - ``json``: :func:`connectors.formats.json_format.decode_json_values` (the fast path over
    the values array) when the columns allow it and the records are plain; otherwise one
    string array decoded by :func:`connectors.formats.json_format.decode_json_lines` (one
    DuckDB query); both have the same semantics and options as the filesystem's json
    format;
  - ``csv``: :func:`connectors.kafka.csv_records.decode_csv_records` (pyarrow's CSV reader,
    then a vectorized cast);
  - ``raw``: the value bytes are the single value column (STRING: UTF-8 text, BYTES as is);
  - ``avro``: one schemaless Avro record per message (:mod:`connectors.formats.avro_format`;
    always strict, as Flink's avro format has no ignore-parse-errors); ``avro-confluent``
    likewise, with the writer schema of each message from the Schema Registry
    (:mod:`connectors.formats.avro_confluent`);
  - ``debezium-json`` / ``canal-json`` / ``maxwell-json`` (values only): a message gives 0..n
    rows and the batch ends with the :data:`~flowsql.messages.ROW_KIND` column
    (:func:`connectors.formats.cdc_json.decode_changelog`); key and metadata columns repeat
    for every row of their message.
- A message whose value is NULL (a tombstone) yields no row and is not counted as malformed.
- ``Decoded.offsets`` holds the offset of every returned row (in row order) when the decoder's
  ``with_offsets`` is set (the upsert decoder), else None.
- With ``KafkaConfig.key_prefix`` (upsert-kafka's ``key.fields-prefix``) the key format sees
  the key columns without the prefix (:func:`unprefixed`).
- A malformed key or value: with the format's ``ignore-parse-errors`` the record is dropped
  and counted; otherwise :class:`MalformedRecordError` names topic, partition and offset (and
  the field, when the format knows it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.table import Column, TableDefinition
from connectors.base import columns_schema
from connectors.formats.avro_confluent import decode_confluent
from connectors.formats.avro_format import decode_avro
from connectors.formats.cdc_json import CDC_FORMATS, decode_changelog
from connectors.formats.json_format import (
    decode_json_lines,
    decode_json_values,
    fast_json_columns,
    text_lines,
)
from connectors.kafka.consume import Wanted
from connectors.kafka.options import KafkaConfig
from connectors.kafka.records import Records
from flowsql.errors import ConnectorError, MalformedRecordError
from flowsql.messages import ROW_KIND
from flowsql.types import parse_type, to_arrow

# Flink's readable metadata of the kafka connector: key → Flink type.
METADATA: dict[str, str] = {
    "topic": "STRING NOT NULL",
    "partition": "INT NOT NULL",
    "headers": "MAP<STRING, BYTES> NOT NULL",
    "leader-epoch": "INT",
    "offset": "BIGINT NOT NULL",
    "timestamp": "TIMESTAMP_LTZ(3) NOT NULL",
    "timestamp-type": "STRING NOT NULL",
}
# Flink's writable metadata of the kafka sink.
WRITABLE_METADATA: dict[str, str] = {
    "headers": "MAP<STRING, BYTES>",
    "timestamp": "TIMESTAMP_LTZ(3)",
}
_TIMESTAMP_TYPE_NAMES = pa.array(["NoTimestampType", "CreateTime", "LogAppendTime"], pa.string())


def metadata_columns(table: TableDefinition) -> list[Column]:
    """The table's metadata columns, each checked against :data:`METADATA`."""
    cols = [c for c in table.columns if c.kind == "metadata"]
    for c in cols:
        key = c.metadata_key or c.name
        if key not in METADATA:
            raise ConnectorError(
                f"Unknown metadata key '{key}' of column '{c.name}' for connector 'kafka'",
                hint="Readable metadata: " + ", ".join(METADATA),
            )
    return cols


def unprefixed(columns: Sequence[Column], prefix: str) -> list[Column]:
    """The key columns as the key format names them: ``key.fields-prefix`` removed."""
    if not prefix:
        return list(columns)
    return [dataclasses.replace(c, name=c.name[len(prefix):] if c.name.startswith(prefix) else c.name)
            for c in columns]


@dataclass
class Decoded:
    batch: pa.RecordBatch
    skipped: int
    offsets: pa.Array | None = None  # offset of every row of ``batch``


class MessageDecoder:
    """Decodes message batches of one table (module contract)."""

    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        self.table = table
        self.config = config
        physical = list(table.physical_columns)
        self.physical = physical
        self.value_columns = [c for c in physical if c.name in config.value_fields]
        key_set = set(config.key_fields) - set(config.value_fields)
        self.key_columns = [c for c in physical if c.name in key_set]
        self.metadata = metadata_columns(table)
        self.keys_needed = bool(self.key_columns)
        self.output_columns = [*physical, *self.metadata]
        self.schema = columns_schema(self.output_columns)
        self.value_schema = columns_schema(self.value_columns)
        self.key_format_columns = unprefixed(self.key_columns, config.key_prefix)
        self.key_schema = columns_schema(self.key_format_columns)
        opts = config.format_options
        self.lenient = {
            "json": bool(opts.get("json.ignore-parse-errors")),
            "csv": bool(opts.get("csv.ignore-parse-errors")),
            "raw": False,
            "avro": False,
            "avro-confluent": False,
            **{f: bool(opts.get(f"{f}.ignore-parse-errors")) for f in CDC_FORMATS},
        }
        wanted = {c.metadata_key or c.name for c in self.metadata}
        self.want_headers = "headers" in wanted
        self.want_epoch = "leader-epoch" in wanted
        self.fast_json = (config.value_format == "json"
                          and fast_json_columns(self.value_columns, opts))

    with_offsets = False  # fill Decoded.offsets (the upsert decoder orders rows by them)

    @property
    def wanted(self) -> Wanted:
        """The message columns :meth:`decode` reads beyond values and offsets."""
        keys = {c.metadata_key or c.name for c in self.metadata}
        return Wanted(keys=self.keys_needed,
                      timestamps=bool(keys & {"timestamp", "timestamp-type"}),
                      headers=self.want_headers, leader_epochs=self.want_epoch)

    def decode(self, records: Records) -> Decoded:
        if records.values.null_count:  # tombstones yield no row
            records = records.filter(records.values.is_valid().to_numpy(zero_copy_only=False))
        if not len(records):
            return Decoded(pa.RecordBatch.from_pylist([], schema=self.schema), 0,
                           pa.array([], pa.int64()) if self.with_offsets else None)
        where = _Where(records.topic, records.partition, records.offsets)
        if self.config.value_format in CDC_FORMATS:
            return self._decode_changelog(records, where)
        fast = self._fast_json(records.values) if self.fast_json else None
        if fast is not None:
            value_table, bad = fast, None
        else:
            value_table, bad = self._decode(records.values, self.config.value_format,
                                            self.value_columns, self.value_schema, where, "value")
        key_table = None
        if self.keys_needed:
            key_table, key_bad = self._decode_keys(records, where)
            bad = key_bad if bad is None else (bad if key_bad is None else pc.or_(bad, key_bad))
        arrays = []
        for c in self.physical:
            source = value_table if c.name in self.value_schema.names else key_table
            arrays.append(source.column(c.name))
        for c in self.metadata:
            arrays.append(self._metadata(c, records))
        table = pa.Table.from_arrays(
            [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays],
            schema=_relaxed(self.schema, arrays),
        )
        skipped = 0
        kept = pa.array(records.offsets, pa.int64()) if self.with_offsets else None
        if bad is not None:
            skipped = int(pc.sum(bad.cast(pa.int64())).as_py() or 0)
            if skipped:
                table = table.filter(pc.invert(bad))
                kept = kept.filter(pc.invert(bad)) if kept is not None else None
        batches = table.combine_chunks().to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
        return Decoded(batch, skipped, kept)

    def _fast_json(self, values: pa.Array) -> pa.Table | None:
        """The JSON values read at once (:func:`~connectors.formats.json_format.decode_json_values`);
        None when that fast path cannot take the records exactly as the general path does
        (that path then decides, record by record)."""
        decoded = decode_json_values(values, self.value_columns, self.value_schema,
                                     self.config.format_options)
        return decoded.values if decoded is not None else None

    def _decode_keys(self, records: Records, where: _Where) -> tuple[pa.Table, pa.Array | None]:
        """The key columns of every message (``key.format``, ``key.fields-prefix`` stripped)."""
        if records.keys is None:
            raise ConnectorError("internal: the key columns were not read from the messages")
        table, bad = self._decode(records.keys, self.config.key_format or "raw",
                                  self.key_format_columns, self.key_schema, where, "key")
        return table.rename_columns([c.name for c in self.key_columns]), bad

    def _decode_changelog(self, records: Records, where: _Where) -> Decoded:
        """A changelog value format: each message gives 0..n rows with a row kind
        (:mod:`connectors.formats.cdc_json`); keys and metadata repeat per row."""
        fmt = self.config.value_format
        rows = decode_changelog(fmt, records.values, self.value_columns,
                                self.value_schema, self.config.format_options)
        if rows.first_bad is not None and not self.lenient[fmt]:
            index, message = rows.first_bad
            raise MalformedRecordError(message, position=where(index),
                                       hint=f"Set '{fmt}.ignore-parse-errors' = 'true' to skip "
                                            "malformed records.")
        bad, seq, kind, value_table = rows.bad, rows.seq, rows.kind, rows.values
        take = pa.array(seq, pa.int64())
        key_table = None
        if self.keys_needed:
            key_table, key_bad = self._decode_keys(records, where)
            if key_bad is not None:
                bad = bad | key_bad.to_numpy(zero_copy_only=False).astype(bool)
                keep = ~bad[seq]
                seq, kind, value_table = seq[keep], kind[keep], value_table.filter(pa.array(keep))
                take = pa.array(seq, pa.int64())
            key_table = key_table.take(take)
        arrays: list[Any] = []
        for c in self.physical:
            source = value_table if c.name in self.value_schema.names else key_table
            arrays.append(source.column(c.name).combine_chunks())  # type: ignore[union-attr]
        for c in self.metadata:
            arrays.append(self._metadata(c, records).take(take))
        arrays.append(pa.array(kind, pa.int8()))
        schema = _relaxed(pa.schema([*self.schema, pa.field(ROW_KIND, pa.int8(), False)]), arrays)
        table = pa.Table.from_arrays(arrays, schema=schema)
        batches = table.combine_chunks().to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=schema)
        return Decoded(batch, int(bad.sum()), pa.array(records.offsets, pa.int64()).take(take))

    def _metadata(self, c: Column, records: Records) -> pa.Array:
        key = c.metadata_key or c.name
        n = len(records)
        t = to_arrow(parse_type(c.data_type or METADATA[key]))
        if key == "topic":
            arr = pa.repeat(pa.scalar(records.topic, pa.string()), n)
        elif key == "partition":
            arr = pa.array(np.full(n, records.partition, np.int32))
        elif key == "offset":
            arr = pa.array(records.offsets, pa.int64())
        elif key == "timestamp":
            arr = pa.array(_read(records.timestamps, key), pa.int64()).cast(pa.timestamp("ms", "UTC"))
        elif key == "timestamp-type":
            types = np.clip(_read(records.timestamp_types, key), 0, 2)
            arr = _TIMESTAMP_TYPE_NAMES.take(pa.array(types.astype(np.int32)))
        elif key == "leader-epoch":
            arr = pa.array(_read(records.leader_epochs, key), pa.int32())
        else:  # headers
            arr = pa.array(_read(records.headers, key), pa.map_(pa.string(), pa.binary()))
        return arr if arr.type == t else arr.cast(t)

    # -- formats ----------------------------------------------------------------------------
    def _decode(self, raw: pa.Array, fmt: str, columns: list[Column], schema: pa.Schema,
                where: _Where, part: str) -> tuple[pa.Table, pa.Array | None]:
        """Decode ``raw`` (binary) into ``columns``; returns the table and the bad-row mask."""
        lenient = self.lenient[fmt]
        if fmt == "raw":
            col = columns[0]
            target = schema.field(0).type
            if pa.types.is_binary(target) or pa.types.is_large_binary(target):
                return pa.table({col.name: raw.cast(target)}), None
            lines = text_lines(raw)
            if not pc.all(lines.column("utf8_ok")).as_py():
                index = pc.index(lines.column("utf8_ok"), False).as_py()
                raise MalformedRecordError(f"the raw {part} is not valid UTF-8 text",
                                           position=where(index))
            try:
                return pa.table({col.name: lines.column("line").cast(target)}), None
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ConnectorError(f"the raw format cannot read column '{col.name}' "
                                     f"of type {col.data_type}: {exc}") from None
        if fmt in ("avro", "avro-confluent"):  # no ignore-parse-errors in Flink: always strict
            table, bad, first = (decode_avro(raw, columns, schema) if fmt == "avro" else
                                 decode_confluent(raw, columns, schema, self.config.format_options))
            if first is not None:
                raise MalformedRecordError(f"{first[1]} (Avro {part})", position=where(first[0]))
            return table, None
        if fmt == "json":
            decoded = decode_json_lines(text_lines(raw), columns, schema, self.config.format_options,
                                        what=f"JSON {part}s of {where.topic}")
            if decoded.first_bad is not None and not lenient:
                index, message = decoded.first_bad
                raise MalformedRecordError(message.replace("JSON record", f"JSON {part}", 1),
                                           position=where(index),
                                           hint="Set 'json.ignore-parse-errors' = 'true' to skip "
                                                "malformed records.")
            return decoded.values, decoded.bad.combine_chunks() if decoded.bad_count else None
        from connectors.kafka.csv_records import decode_csv_records

        table, bad, first = decode_csv_records(raw, columns, schema, self.config.format_options)
        if first is not None and not lenient:
            index, message = first
            raise MalformedRecordError(message, position=where(index),
                                       hint="Set 'csv.ignore-parse-errors' = 'true' to skip "
                                            "malformed records.")
        return table, bad


@dataclass
class _Where:
    topic: str
    partition: int
    offsets: Sequence[int]

    def __call__(self, index: int) -> str:
        return f"topic '{self.topic}', partition {self.partition}, offset {int(self.offsets[index])}"


def _read(column: Any, key: str) -> Any:
    if column is None:
        raise ConnectorError(f"internal: the '{key}' metadata was not read from the messages")
    return column


def _relaxed(schema: pa.Schema, arrays: list[Any]) -> pa.Schema:
    fields = []
    for f, a in zip(schema, arrays, strict=True):
        f = f.with_type(a.type)
        fields.append(f if a.null_count == 0 else f.with_nullable(True))
    return pa.schema(fields)
