"""The ``kafka`` source's streaming reader: one split per topic partition.

Contract (:class:`KafkaReader`, one per source subtask; see :class:`connectors.base.SourceReader`):
- ``splits()`` lists ``"<topic>:<partition>"`` for every partition of the configured topics
  (or of every topic matching ``topic-pattern``), sorted by topic then partition, from the
  broker's metadata when the job starts. A missing topic, no topic matching the pattern, or a
  broker that does not answer within :data:`METADATA_TIMEOUT_S` is a ``ConnectorError``.
- Assignment (:meth:`KafkaReader.split_owner`, Flink's ``KafkaSourceEnumerator`` rule):
  partition ``p`` of topic ``t`` belongs to subtask ``(start(t) + p) mod parallelism``, with
  ``start(t)`` from a CRC-32 of the topic name. It depends on the split alone, so every
  subtask agrees on the owner of a partition it discovers on its own, and a partition added
  later never moves the ones already read.
- Discovery (``scan.topic-partition-discovery.interval``, only for an unbounded source;
  ``discovery_interval_ms`` is ``0`` otherwise): :meth:`KafkaReader.discover` lists the
  partitions again and returns those the caller does not know yet (new partitions of the
  topics, new topics matching the pattern). A discovered split starts at the partition's
  earliest offset, as in Flink (records produced before it was noticed are not lost); a
  metadata request that fails is logged and retried at the next interval, and a topic that
  is gone is not an error there. Each subtask lists on its own, so a partition created just
  as the job starts may be found by its owner's first listing (startup mode) or by discovery
  (earliest offset).
- One data-path consumer per reader serves all of its splits (:mod:`connectors.kafka.consume`:
  the C consumer, or the confluent-kafka one when the native module is not available, is
  switched off with ``FLOWSQL_KAFKA_NATIVE=0``, or the table reads the ``headers`` or
  ``leader-epoch`` metadata); a confluent-kafka consumer serves the metadata and offset
  calls (listing, watermarks, startup/stop offsets, monitoring commits), and is the data
  path too when the C consumer is not used. ``read(split)`` assigns the partition at its
  start offset (:mod:`connectors.kafka.offsets`, or the checkpointed position after
  ``seek``), and each step returns that partition's buffered messages decoded as one batch,
  or ``None`` when there are none yet. A step polls the consumer for at most
  :data:`POLL_TIMEOUT_S`, so ``next()`` never blocks long; messages of other partitions are
  buffered (as :class:`~connectors.kafka.records.Records` chunks) for their own splits, and
  a partition whose buffer holds :data:`PAUSE_AT` messages is paused until its split drains
  it. No Python runs per message on the C consumer's path; on the confluent-kafka path only
  C-level passes over the consumed list (:class:`~connectors.kafka.consume.ConfluentClient`).
- End-of-partition events record the partition's end; an error that is fatal, or a consumed
  error message naming an unknown topic or partition, is a ``ConnectorError`` naming
  ``topic:partition``; other errors are logged.
- A bounded split ends once it has read below its stop offset (or the partition's end, seen
  through an end-of-partition event, is at or past it); messages at or past the stop offset
  are dropped.
- ``position(split)`` = ``{"offset": next offset to read}``: resume *after* the last record
  returned. It also commits that offset to the consumer group asynchronously when
  ``properties.group.id`` is set (for monitoring only; restores use the checkpoint).
- ``skipped`` counts records dropped as malformed (lenient formats).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
import zlib
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from catalog.table import TableDefinition
from connectors.base import SourceReader
from connectors.kafka import native
from connectors.kafka.consume import (
    ConfluentClient,
    Event,
    NativeClient,
    native_properties,
)
from connectors.kafka.decode import MessageDecoder
from connectors.kafka.offsets import start_offset, stop_offset, watermarks
from connectors.kafka.options import KafkaConfig
from connectors.kafka.records import Records, concat
from flowsql.errors import ConnectorError

log = logging.getLogger(__name__)

METADATA_TIMEOUT_S = 10.0
POLL_TIMEOUT_S = 0.05
MAX_MESSAGES = 10_000  # per consume() call and per decoded batch
SERVE_METADATA_CLIENT_S = 1.0  # with the C consumer: how often the metadata consumer's queue is served
PAUSE_AT = 4 * MAX_MESSAGES  # buffered messages of one partition before it is paused


def split_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def parse_split(split: str) -> tuple[str, int]:
    topic, _, partition = split.rpartition(":")
    return topic, int(partition)


def consumer_config(config: KafkaConfig, table: TableDefinition) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "group.id": f"flowsql-{table.name.name}-{uuid.uuid4().hex[:8]}",
        # librdkafka's default (1 s) idles the fetcher for a second whenever its queue is
        # full, so a reader that drains 10,000 messages at a time waited for data
        "fetch.queue.backoff.ms": 20,
    }
    conf.update(config.client)
    conf.update({
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "logger": log,
    })
    return conf


def split_owner(split: str, parallelism: int) -> int:
    """The subtask that reads ``split`` (module contract: Flink's rule, with a stable hash)."""
    topic, partition = parse_split(split)
    start = ((zlib.crc32(topic.encode()) * 31) & 0x7FFFFFFF) % parallelism
    return (start + partition) % parallelism


def _matching(topics: dict[str, Any], config: KafkaConfig) -> list[str]:
    if config.pattern:
        regex = re.compile(config.pattern)
        return sorted(t for t in topics if regex.fullmatch(t) and not t.startswith("__"))
    return sorted(t for t in config.topics if t in topics and topics[t].error is None)


def list_partitions(client: Any, config: KafkaConfig) -> list[tuple[str, int]]:
    """Partitions of the configured topics or pattern (module contract)."""
    bootstrap = config.client.get("bootstrap.servers")
    try:
        metadata = client.list_topics(timeout=METADATA_TIMEOUT_S)
    except KafkaException as exc:
        raise ConnectorError(
            f"Kafka: no answer from the brokers at '{bootstrap}' within {METADATA_TIMEOUT_S:.0f} s "
            f"({exc.args[0]})",
            hint="Check 'properties.bootstrap.servers' and that the brokers are running.",
        ) from None
    topics = metadata.topics
    if config.pattern:
        names = _matching(topics, config)
        if not names:
            raise ConnectorError(f"Kafka: no topic at '{bootstrap}' matches the pattern "
                                 f"'{config.pattern}'")
    else:
        names = list(config.topics)
        for name in names:
            if name not in topics or topics[name].error is not None:
                raise ConnectorError(f"Kafka: topic '{name}' does not exist at '{bootstrap}'",
                                     hint="Create the topic first (auto-creation is not used).")
    return [(t, p) for t in sorted(names) for p in sorted(topics[t].partitions)]


class _Partition:
    __slots__ = ("topic", "partition", "next", "stop", "end_seen", "buffer", "buffered", "paused")

    def __init__(self, topic: str, partition: int, next_offset: int, stop: int | None) -> None:
        self.topic, self.partition = topic, partition
        self.next, self.stop = next_offset, stop
        self.end_seen = -1
        self.buffer: deque[Records] = deque()  # chunks of messages, in offset order
        self.buffered = 0  # messages in ``buffer``
        self.paused = False

    def add(self, chunk: Records) -> None:
        self.buffer.append(chunk)
        self.buffered += len(chunk)

    def finished(self) -> bool:
        if self.stop is None:
            return False
        return self.next >= self.stop or (self.end_seen >= self.stop and not self.buffer)


class KafkaReader(SourceReader):
    def __init__(self, table: TableDefinition, config: KafkaConfig) -> None:
        self.table = table
        self.config = config
        self.bounded = config.bounded != "unbounded"
        self.decoder = MessageDecoder(table, config)
        self.skipped = 0
        self.discovery_interval_ms = 0 if self.bounded else max(config.discovery_ms, 0)
        self._discovered: set[str] = set()
        self._consumer: Consumer | None = None
        self._data: ConfluentClient | NativeClient | None = None
        self._served = 0.0  # monotonic time the metadata consumer's queue was last served
        self._splits: list[str] | None = None
        self._seeks: dict[str, int] = {}
        self._parts: dict[tuple[str, int], _Partition] = {}

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            try:
                self._consumer = Consumer(consumer_config(self.config, self.table))
            except KafkaException as exc:
                raise ConnectorError(f"Kafka: invalid client properties: {exc.args[0]}") from None
        return self._consumer

    @property
    def data(self) -> ConfluentClient | NativeClient:
        """The data-path consumer (module contract)."""
        if self._data is None:
            wanted = self.decoder.wanted
            mod = None if wanted.headers or wanted.leader_epochs else native.module("_consumer")
            if mod is None:
                self._data = ConfluentClient(self.consumer, wanted)
            else:
                try:
                    self._data = NativeClient(mod, native_properties(
                        consumer_config(self.config, self.table)), wanted)
                except (ValueError, mod.Error) as exc:
                    raise ConnectorError(f"Kafka: invalid client properties: {exc.args[0]}") from None
        return self._data

    def splits(self) -> list[str]:
        if self._splits is None:
            self._splits = [split_name(t, p) for t, p in list_partitions(self.consumer, self.config)]
        return list(self._splits)

    def split_owner(self, split: str, parallelism: int) -> int:
        return split_owner(split, parallelism)

    def discover(self, known: set[str]) -> list[str]:
        """Splits the broker lists now that are not in ``known``, sorted (module contract)."""
        try:
            metadata = self.consumer.list_topics(timeout=METADATA_TIMEOUT_S)
        except KafkaException as exc:
            log.warning("Kafka: partition discovery failed (retried at the next interval): %s",
                        exc.args[0])
            return []
        topics = metadata.topics
        found = [split_name(t, p) for t in _matching(topics, self.config)
                 for p in sorted(topics[t].partitions)]
        new = [s for s in found if s not in known]
        self._discovered.update(new)
        return new

    def position(self, split: str) -> dict[str, Any] | None:
        part = self._parts.get(parse_split(split))
        offset = part.next if part is not None else self._seeks.get(split)
        if offset is None:
            return None
        if part is not None and self.config.group_id:
            try:
                self.consumer.commit(offsets=[TopicPartition(part.topic, part.partition, offset)],
                                     asynchronous=True)
            except KafkaException as exc:  # monitoring only
                log.warning("Kafka: committing the offset of %s failed: %s", split, exc)
        return {"offset": offset}

    def seek(self, split: str, position: dict[str, Any]) -> None:
        self._seeks[split] = int(position["offset"])

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        topic, partition = parse_split(split)
        consumer = self.consumer
        start = self._seeks.get(split)
        if start is None and split in self._discovered:
            start = watermarks(consumer, topic, partition)[0]
        if start is None:
            start = start_offset(consumer, self.config, topic, partition)
        part = _Partition(topic, partition, start, stop_offset(consumer, self.config, topic, partition))
        self._parts[(topic, partition)] = part
        if part.finished():
            return
        self.data.assign([(topic, partition, start)])
        try:
            while True:
                records = self._take(part)
                if records is None:
                    yield None
                else:
                    batch = self._decode(part, records)
                    del records
                    if batch is not None and batch.num_rows:
                        yield batch
                    elif not part.finished():
                        yield None
                if part.finished():
                    return
        finally:
            self._unassign(part)

    def _decode(self, part: _Partition, records: Records) -> pa.RecordBatch | None:
        if part.stop is not None and records.last_offset >= part.stop:
            records = records.slice(0, int(np.searchsorted(records.offsets, part.stop)))
            if not len(records):
                part.next = part.stop
                return None
        part.next = records.last_offset + 1
        decoded = self.decoder.decode(records)
        if decoded.skipped:
            self.skipped += decoded.skipped
            log.warning("Kafka %s:%s: skipped %d malformed record(s)", part.topic, part.partition,
                        decoded.skipped)
        return decoded.batch

    def _take(self, part: _Partition) -> Records | None:
        if not part.buffer:
            self._poll()
        if not part.buffer:
            return None
        taken = [part.buffer.popleft()]
        size = len(taken[0])
        while part.buffer and size + len(part.buffer[0]) <= MAX_MESSAGES:
            size += len(part.buffer[0])
            taken.append(part.buffer.popleft())
        part.buffered -= size
        if part.paused and not part.buffer:
            self.data.resume([(part.topic, part.partition)])
            part.paused = False
        return concat(taken)

    def _poll(self) -> None:
        """One bounded poll of the data path; its chunks go to their partition's buffer. It
        does not wait when another split already has buffered messages to return."""
        waiting = any(p.buffer for p in self._parts.values())
        chunks, events = self.data.poll(MAX_MESSAGES, 0 if waiting else POLL_TIMEOUT_S)
        for event in events:
            self._on_event(event)
        if isinstance(self._data, NativeClient) and self._consumer is not None:
            now = time.monotonic()
            if now - self._served >= SERVE_METADATA_CLIENT_S:
                # the metadata consumer is assigned nothing: poll(0) only serves its logs
                # and errors (to the logger), which would otherwise pile up in its queue
                self._served = now
                self._consumer.poll(0)
        for chunk in chunks:
            part = self._parts.get((chunk.topic, chunk.partition))
            if part is not None:
                part.add(chunk)
        for part in self._parts.values():
            if not part.paused and part.buffered >= PAUSE_AT:
                self.data.pause([(part.topic, part.partition)])
                part.paused = True

    def _on_event(self, e: Event) -> None:
        """An event of the consumer: end of a partition, or a failure."""
        if e.kind == "eof":
            part = self._parts.get((e.topic, e.partition))
            if part is not None:
                part.end_seen = e.offset
            return
        unknown = e.code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_PARTITION)
        if e.fatal or (unknown and e.topic is not None):
            where = f" {e.topic}:{e.partition}" if e.topic is not None else ""
            raise ConnectorError(f"Kafka: reading{where} failed: {e.message}")
        # a client-level error (no partition attached: librdkafka's error callback) is logged,
        # as confluent-kafka does without an error_cb; fatal ones end the job above
        log.warning("Kafka: %s", e.message)

    def _unassign(self, part: _Partition) -> None:
        if self._data is None:
            return
        try:
            self._data.unassign([(part.topic, part.partition)])
        except (KafkaException, RuntimeError):
            pass
        except Exception as exc:  # noqa: BLE001 - the native consumer's Error; unassign is cleanup
            log.debug("Kafka: unassigning %s:%s: %s", part.topic, part.partition, exc)

    def close(self) -> None:
        if self._data is not None:
            data, self._data = self._data, None
            data.close()
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            try:
                consumer.close()
            except (KafkaException, RuntimeError):
                pass
