"""The ``kafka`` reader's data path: a consumer whose ``poll`` returns :class:`Records`.

Contract (both :class:`NativeClient` and :class:`ConfluentClient`):
- ``assign([(topic, partition, offset), ...])`` / ``unassign([(topic, partition), ...])``
  change the assignment incrementally; ``pause`` / ``resume`` take ``(topic, partition)``s.
- ``poll(max_messages, timeout_s)`` waits at most ``timeout_s`` and returns
  ``(chunks, events)``: the consumed messages as one :class:`~connectors.kafka.records.Records`
  per partition (in offset order; the columns asked for by :class:`Wanted`), and the
  end-of-partition and error :class:`Event`\\ s met, in order.
- ``close()`` leaves and destroys the consumer; idempotent.

:class:`NativeClient` is the C consumer (:mod:`connectors.kafka.native`, ``_consumer.c``):
librdkafka's batch is copied in C into column buffers that become Arrow arrays and numpy
views without a copy, so no Python runs per message; librdkafka's logs and error callbacks
come back as events of ``poll`` (logs go to this module's logger). It cannot read headers or
leader epochs: a table asking for them uses :class:`ConfluentClient`, the confluent-kafka
consumer (also the fallback when the native module is missing or ``FLOWSQL_KAFKA_NATIVE=0``),
whose ``Message`` objects are turned into Records as soon as they are consumed, with
Python's cyclic GC held off meanwhile (:func:`gc_paused`).

Why a hand-written consumer rather than confluent-kafka's ``consume()``: that builds a Python
``Message`` (and value bytes) per record. Measured (``bench/kafka_consume.py``: 1 M ~110-byte
messages, one partition, ``taskset -c 1``, the process's CPU including librdkafka's threads;
2 cores shared and busy): confluent-kafka ``consume()`` + the values joined 1.10–1.41
µs/message, the C consumer to Records 0.61–0.62, the confluent-kafka path to Records
1.55–1.70 (bench/RESULTS.md, section "Kafka").
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from connectors.kafka.records import Records, from_messages

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Wanted:
    """The columns beyond values and offsets that the decoder needs."""

    keys: bool = False
    timestamps: bool = False
    headers: bool = False
    leader_epochs: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    """``kind`` "eof" (the partition's end is ``offset``) or "error"."""

    kind: str
    topic: str | None
    partition: int
    offset: int
    code: int = 0
    name: str = ""
    message: str = ""
    fatal: bool = False


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic GC held off while confluent-kafka messages are alive.

    Every librdkafka ``Message`` is a GC-tracked object, so 10,000 of them at once trigger
    young collections that promote them and, in a process holding millions of objects
    (parser, planner, libraries), full collections that scan all of them: measured, that
    doubles the cost of ``consume()`` per message. The messages are freed (by reference
    count) before the pause ends, so the collector never sees them. Nested and concurrent
    pauses (several readers) share one count; the collector is enabled again by the last
    one, and only if it was enabled before the first."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class ConfluentClient:
    """The data path on a confluent-kafka ``Consumer`` (module contract)."""

    def __init__(self, consumer: Consumer, wanted: Wanted) -> None:
        self.consumer = consumer
        self.wanted = wanted
        self._assigned: set[tuple[str, int]] = set()

    def assign(self, partitions: Sequence[tuple[str, int, int]]) -> None:
        self.consumer.incremental_assign([TopicPartition(t, p, o) for t, p, o in partitions])
        self._assigned.update((t, p) for t, p, _ in partitions)

    def unassign(self, partitions: Sequence[tuple[str, int]]) -> None:
        self._assigned.difference_update(partitions)
        self.consumer.incremental_unassign([TopicPartition(t, p) for t, p in partitions])

    def pause(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.consumer.pause([TopicPartition(t, p) for t, p in partitions])

    def resume(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.consumer.resume([TopicPartition(t, p) for t, p in partitions])

    def poll(self, max_messages: int, timeout_s: float) -> tuple[list[Records], list[Event]]:
        """Per message only C-level passes over the consumed list: one for errors (and
        end-of-partition events); with a single partition assigned (one split per reader,
        the common case) the whole list is that partition's chunk, checked by its first and
        last message. Only with several partitions is each message dispatched."""
        events: list[Event] = []
        with gc_paused():  # the messages live and die inside: see gc_paused
            messages = self.consumer.consume(max_messages, timeout=timeout_s)
            if not messages:
                return [], events
            if any(map(Message.error, messages)):
                for m in messages:
                    if m.error() is not None:
                        events.append(_event(m))
                messages = [m for m in messages if m.error() is None]
                if not messages:
                    return [], events
            first, last = messages[0], messages[-1]
            if (len(self._assigned) == 1 and first.partition() == last.partition()
                    and first.topic() == last.topic()):
                groups: Any = [messages]
            else:
                chunks: dict[tuple[str, int], list[Any]] = {}
                for m in messages:
                    chunks.setdefault((m.topic(), m.partition()), []).append(m)
                groups = chunks.values()
            w = self.wanted
            records = [from_messages(g, keys=w.keys, timestamps=w.timestamps, headers=w.headers,
                                     leader_epochs=w.leader_epochs) for g in groups]
            del messages, groups, first, last
        return records, events

    def close(self) -> None:
        """The consumer belongs to the reader (it also serves the metadata calls)."""


def _event(m: Any) -> Event:
    err = m.error()
    if err.code() == KafkaError._PARTITION_EOF:
        return Event("eof", m.topic(), m.partition(), m.offset())
    return Event("error", m.topic(), m.partition() if m.partition() is not None else -1,
                 m.offset() if m.offset() is not None else -1001, err.code(), err.name(),
                 err.str(), err.fatal())


# librdkafka's syslog levels → Python logging levels
_LOG_LEVELS = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL, 3: logging.ERROR,
               4: logging.WARNING, 5: logging.INFO, 6: logging.INFO, 7: logging.DEBUG}


def native_properties(conf: dict[str, Any]) -> dict[str, str]:
    """confluent-kafka consumer properties as the C consumer takes them (str → str); the
    ``logger`` (a Python object) is dropped: the C consumer's logs come back as events."""
    out = {}
    for k, v in conf.items():
        if k == "logger":
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


class NativeClient:
    """The data path on the C consumer (module contract)."""

    def __init__(self, module: ModuleType, properties: dict[str, str], wanted: Wanted) -> None:
        if wanted.headers or wanted.leader_epochs:
            raise ValueError("the native consumer reads no headers or leader epochs")
        self.wanted = wanted
        self.consumer = module.Consumer(properties)

    def assign(self, partitions: Sequence[tuple[str, int, int]]) -> None:
        self.consumer.assign(list(partitions))

    def unassign(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.consumer.unassign(list(partitions))

    def pause(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.consumer.pause(list(partitions))

    def resume(self, partitions: Sequence[tuple[str, int]]) -> None:
        self.consumer.resume(list(partitions))

    def poll(self, max_messages: int, timeout_s: float) -> tuple[list[Records], list[Event]]:
        (topics, topic_index, partitions, offsets, stamps, types, values, keys,
         raw_events) = self.consumer.consume(max_messages, int(timeout_s * 1000),
                                             keys=self.wanted.keys)
        events = _native_events(raw_events) if raw_events else []
        n = len(offsets) // 8
        if n == 0:
            return [], events
        whole = Records(
            topics[0], 0, binary_array(values, n), np.frombuffer(offsets, np.int64),
            binary_array(keys, n) if keys is not None else None,
            np.frombuffer(stamps, np.int64), np.frombuffer(types, np.int8))
        parts = np.frombuffer(partitions, np.int32)
        tidx = np.frombuffer(topic_index, np.int32)
        if len(topics) == 1 and parts[0] == parts[-1] and parts.min() == parts.max():
            whole.partition = int(parts[0])
            return [whole], events
        key = (tidx.astype(np.int64) << 32) | parts.astype(np.int64)
        chunks = []
        for k in np.unique(key):  # few partitions per consume: one vectorized mask each
            chunk = whole.filter(key == k)
            chunks.append(replace(chunk, topic=topics[int(k) >> 32], partition=int(k) & 0xFFFFFFFF))
        return chunks, events

    def close(self) -> None:
        self.consumer.close()


def binary_array(column: tuple[Any, ...], n: int) -> pa.Array:
    """The C consumer's (offsets, data, validity, null_count, wide) as an Arrow binary array,
    without a copy."""
    offsets, data, validity, nulls, wide = column
    return pa.Array.from_buffers(
        pa.large_binary() if wide else pa.binary(), n,
        [pa.py_buffer(validity) if validity is not None else None, pa.py_buffer(offsets),
         pa.py_buffer(data)], null_count=nulls)


def _native_events(raw: list[tuple[Any, ...]]) -> list[Event]:
    events = []
    for e in raw:
        if e[0] == "eof":
            events.append(Event("eof", e[1], e[2], e[3]))
        elif e[0] == "error":
            _, code, name, message, fatal, topic, partition, offset = e
            events.append(Event("error", topic, partition, offset, code, name, message, fatal))
        else:
            _, level, facility, message = e
            log.log(_LOG_LEVELS.get(level, logging.INFO), "librdkafka %s: %s", facility, message)
    return events
