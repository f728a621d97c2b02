"""Where a partition's reading starts and ends, from ``scan.startup.*`` and ``scan.bounded.*``.

Contract (all offsets are concrete: "the next offset to read" / "read below this offset"):
- :func:`start_offset`: ``earliest-offset`` → the partition's low watermark; ``latest-offset``
  → its high watermark; ``timestamp`` → the first offset whose timestamp is >= the given
  millis (the high watermark when there is none); ``specific-offsets`` → the offset given for
  the partition (a partition not listed starts at the earliest offset); ``group-offsets`` →
  the group's committed offset, or, without one, ``properties.auto.offset.reset``
  (``earliest`` by default, ``latest``/``largest``/``end`` for the high watermark; Flink's
  default would fail instead).
- :func:`stop_offset`: ``None`` for ``unbounded``; else the same rules with the
  ``scan.bounded.*`` options, a partition without a specific or committed offset ending at
  its high watermark when the job started reading it.
- Every broker call has a bounded timeout; a failure is a ``ConnectorError`` naming the
  partition.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from connectors.kafka.options import KafkaConfig
from flowsql.errors import ConnectorError

TIMEOUT_S = 10.0


def _call(what: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args, timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise ConnectorError(f"Kafka: cannot read {what}: {exc.args[0]}") from None


def watermarks(consumer: Any, topic: str, partition: int) -> tuple[int, int]:
    return _call(f"the offsets of {topic}:{partition}", consumer.get_watermark_offsets,
                 TopicPartition(topic, partition))


def _by_time(consumer: Any, topic: str, partition: int, millis: int) -> int:
    found = _call(f"the offsets of {topic}:{partition} for timestamp {millis}",
                  consumer.offsets_for_times, [TopicPartition(topic, partition, millis)])
    offset = found[0].offset
    return offset if offset >= 0 else watermarks(consumer, topic, partition)[1]


def _committed(consumer: Any, topic: str, partition: int) -> int | None:
    found = _call(f"the committed offset of {topic}:{partition}", consumer.committed,
                  [TopicPartition(topic, partition)])
    offset = found[0].offset
    return offset if offset >= 0 else None


def _resolve(consumer: Any, topic: str, partition: int, mode: str, millis: int | None,
             specific: dict[int, int], fallback: str) -> int:
    """One partition's offset for ``mode``; a partition without a specific or committed offset
    takes ``fallback`` (``earliest-offset`` or ``latest-offset``)."""
    if mode == "timestamp":
        return _by_time(consumer, topic, partition, int(millis or 0))
    if mode == "specific-offsets":
        if partition in specific:
            return specific[partition]
        mode = fallback
    if mode == "group-offsets":
        committed = _committed(consumer, topic, partition)
        if committed is not None:
            return committed
        mode = fallback
    low, high = watermarks(consumer, topic, partition)
    return low if mode == "earliest-offset" else high


def start_offset(consumer: Any, config: KafkaConfig, topic: str, partition: int) -> int:
    reset = config.client.get("auto.offset.reset", "earliest").lower()
    fallback = "latest-offset" if reset in ("latest", "largest", "end") else "earliest-offset"
    if config.startup == "specific-offsets":
        fallback = "earliest-offset"
    return _resolve(consumer, topic, partition, config.startup, config.startup_timestamp,
                    config.startup_offsets, fallback)


def stop_offset(consumer: Any, config: KafkaConfig, topic: str, partition: int) -> int | None:
    if config.bounded == "unbounded":
        return None
    return _resolve(consumer, topic, partition, config.bounded, config.bounded_timestamp,
                    config.bounded_offsets, "latest-offset")
