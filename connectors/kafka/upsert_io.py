"""upsert-kafka's reader and writer: messages ⇄ an upsert changelog keyed by the PRIMARY KEY.

Contract of :class:`UpsertDecoder` / :class:`UpsertReader` (source):
- Every message of a partition becomes one row with the :data:`~flowsql.messages.ROW_KIND`
  column, in offset order: a message with a value is decoded as the ``kafka`` connector does
  (:class:`~connectors.kafka.decode.MessageDecoder`) and is an upsert (+U); a tombstone (NULL
  value) is a delete (-D) whose key columns are decoded from the message key (``key.format``,
  ``key.fields-prefix`` stripped) and whose other physical columns are NULL; metadata columns
  are filled for both. A tombstone without a key is ignored (it names no row), as in Flink.
- A malformed key or value fails with topic, partition and offset named, or, with the
  format's ``ignore-parse-errors``, is skipped and counted.
- The planner normalizes this stream into +I/-U/+U/-D (ChangelogNormalize); the reader keeps
  no state of its own, and its positions are the ``kafka`` reader's offsets.

Contract of :class:`UpsertWriter` (sink; a :class:`~connectors.kafka.writer.KafkaWriter`
whose ``write`` turns the changelog into messages, so flushing, delivery errors and the
partitioner are the ``kafka`` sink's):
1. input rows may carry ROW_KIND; -U rows are dropped; +I/+U rows are messages whose key is
   the primary key (``key.format``) and whose value is the row (``value.format``,
   ``value.fields-include``); -D rows are tombstones (the key, a NULL value). An append-only
   input is all upserts.
2. With ``sink.buffer-flush.max-rows`` and ``sink.buffer-flush.interval`` both > 0, rows are
   buffered and only the last row per key is sent, when the buffer holds ``max-rows`` rows,
   once the oldest buffered row waited ``interval`` (a background flusher thread checks
   every half interval, so a quiet input is flushed too, as in Flink), at every checkpoint
   (``flush``) and at the end (``finish``). A delivery error met by the flusher fails the
   next ``write``/``flush``.
Vectorized: decoding works on :class:`~connectors.kafka.records.Records` columns (tombstones
split off by their NULL values); encoding is :mod:`connectors.kafka.encode`; the last row per key is one pyarrow
``group_by``; the per-message loop is the producer call (the librdkafka boundary).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.table import TableDefinition
from connectors.base import columns_schema
from connectors.kafka.consume import Wanted
from connectors.kafka.decode import Decoded, MessageDecoder, _Where, unprefixed
from connectors.kafka.encode import encode
from connectors.kafka.options import KafkaConfig
from connectors.kafka.reader import KafkaReader
from connectors.kafka.records import Records
from connectors.kafka.transactions import ExactlyOnceWriter
from connectors.kafka.upsert import UpsertSettings
from connectors.kafka.writer import KafkaBatchSink, KafkaWriter
from flowsql.messages import ROW_KIND, RowKind

_KIND_FIELD = pa.field(ROW_KIND, pa.int8(), nullable=False)
_DELETED = "$deleted"


def _with_kind(table: pa.Table, kind: RowKind) -> pa.Table:
    return table.append_column(_KIND_FIELD, pa.array(np.full(table.num_rows, int(kind), np.int8)))


class UpsertDecoder(MessageDecoder):
    """Messages of one partition → upsert changelog rows (module contract)."""

    with_offsets = True  # rows are ordered by offset

    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        super().__init__(table, config)
        self.pk_columns = [c for c in self.physical if c.name in config.key_fields]
        self.pk_format_columns = unprefixed(self.pk_columns, config.key_prefix)
        self.pk_schema = columns_schema(self.pk_format_columns)
        self.changelog_schema = pa.schema([*(f.with_nullable(True) for f in self.schema),
                                           _KIND_FIELD])

    @property
    def wanted(self) -> Wanted:
        return dataclasses.replace(super().wanted, keys=True)  # a tombstone's row is its key

    def decode(self, records: Records) -> Decoded:
        has_value = records.values.is_valid().to_numpy(zero_copy_only=False)
        live = records.filter(has_value) if not has_value.all() else records
        dead = (records.filter(~has_value & records.keys.is_valid().to_numpy(zero_copy_only=False))
                if not has_value.all() else None)
        parts: list[pa.Table] = []
        offsets: list[pa.Array] = []
        skipped = 0
        if len(live):
            d = super().decode(live)
            parts.append(_with_kind(pa.Table.from_batches([d.batch]), RowKind.UPDATE_AFTER))
            offsets.append(d.offsets)
            skipped += d.skipped
        if dead is not None and len(dead):
            table, kept, bad = self._tombstones(dead)
            parts.append(table)
            offsets.append(kept)
            skipped += bad
        # -- vectorized from here on ------------------------------------------------------
        if not parts:
            return Decoded(pa.RecordBatch.from_pylist([], schema=self.changelog_schema),
                           skipped, pa.array([], pa.int64()))
        table = pa.concat_tables([p.cast(self.changelog_schema) for p in parts])
        order = pa.chunked_array(offsets, pa.int64()).combine_chunks()
        if len(parts) > 1:
            by_offset = pc.sort_indices(order)
            table, order = table.take(by_offset), order.take(by_offset)
        batches = table.combine_chunks().to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
        return Decoded(batch, skipped, order)

    def _tombstones(self, dead: Records) -> tuple[pa.Table, pa.Array, int]:
        """-D rows from the keys of tombstones: (rows, their offsets, malformed skipped)."""
        where = _Where(dead.topic, dead.partition, dead.offsets)
        key_table, bad = self._decode(dead.keys, self.config.key_format or "raw",
                                      self.pk_format_columns, self.pk_schema, where, "key")
        n = len(dead)
        arrays = []
        pk = [c.name for c in self.pk_columns]
        for f in self.schema:
            if f.name in pk:
                arrays.append(key_table.column(pk.index(f.name)).combine_chunks())
            elif any(c.name == f.name for c in self.physical):
                arrays.append(pa.nulls(n, f.type))
        for c in self.metadata:
            arrays.append(self._metadata(c, dead))
        table = pa.Table.from_arrays(arrays, schema=pa.schema(
            [f.with_type(a.type).with_nullable(True) for f, a in zip(self.schema, arrays, strict=True)]))
        table = _with_kind(table, RowKind.DELETE)
        kept = pa.array(dead.offsets, pa.int64())
        skipped = 0
        if bad is not None:
            skipped = int(pc.sum(bad.cast(pa.int64())).as_py() or 0)
            if skipped:
                table, kept = table.filter(pc.invert(bad)), kept.filter(pc.invert(bad))
        return table, kept, skipped


class UpsertReader(KafkaReader):
    """The ``kafka`` reader (splits, offsets, bounded modes) with an :class:`UpsertDecoder`."""

    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        super().__init__(table, config)
        self.decoder = UpsertDecoder(table, config)


class _UpsertMessages:
    """Changelog rows → messages and tombstones (contract point 1), for a writer that has the
    ``kafka`` writer's ``names``, ``key_columns``, ``value_columns``, ``config`` and
    ``message_table``."""

    @functools.cached_property
    def key_format_columns(self) -> list[Any]:
        """The key columns as ``key.format`` encodes them (``key.fields-prefix`` stripped)."""
        return unprefixed(self.key_columns, self.config.key_prefix)

    def _changelog(self, batch: pa.RecordBatch) -> pa.Table:
        """The rows to send, ``_DELETED`` marking the -D rows; -U rows are dropped."""
        table = pa.Table.from_batches([batch])
        n = table.num_rows
        deleted = pa.array(np.zeros(n, dtype=bool))
        if ROW_KIND in table.column_names:
            kind = table.column(ROW_KIND).combine_chunks()
            table = table.drop_columns([ROW_KIND])
            deleted = pc.equal(kind, pa.scalar(int(RowKind.DELETE), kind.type))
            keep = pc.not_equal(kind, pa.scalar(int(RowKind.UPDATE_BEFORE), kind.type))
            table = table.append_column(_DELETED, deleted).filter(keep)
        else:
            table = table.append_column(_DELETED, deleted)
        return table.rename_columns([*self.names[: table.num_columns - 1], _DELETED])

    def _upsert_messages(self, table: pa.Table) -> pa.Table:
        """:data:`~connectors.kafka.writer.MESSAGES` of :meth:`_changelog` rows."""
        opts = self.config.format_options
        deleted = table.column(_DELETED).to_numpy(zero_copy_only=False).astype(bool)
        upserts = table.filter(pa.array(~deleted)) if deleted.any() else table
        encoded = encode(upserts, self.value_columns, self.config.value_format, opts)
        if deleted.any():  # tombstones: NULL values at the deleted rows
            index = np.cumsum(~deleted) - 1
            encoded = encoded.take(pa.array(index, mask=deleted))
        key_columns = self.key_format_columns
        key_table = table.select([c.name for c in self.key_columns]).rename_columns(
            [c.name for c in key_columns])
        keys = encode(key_table, key_columns, self.config.key_format or "raw", opts)
        return self.message_table(table, encoded, keys)


def last_per_key(table: pa.Table, keys: list[str]) -> pa.Table:
    """The last row of every key, in the order those rows arrived (one ``group_by``)."""
    pos = pa.array(np.arange(table.num_rows, dtype=np.int64))
    last = table.select(keys).append_column("$pos", pos).group_by(keys, use_threads=False).aggregate(
        [("$pos", "max")])
    return table.take(pa.array(np.sort(last.column("$pos_max").to_numpy())))


class UpsertWriter(_UpsertMessages, KafkaWriter):
    """A changelog → messages and tombstones (module contract)."""

    def __init__(self, table: TableDefinition, config: KafkaConfig,
                 settings: UpsertSettings | None = None) -> None:
        super().__init__(table, config)
        self.settings = settings or UpsertSettings()
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._since = 0.0
        self._lock = threading.Lock()  # the buffer: the task thread and the flusher
        self._flusher: threading.Event | None = None  # set: the flusher thread stops
        self._flusher_error: BaseException | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        self._check()
        table = self._changelog(batch)
        if not table.num_rows:
            return
        if not self.settings.buffered:
            self._produce(table)
            return
        if self._flusher is None:
            self._start_flusher()
        with self._lock:
            if not self._buffer:
                self._since = time.monotonic()
            self._buffer.append(table)
            self._buffered += table.num_rows
            if self._buffered >= self.settings.buffer_rows or self._waited_out():
                self._flush_buffer()

    def _waited_out(self) -> bool:
        return bool(self._buffer) and (
            (time.monotonic() - self._since) * 1000.0 >= self.settings.buffer_interval_ms)

    def _start_flusher(self) -> None:
        self._flusher = threading.Event()
        threading.Thread(target=_flush_loop, daemon=True, name=f"flowsql-upsert-flush {self.topic}",
                         args=(weakref.ref(self), self._flusher,
                               self.settings.buffer_interval_ms / 2000.0)).start()

    def _flush_if_due(self) -> None:
        """On the flusher thread: flush when the oldest buffered row waited ``interval``."""
        with self._lock:
            if self._waited_out():
                try:
                    self._flush_buffer()
                except BaseException as exc:  # noqa: BLE001 - raised on the task thread
                    self._flusher_error = exc

    def _check(self) -> None:
        if self._flusher_error is not None:
            raise self._flusher_error
        super()._check()

    def _flush_buffer(self) -> None:
        """Send the last buffered row of every key, in the order those rows arrived (the
        caller holds the lock, or no flusher runs)."""
        if not self._buffer:
            return
        table = pa.concat_tables(self._buffer)
        self._buffer, self._buffered = [], 0
        self._produce(last_per_key(table, [c.name for c in self.key_columns]))

    def _produce(self, table: pa.Table) -> None:
        self._send(self.producer, self._upsert_messages(table))
        self._check()

    def flush(self) -> None:
        with self._lock:
            self._flush_buffer()
        super().flush()

    def finish(self) -> None:
        if self._flusher is not None:
            self._flusher.set()
        with self._lock:
            self._flush_buffer()
        super().finish()


def _flush_loop(ref: weakref.ref, stop: threading.Event, period_s: float) -> None:
    """The flusher thread of a buffered :class:`UpsertWriter`; it holds the writer weakly, so
    a writer its task dropped (a cancelled attempt) is not kept alive by it."""
    while not stop.wait(max(period_s, 0.01)):
        writer = ref()
        if writer is None:
            return
        writer._flush_if_due()
        del writer


class UpsertExactlyOnceWriter(_UpsertMessages, ExactlyOnceWriter):
    """``sink.delivery-guarantee`` = ``exactly-once``: the ``kafka`` sink's transactions
    (:mod:`connectors.kafka.transactions`) over upsert messages. The records of an epoch wait
    for their checkpoint anyway, so with the sink buffer on (``sink.buffer-flush.*``) an epoch
    keeps only the last message per key when it is sealed; the interval plays no part."""

    def __init__(self, table: TableDefinition, config: KafkaConfig,
                 settings: UpsertSettings | None = None) -> None:
        super().__init__(table, config)
        self.settings = settings or UpsertSettings()

    def messages(self, batch: pa.RecordBatch) -> pa.Table:
        return self._upsert_messages(self._changelog(batch))

    def _seal(self) -> pa.Table:
        epoch = super()._seal()
        if self.settings.buffered and epoch.num_rows:
            return last_per_key(epoch, ["key"])
        return epoch


class UpsertBatchSink(KafkaBatchSink):
    """Batch mode: every row of the bounded result as an upsert, through an
    :class:`UpsertWriter` (exactly-once: an :class:`UpsertExactlyOnceWriter`, the whole result
    in one transaction)."""

    def __init__(self, table: TableDefinition, config: KafkaConfig,
                 settings: UpsertSettings | None = None) -> None:
        if config.delivery == "exactly-once":
            self.writer: KafkaWriter = UpsertExactlyOnceWriter(table, config, settings)
        else:
            self.writer = UpsertWriter(table, config, settings)
