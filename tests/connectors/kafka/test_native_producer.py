"""The native producer (connectors/kafka/native/_producer.c) against the real broker, read back
with confluent-kafka: values, keys, NULL keys, tombstones, empty fields, explicit partitions,
timestamps, sliced and large_binary arrays, delivery failures, flush semantics."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka import native
from tests.connectors.kafka.kafka_util import read_topic


@pytest.fixture(scope="module")
def mod():
    m = native.module("_producer")
    if m is None:
        pytest.skip("native producer not built, or FLOWSQL_KAFKA_NATIVE=0")
    return m


@pytest.fixture
def producer(mod, bootstrap):
    p = mod.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                      "delivery.report.only.error": "true"})
    yield p
    p.close()


def _read(bootstrap, topic):
    return sorted(read_topic(bootstrap, topic), key=lambda m: (m.partition(), m.offset()))


def test_values_keys_nulls_tombstones_and_empty_fields(producer, bootstrap, new_topic):
    topic = new_topic()
    values = pa.array([b"a", None, b"", b"dd" * 100, None], pa.binary())
    keys = pa.array([b"k1", b"k2", None, b"", None], pa.binary())
    assert producer.produce(topic, values, keys) == 5
    assert producer.flush(20_000) == 0
    got = [(m.value(), m.key()) for m in _read(bootstrap, topic)]
    assert got == [(b"a", b"k1"), (None, b"k2"), (b"", None), (b"dd" * 100, b""), (None, None)]
    assert producer.failures() == 0 and producer.first_error() is None


def test_string_and_large_binary_and_sliced_arrays(producer, bootstrap, new_topic):
    topic = new_topic()
    base = pa.array([f"v{i}" if i % 7 else None for i in range(100)], pa.large_binary())
    keys = pa.array([f"k{i}" if i % 5 else None for i in range(100)], pa.string())
    values, ks = base.slice(13, 40), keys.slice(13, 40)  # non-zero offsets, NULLs inside
    producer.produce(topic, values, ks)
    producer.produce(topic, pa.array(["s1", "s2"], pa.large_string()))
    assert producer.flush(20_000) == 0
    got = [(m.value(), m.key()) for m in _read(bootstrap, topic)]
    assert got == [*zip(values.to_pylist(), [k and k.encode() for k in ks.to_pylist()], strict=True),
                   (b"s1", None), (b"s2", None)]


def test_null_typed_keys_and_empty_batch(producer, bootstrap, new_topic):
    topic = new_topic()
    assert producer.produce(topic, pa.array([], pa.binary())) == 0
    producer.produce(topic, pa.array([b"x", b"y"]), pa.nulls(2))
    assert producer.flush(20_000) == 0
    assert [(m.value(), m.key()) for m in _read(bootstrap, topic)] == [(b"x", None), (b"y", None)]


def test_partitions_fixed_per_message_and_partitioner(producer, bootstrap, new_topic):
    topic = new_topic(partitions=3)
    n = 30
    values = pa.array([str(i).encode() for i in range(n)])
    parts = pa.array([i % 3 if i % 4 else None for i in range(n)], pa.int32())  # NULL: partitioner
    assert producer.partition_count(topic, 10_000) == 3  # see test_random_messages_...
    producer.produce(topic, values, partitions=parts)
    producer.produce(topic, pa.array([b"fixed"] * 4), partitions=2)
    producer.produce(topic, pa.array([b"keyed"] * 4), pa.array([b"same"] * 4), partitions=-1)
    assert producer.flush(20_000) == 0
    msgs = _read(bootstrap, topic)
    where = {m.value(): m.partition() for m in msgs if m.value() not in (b"fixed", b"keyed")}
    for i in range(n):
        if i % 4:
            assert where[str(i).encode()] == i % 3
    assert {m.partition() for m in msgs if m.value() == b"fixed"} == {2}
    assert len({m.partition() for m in msgs if m.value() == b"keyed"}) == 1  # the key's hash
    assert len(msgs) == n + 8


def test_timestamps(producer, bootstrap, new_topic):
    topic = new_topic()
    stamps = pa.array([1_600_000_000_000, None, 0, 1_700_000_000_123], pa.int64())
    producer.produce(topic, pa.array([b"a", b"b", b"c", b"d"]), timestamps=stamps)
    assert producer.flush(20_000) == 0
    got = [m.timestamp()[1] for m in _read(bootstrap, topic)]
    assert got[0] == 1_600_000_000_000 and got[3] == 1_700_000_000_123
    assert got[1] > 1_700_000_000_000 and got[2] > 1_700_000_000_000  # the producer's time


def test_many_messages_through_a_small_queue(mod, bootstrap, new_topic):
    """A full queue is waited out (backpressure), nothing lost, order kept."""
    topic = new_topic()
    p = mod.Producer({"bootstrap.servers": bootstrap, "queue.buffering.max.messages": 1000,
                      "linger.ms": 1})
    try:
        n = 20_000
        values = pa.array([f"{i:06d}".encode() for i in range(n)])
        assert p.produce(topic, values) == n
        assert p.flush(30_000) == 0 and len(p) == 0
    finally:
        p.close()
    got = [m.value() for m in _read(bootstrap, topic)]
    assert got == values.to_pylist()


def test_delivery_failure_is_kept_with_topic_and_reason(producer, bootstrap):
    """The broker rejects a message over the topic's max.message.bytes: a failed delivery,
    counted in C, the first one kept."""
    topic = f"small-{id(producer)}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "2000"})])[topic].result(20)
    producer.produce(topic, pa.array([b"ok"]), partitions=0)
    assert producer.flush(20_000) == 0 and producer.failures() == 0
    producer.produce(topic, pa.array([b"x" * 50_000, b"y" * 50_000]), partitions=0)
    assert producer.flush(20_000) == 0
    assert producer.failures() == 2  # one request, rejected as a whole
    code, name, reason, failed_topic, partition = producer.first_error()
    assert name == "MSG_SIZE_TOO_LARGE" and code == 10
    assert "too large" in reason.lower() and failed_topic == topic and partition == 0
    assert [m.value() for m in read_topic(bootstrap, topic)] == [b"ok"]


def test_produce_error_raises_with_the_message_index(mod, bootstrap, new_topic):
    """A message librdkafka refuses at once (here: over the producer's message.max.bytes)
    raises for the first refused one, after the others were queued; on both enqueue paths
    (produce_batch without timestamps, producev with)."""
    topic = new_topic()
    p = mod.Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 10_000})
    try:
        with pytest.raises(mod.Error) as info:
            p.produce(topic, pa.array([b"a", b"b", b"z" * 20_000, b"c", b"y" * 20_000]))
        message, code, index = info.value.args
        assert code == 10 and index == 2 and "too large" in message.lower()
        with pytest.raises(mod.Error) as info:
            p.produce(topic, pa.array([b"z" * 20_000, b"d"]),
                      timestamps=pa.array([1_600_000_000_000, 1_600_000_000_000]))
        assert info.value.args[1:] == (10, 0)
        assert p.flush(20_000) == 0
    finally:
        p.close()
    assert [m.value() for m in read_topic(bootstrap, topic)] == [b"a", b"b", b"c", b"d"]


def test_flush_times_out_with_the_count_left_and_close_purges(mod):
    """No broker: flush returns what is still queued; close() does not wait for it."""
    p = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 60_000})
    p.produce("nowhere", pa.array([b"a", b"b", b"c"]), partitions=0)
    assert p.flush(200) == 3 and len(p) == 3
    p.close()
    p.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        p.produce("nowhere", pa.array([b"a"]))


def test_config_errors_carry_librdkafkas_message(mod):
    with pytest.raises(ValueError, match="No such configuration property"):
        mod.Producer({"no.such.property": "1"})
    with pytest.raises(ValueError, match="acks"):
        mod.Producer({"acks": "sometimes"})


def test_bad_arguments(producer):
    with pytest.raises(TypeError, match="Arrow array"):
        producer.produce("t", [b"a"])
    with pytest.raises(TypeError, match="int32"):
        producer.produce("t", pa.array([b"a"]), partitions=pa.array([0], pa.int64()))
    with pytest.raises(ValueError, match="keys has 2 elements"):
        producer.produce("t", pa.array([b"a"]), pa.array([b"a", b"b"]))
    with pytest.raises(TypeError, match="binary"):
        producer.produce("t", pa.array([1, 2]))


def test_partition_count_of_a_missing_topic(producer, mod):
    with pytest.raises(mod.Error) as info:
        producer.partition_count("no-such-topic-here", 10_000)
    assert info.value.args[1] == 3  # UNKNOWN_TOPIC_OR_PART


def test_logs_reach_the_callback_on_the_polling_thread(mod):
    lines = []
    p = mod.Producer({"bootstrap.servers": "127.0.0.1:1", "debug": "generic"},
                     log=lambda level, fac, msg: lines.append((level, fac, msg)))
    try:
        p.poll(300)
    finally:
        p.close()
    assert lines and all(isinstance(level, int) for level, _, _ in lines)
    logging.getLogger(__name__).debug("%d log lines", len(lines))


@pytest.mark.parametrize("with_timestamps", [False, True])  # produce_batch / producev
def test_random_messages_round_trip_exactly(producer, bootstrap, new_topic, with_timestamps):
    """Random values and keys (NULLs, empty, up to 300 bytes, a sliced large_binary value
    array) with random explicit partitions: read back, every field is what was given."""
    import random

    rng = random.Random(7)
    topic = new_topic(partitions=3)
    n = 3000

    def field():
        r = rng.random()
        return None if r < 0.15 else b"" if r < 0.2 else rng.randbytes(rng.randint(1, 300))

    values = pa.array([field() for _ in range(n + 11)], pa.large_binary()).slice(11)
    keys = pa.array([field() for _ in range(n)], pa.binary())
    parts = pa.array([rng.randint(0, 2) for _ in range(n)], pa.int32())
    stamps = pa.array([1_600_000_000_000 + i for i in range(n)], pa.int64()) if with_timestamps else None
    # the topic's metadata first, as the writer does: librdkafka may reorder messages with an
    # explicit partition that were queued before it knew the topic's partitions
    assert producer.partition_count(topic, 10_000) == 3
    assert producer.produce(topic, values, keys, parts, stamps) == n
    assert producer.flush(30_000) == 0 and producer.failures() == 0
    sent = {}
    for i, (v, k, p) in enumerate(zip(values.to_pylist(), keys.to_pylist(), parts.to_pylist(),
                                      strict=True)):
        sent.setdefault(p, []).append((v, k, 1_600_000_000_000 + i if with_timestamps else None))
    got = {}
    for m in _read(bootstrap, topic):
        got.setdefault(m.partition(), []).append(
            (m.value(), m.key(), m.timestamp()[1] if with_timestamps else None))
    assert got == sent
