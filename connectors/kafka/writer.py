"""The ``kafka`` sink: Arrow batches → messages of one topic, with ``none`` or ``at-least-once``
(``exactly-once`` lives in :mod:`connectors.kafka.transactions`).

Contract (:class:`KafkaWriter`, one per sink subtask; append-only input):
1. ``write(batch)`` encodes the batch's value (``value.fields-include`` decides whether the
   key fields are in it) and, with ``key.format``, its key, vectorized
   (:mod:`connectors.kafka.encode`), then hands every message to librdkafka's producer queue:
   with the native producer (:mod:`connectors.kafka.arrow_producer`, the default when it is
   built; ``FLOWSQL_KAFKA_NATIVE=0`` turns it off) the encoded arrays go to C in one call
   per batch; otherwise (and always for a sink with a ``headers`` metadata column, or
   ``exactly-once``) through confluent-kafka, one positional ``produce()`` per message,
   keyword arguments only for timestamps, headers or round-robin partitions. A full queue
   waits for deliveries (``poll``), so a slow broker backpressures the job.
2. Partitioning (``sink.partitioner``): ``default`` leaves it to librdkafka (the key's hash,
   or sticky spreading without a key); ``fixed`` sends everything of sink subtask *i* to
   partition *i* mod the topic's partitions (Flink's FlinkFixedPartitioner); ``round-robin``
   cycles through the partitions message by message.
3. Delivery: a failed delivery is remembered by the producer's one delivery callback
   (``delivery.report.only.error``: a delivered message costs no Python call; the native
   producer's callback is C and keeps the first failure and the count) and raised as
   ``ConnectorError`` (naming the topic and the broker's reason) at the next ``write``,
   ``flush`` or ``finish``. ``at-least-once``: ``flush()`` (called at every checkpoint
   barrier) and ``finish()`` wait until the broker acknowledged every message sent so far
   (``acks=all``), so a completed checkpoint never loses output; a replay after a failure may
   duplicate. ``none``: ``flush()`` does not wait; ``finish()`` still drains the queue.
   Flushes are bounded by :data:`FLUSH_TIMEOUT_S`; what is not delivered by then is an error.
- Non-VIRTUAL metadata columns ``timestamp`` (the message's timestamp; NULL: the producer's
  time) and ``headers`` (MAP<STRING, BYTES>) follow the physical columns in each batch and
  are set per message.
- :class:`KafkaBatchSink` writes a bounded result in batch mode the same way.
- ``exactly-once``: :class:`connectors.kafka.transactions.ExactlyOnceWriter`, a subclass that
  keeps each epoch's :meth:`KafkaWriter.messages` and publishes them in transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaException, Producer

from catalog.table import TableDefinition
from connectors.base import BatchSink, iter_batches
from connectors.kafka import arrow_producer
from connectors.kafka.arrow_producer import ArrowProducer
from connectors.kafka.decode import WRITABLE_METADATA
from connectors.kafka.encode import encode
from connectors.kafka.options import KafkaConfig
from flowsql.errors import ConnectorError

log = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 60.0
# the messages of a batch (KafkaWriter.messages), also the rows of an exactly-once sink's state
MESSAGES = pa.schema([
    pa.field("value", pa.binary()), pa.field("key", pa.binary()),
    pa.field("timestamp", pa.int64()), pa.field("headers", pa.map_(pa.string(), pa.binary())),
])
METADATA_TIMEOUT_S = 10.0


class KafkaWriter:
    native = True  # may use the native producer (the exactly-once writer may not)

    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        self.table = table
        self.config = config
        self.topic = config.topics[0]
        physical = list(table.physical_columns)
        self.metadata = [c for c in table.columns if c.kind == "metadata" and not c.virtual
                         and (c.metadata_key or c.name) in WRITABLE_METADATA]
        self.names = [c.name for c in physical] + [c.name for c in self.metadata]
        self.value_columns = [c for c in physical if c.name in config.value_fields]
        self.key_columns = [c for c in physical if c.name in config.key_fields]
        self.subtask, self.parallelism = 0, 1
        self._producer: Producer | ArrowProducer | None = None
        self._partitions: int | None = None
        self._next = 0
        self._errors: list[str] = []
        self.sent = 0

    def bind_subtask(self, index: int, parallelism: int) -> None:
        self.subtask, self.parallelism = index, parallelism

    @property
    def producer(self) -> Producer | ArrowProducer:
        if self._producer is None:
            if self._use_native():
                self._producer = ArrowProducer(self._client_conf())
            else:
                try:
                    self._producer = Producer(self._producer_conf())
                except KafkaException as exc:
                    raise ConnectorError(
                        f"Kafka: invalid client properties: {exc.args[0]}") from None
            self._partitions = self._partition_count()
            self._opened()
        return self._producer

    def _use_native(self) -> bool:
        """The native producer, unless this writer needs what it lacks (message headers)."""
        return (self.native and arrow_producer.available()
                and not any((c.metadata_key or c.name) == "headers" for c in self.metadata))

    def _client_conf(self) -> dict[str, Any]:
        """librdkafka's properties of the producer (either kind)."""
        conf: dict[str, Any] = {"linger.ms": 5, "delivery.report.only.error": True}
        if self.config.delivery != "none":
            conf["acks"] = "all"
        conf.update(self.config.client)
        conf.pop("group.id", None)
        return conf

    def _producer_conf(self) -> dict[str, Any]:
        """confluent-kafka's Producer configuration."""
        return {**self._client_conf(), "logger": log, "on_delivery": self._on_delivery()}

    def _opened(self) -> None:
        """A hook: the producer was just created (the exactly-once writer fences zombies)."""

    def _partition_count(self) -> int:
        bootstrap = self.config.client.get("bootstrap.servers")
        if isinstance(self._producer, ArrowProducer):
            return self._native_partition_count(self._producer, bootstrap)
        try:
            md = self._producer.list_topics(self.topic, timeout=METADATA_TIMEOUT_S)  # type: ignore[union-attr]
        except KafkaException as exc:
            raise ConnectorError(
                f"Kafka: no answer from the brokers at '{bootstrap}' within "
                f"{METADATA_TIMEOUT_S:.0f} s ({exc.args[0]})",
                hint="Check 'properties.bootstrap.servers' and that the brokers are running.",
            ) from None
        topic = md.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise ConnectorError(f"Kafka: topic '{self.topic}' does not exist at '{bootstrap}'",
                                 hint="Create the topic first (auto-creation is not used).")
        return len(topic.partitions)

    def _native_partition_count(self, producer: ArrowProducer, bootstrap: Any) -> int:
        try:
            return producer.partition_count(self.topic, METADATA_TIMEOUT_S)
        except TimeoutError as exc:
            raise ConnectorError(
                f"Kafka: no answer from the brokers at '{bootstrap}' within "
                f"{METADATA_TIMEOUT_S:.0f} s ({exc})",
                hint="Check 'properties.bootstrap.servers' and that the brokers are running.",
            ) from None
        except LookupError:
            raise ConnectorError(f"Kafka: topic '{self.topic}' does not exist at '{bootstrap}'",
                                 hint="Create the topic first (auto-creation is not used).") from None

    def _on_delivery(self) -> Any:
        """The producer's delivery callback (``on_delivery`` with
        ``delivery.report.only.error``: called for failed messages only, so a delivered
        message costs no Python call). It holds the error list, not the writer, so that the
        producer does not keep its writer alive."""
        errors = self._errors

        def on_delivery(err: Any, msg: Any) -> None:
            if err is not None and len(errors) < 5:
                errors.append(err.str())

        return on_delivery

    def _check(self) -> None:
        errors = self._errors
        if isinstance(self._producer, ArrowProducer):
            errors = self._producer.delivery_errors()
        if errors:
            raise ConnectorError(f"Kafka: delivery to topic '{self.topic}' failed: "
                                 + "; ".join(errors))

    def write(self, batch: pa.RecordBatch) -> None:
        self._check()
        producer = self.producer
        self._send(producer, self.messages(batch))
        self._check()

    def messages(self, batch: pa.RecordBatch) -> pa.Table:
        """A batch's messages, vectorized (:data:`MESSAGES` columns): the encoded value, the
        key (NULL without ``key.format``), and ``timestamp`` (epoch ms) / ``headers`` from
        the metadata columns (NULL: none)."""
        table = pa.Table.from_batches([batch.rename_columns(self.names[: batch.num_columns])])
        opts = self.config.format_options
        values = encode(table, self.value_columns, self.config.value_format, opts)
        keys = pa.nulls(table.num_rows, pa.binary())
        if self.key_columns:
            keys = encode(table, self.key_columns, self.config.key_format or "raw", opts)
        return self.message_table(table, values, keys)

    def message_table(self, table: pa.Table, values: Any, keys: Any) -> pa.Table:
        """:data:`MESSAGES` from encoded values and keys (a NULL value is a tombstone) and
        the ``timestamp`` / ``headers`` metadata columns of ``table``'s rows."""
        n = table.num_rows
        stamps, headers = pa.nulls(n, pa.int64()), pa.nulls(n, MESSAGES.field("headers").type)
        for c in self.metadata:
            col = table.column(c.name)
            if (c.metadata_key or c.name) == "timestamp":
                ms = pc.cast(col, pa.timestamp("ms", "UTC") if col.type.tz else pa.timestamp("ms"))
                stamps = ms.cast(pa.int64())
            else:
                headers = col.cast(MESSAGES.field("headers").type)
        return pa.Table.from_arrays([values.cast(pa.binary()), keys.cast(pa.binary()), stamps, headers],
                                    schema=MESSAGES)

    def _send(self, producer: Producer | ArrowProducer, messages: pa.Table) -> None:
        if isinstance(producer, ArrowProducer):
            self._send_arrays(producer, messages)
            return
        if not self.native:  # the exactly-once writer handles librdkafka's errors itself
            self._send_confluent(producer, messages)
            return
        try:
            self._send_confluent(producer, messages)
        except KafkaException as exc:  # refused at once, e.g. over message.max.bytes
            raise ConnectorError(f"Kafka: a message to topic '{self.topic}' was refused: "
                                 f"{exc.args[0].str()}") from None

    def _send_confluent(self, producer: Producer, messages: pa.Table) -> None:
        mode, parts = self.config.partitioner, self._partitions or 1
        topic, produce = self.topic, producer.produce
        stamps = messages.column("timestamp")
        headers = messages.column("headers")
        values = messages.column("value").to_pylist()
        n = len(values)
        key_col = messages.column("key")
        keys = key_col.to_pylist() if key_col.null_count < n else None
        # the librdkafka boundary: one produce() per message, positional arguments, no
        # per-message callback (delivery errors reach the producer's one callback)
        if stamps.null_count == n and headers.null_count == n and mode != "round-robin":
            if mode == "fixed":
                fixed = self.subtask % parts
                for value, key in zip(values, keys or repeat(None, n), strict=True):
                    try:
                        produce(topic, value, key, fixed)
                    except BufferError:
                        self._wait_and_produce(producer, topic, value, key, fixed)
            elif keys is not None:
                for value, key in zip(values, keys, strict=True):
                    try:
                        produce(topic, value, key)
                    except BufferError:
                        self._wait_and_produce(producer, topic, value, key)
            else:
                for value in values:
                    try:
                        produce(topic, value)
                    except BufferError:
                        self._wait_and_produce(producer, topic, value)
        else:
            self._send_each(producer, values, keys, stamps, headers)
        producer.poll(0)
        self.sent += n

    def _send_arrays(self, producer: ArrowProducer, messages: pa.Table) -> None:
        """The native path: the message arrays to C, partitions as one int or an array."""
        mode, parts, n = self.config.partitioner, self._partitions or 1, messages.num_rows
        partitions: int | pa.Array | None = None
        if mode == "fixed":
            partitions = self.subtask % parts
        elif mode == "round-robin":
            partitions = pa.array((np.arange(n, dtype=np.int64) + self._next) % parts, pa.int32())
            self._next += n
        producer.send(self.topic, messages, partitions)
        producer.poll(0)
        self.sent += n

    def _send_each(self, producer: Producer, values: list[Any], keys: list[Any] | None,
                   stamps: pa.ChunkedArray, headers: pa.ChunkedArray) -> None:
        """The general loop: message timestamps, headers, or round-robin partitions."""
        mode, parts = self.config.partitioner, self._partitions or 1
        extras: Iterable[dict[str, Any]] = repeat({})
        if stamps.null_count < len(stamps) or headers.null_count < len(headers):
            extras = ({k: v for k, v in (("timestamp", t), ("headers", h)) if v is not None}
                      for t, h in zip(stamps.to_pylist(), headers.to_pylist(), strict=True))
        for value, key, more in zip(values, keys or repeat(None), extras, strict=False):
            kwargs: dict[str, Any] = dict(more)
            if mode == "fixed":
                kwargs["partition"] = self.subtask % parts
            elif mode == "round-robin":
                kwargs["partition"] = self._next % parts
                self._next += 1
            self._wait_and_produce(producer, self.topic, value, key, **kwargs)

    @staticmethod
    def _wait_and_produce(producer: Producer, *args: Any, **kwargs: Any) -> None:
        """produce(), waiting for deliveries while the local queue is full."""
        while True:
            try:
                producer.produce(*args, **kwargs)
                return
            except BufferError:
                producer.poll(0.1)

    def flush(self) -> None:
        """At a checkpoint barrier: at-least-once waits for every acknowledgement."""
        if self._producer is None:
            return
        if self.config.delivery == "at-least-once":
            self._drain()
        else:
            self._producer.poll(0)
        self._check()

    def _drain(self) -> None:
        assert self._producer is not None
        left = self._producer.flush(FLUSH_TIMEOUT_S)
        self._check()
        if left:
            raise ConnectorError(f"Kafka: {left} message(s) to topic '{self.topic}' were not "
                                 f"delivered within {FLUSH_TIMEOUT_S:.0f} s")

    def finish(self) -> None:
        if self._producer is not None:
            self._drain()


class KafkaBatchSink(BatchSink):
    """Batch mode: every batch of the bounded result through one :class:`KafkaWriter`."""

    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        if config.delivery == "exactly-once":  # the whole result in one transaction
            from connectors.kafka.transactions import ExactlyOnceWriter

            self.writer: KafkaWriter = ExactlyOnceWriter(table, config)
        else:
            self.writer = KafkaWriter(table, config)

    def write(self, data: pa.RecordBatchReader | pa.Table) -> int:
        rows = 0
        for batch in iter_batches(data):
            if batch.num_rows:
                self.writer.write(batch)
                rows += batch.num_rows
        self.writer.finish()
        return rows
