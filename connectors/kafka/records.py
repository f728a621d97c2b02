"""A columnar chunk of Kafka messages of one partition: what the decoder reads.

Contract of :class:`Records`:
- One partition's messages, in offset order, as columns: ``values`` and ``keys`` are Arrow
  binary arrays (NULL: a tombstone value, or no key); ``offsets``, ``timestamps`` (ms since
  the epoch, -1 when the message has none) and ``timestamp_types`` (0 none, 1 create time,
  2 log-append time) are numpy arrays; ``headers`` (a list of ``[(name, bytes), ...]`` per
  message) and ``leader_epochs`` (an int or None per message) are Python lists.
- A column the reader did not ask for is None (``keys``, ``timestamps``/``timestamp_types``,
  ``headers``, ``leader_epochs``): the confluent-kafka path reads from its ``Message``
  objects only what a table needs; the native consumer always has keys and timestamps and
  never headers or leader epochs (a table that asks for those uses the confluent path).
- Built once per consumed chunk at the librdkafka boundary: :func:`from_messages` (the
  confluent-kafka path: the per-message steps are C-level ``map`` calls and the list of
  values/keys handed to ``pa.array``; the offsets are read from every message only when the
  first and last do not span exactly the chunk, i.e. when they are not simply a range) or :mod:`connectors.kafka.consume`'s native split
  (zero-copy views of the C consumer's buffers). Everything after is vectorized:
  :meth:`Records.slice`, :meth:`Records.filter`, :func:`concat`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from confluent_kafka import Message


@dataclass(slots=True)
class Records:
    topic: str
    partition: int
    values: pa.Array
    offsets: np.ndarray
    keys: pa.Array | None = None
    timestamps: np.ndarray | None = None
    timestamp_types: np.ndarray | None = None
    headers: list[Any] | None = None
    leader_epochs: list[Any] | None = None

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def first_offset(self) -> int:
        return int(self.offsets[0])

    @property
    def last_offset(self) -> int:
        return int(self.offsets[-1])

    def slice(self, start: int, stop: int) -> Records:
        return Records(
            self.topic, self.partition, self.values.slice(start, stop - start),
            self.offsets[start:stop],
            None if self.keys is None else self.keys.slice(start, stop - start),
            None if self.timestamps is None else self.timestamps[start:stop],
            None if self.timestamp_types is None else self.timestamp_types[start:stop],
            None if self.headers is None else self.headers[start:stop],
            None if self.leader_epochs is None else self.leader_epochs[start:stop],
        )

    def filter(self, mask: np.ndarray) -> Records:
        """The messages where ``mask`` (bool, one per message) is set."""
        keep = pa.array(mask)
        index = np.flatnonzero(mask) if self.headers is not None or self.leader_epochs is not None else None
        return Records(
            self.topic, self.partition, self.values.filter(keep), self.offsets[mask],
            None if self.keys is None else self.keys.filter(keep),
            None if self.timestamps is None else self.timestamps[mask],
            None if self.timestamp_types is None else self.timestamp_types[mask],
            None if self.headers is None else [self.headers[i] for i in index],
            None if self.leader_epochs is None else [self.leader_epochs[i] for i in index],
        )


def concat(chunks: Sequence[Records]) -> Records:
    """The chunks (of one partition, in offset order) as one."""
    if len(chunks) == 1:
        return chunks[0]
    first = chunks[0]

    def arrays(name: str) -> Any:
        parts = [getattr(c, name) for c in chunks]
        return None if parts[0] is None else pa.concat_arrays(parts)

    def numbers(name: str) -> Any:
        parts = [getattr(c, name) for c in chunks]
        return None if parts[0] is None else np.concatenate(parts)

    def lists(name: str) -> Any:
        parts = [getattr(c, name) for c in chunks]
        return None if parts[0] is None else [x for p in parts for x in p]

    return Records(first.topic, first.partition, arrays("values"), numbers("offsets"),
                   arrays("keys"), numbers("timestamps"), numbers("timestamp_types"),
                   lists("headers"), lists("leader_epochs"))


def from_messages(messages: Sequence[Any], *, keys: bool = False, timestamps: bool = False,
                  headers: bool = False, leader_epochs: bool = False) -> Records:
    """confluent-kafka ``Message`` objects of one partition (no error events) → Records
    with the columns asked for (module contract)."""
    n = len(messages)
    first = messages[0]
    stamps = types = None
    if timestamps:
        pairs = np.array(list(map(Message.timestamp, messages)), np.int64).reshape(n, 2)
        types, stamps = pairs[:, 0].astype(np.int8), np.ascontiguousarray(pairs[:, 1])
    low, high = first.offset(), messages[-1].offset()
    # offsets strictly increase within a partition: n of them spanning n values are a range
    offsets = (np.arange(low, high + 1, dtype=np.int64) if high - low == n - 1
               else np.fromiter(map(Message.offset, messages), np.int64, n))
    return Records(
        first.topic(), first.partition(),
        pa.array(list(map(Message.value, messages)), pa.binary()), offsets,
        pa.array(list(map(Message.key, messages)), pa.binary()) if keys else None,
        stamps, types,
        [list(m.headers() or []) for m in messages] if headers else None,
        list(map(Message.leader_epoch, messages)) if leader_epochs else None,
    )
