"""Helpers for the Kafka tests: create topics, produce messages, read a topic back."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, partitions, 1)], operation_timeout=10)
    futures[name].result(timeout=20)


def produce(
    bootstrap: str,
    topic: str,
    messages: Iterable[str | bytes | dict],
) -> None:
    """Produce each message: a value, or a dict with value/key/partition/timestamp/headers."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for m in messages:
        if not isinstance(m, dict):
            m = {"value": m}
        kwargs = {k: m[k] for k in ("key", "partition", "timestamp", "headers") if k in m}
        producer.produce(topic, m.get("value"), **kwargs)
    if producer.flush(20) != 0:
        raise KafkaException("messages not delivered within 20 s")


def read_topic(bootstrap: str, topic: str, *, isolation: str = "read_committed") -> list:
    """Every message of ``topic`` (all partitions, earliest to the high watermark)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                         "enable.auto.commit": False, "isolation.level": isolation})
    try:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for p in md.partitions:
            _, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = hi
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out, done = [], {p for p, hi in ends.items() if hi == 0}
        while len(done) < len(ends):
            for m in consumer.consume(500, timeout=2.0):
                if m.error():
                    continue
                out.append(m)
                if m.offset() + 1 >= ends[m.partition()]:
                    done.add(m.partition())
        return out
    finally:
        consumer.close()
