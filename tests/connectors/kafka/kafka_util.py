"""Helpers for the Kafka tests: create topics, produce messages, read a topic back."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
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


def read_topic(bootstrap: str, topic: str, *, isolation: str = "read_committed",
               timeout: float = 60.0) -> list:
    """Every message of ``topic`` (all partitions, earliest to the end: the high watermark,
    or with ``read_committed`` the last stable offset; transaction markers take offsets of
    their own, so the end is known by the partition-EOF event, not by the last message)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader",
                         "enable.auto.commit": False, "isolation.level": isolation,
                         "enable.partition.eof": True})
    try:
        deadline = time.monotonic() + timeout
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {p: _high_watermark(consumer, topic, p, deadline) for p in md.partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out, done = [], {p for p, hi in ends.items() if hi == 0}
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise KafkaException(f"{topic}: not read to its end within {timeout} s")
            for m in consumer.consume(500, timeout=1.0):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF and m.offset() >= ends[m.partition()]:
                        done.add(m.partition())
                    continue
                out.append(m)
                if m.offset() + 1 >= ends[m.partition()]:
                    done.add(m.partition())
        return out
    finally:
        consumer.close()


_NOT_YET = (KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
            KafkaError._TRANSPORT, KafkaError._TIMED_OUT)


def _high_watermark(consumer: Consumer, topic: str, partition: int, deadline: float) -> int:
    """The partition's end; retried while a restarted broker has not elected its leader yet."""
    while True:
        try:
            return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
        except KafkaException as e:
            if e.args[0].code() not in _NOT_YET or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def json_values(bootstrap: str, topic: str, n: int, key: str = "v", timeout: float = 60.0) -> list:
    """The sorted ``key`` values of the JSON messages in ``topic``, once there are at least
    ``n`` of them (or what there is after ``timeout``)."""
    import json

    deadline = time.monotonic() + timeout
    while True:
        got = sorted(json.loads(m.value())[key] for m in read_topic(bootstrap, topic))
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def savepoints_on(session, directory) -> None:
    """Checkpoint every 300 ms into ``directory``/chk; savepoints go to ``directory``/sp."""
    for key, value in [("execution.checkpointing.interval", "300 ms"),
                       ("execution.checkpointing.dir", directory / "chk"),
                       ("execution.checkpointing.savepoint-dir", directory / "sp")]:
        session.execute_one(f"SET '{key}' = '{value}'")


def resume_with_more(session, bootstrap: str, job: str, src: str, out: str) -> list:
    """Stop ``job`` (``INSERT INTO o SELECT v FROM s``, 10 values in ``out`` so far) with a
    savepoint, produce v = 10..15 over ``src``'s partitions 0 and 1, resume the job from the
    savepoint and return ``json_values`` of ``out`` once it holds 16 (the job is stopped)."""
    import json

    savepoint = session.execute_one(f"STOP JOB '{job}' WITH SAVEPOINT").table.column(0)[0].as_py()
    produce(bootstrap, src, [{"value": json.dumps({"v": i}), "partition": i % 2}
                             for i in range(10, 16)])
    session.execute_one(f"SET 'execution.savepoint.path' = '{savepoint}'")
    job = session.execute_one("INSERT INTO o SELECT v FROM s").job_id
    try:
        return json_values(bootstrap, out, 16)
    finally:
        session.execute_one(f"STOP JOB '{job}'")
