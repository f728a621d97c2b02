"""The C consumer (connectors/kafka/native/_consumer.c) against the real broker: its columns
equal what confluent-kafka reads for the same messages (NULL and empty keys and values,
tombstones, binary data, several partitions, timestamps), end-of-partition events,
pause/resume, errors, and the lifecycle; and :class:`connectors.kafka.consume.NativeClient`
gives the same Records as :class:`~connectors.kafka.consume.ConfluentClient`."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pyarrow as pa
import pytest
from confluent_kafka import Consumer

from connectors.kafka import native
from connectors.kafka.consume import ConfluentClient, NativeClient, Wanted
from connectors.kafka.records import concat
from tests.connectors.kafka.kafka_util import produce, read_topic

BASE_MS = 1_704_067_200_000


@pytest.fixture
def mod(monkeypatch):
    monkeypatch.delenv("FLOWSQL_KAFKA_NATIVE", raising=False)
    native.module.cache_clear()
    m = native.module("_consumer")
    assert m is not None, "the native consumer is not built"
    yield m
    native.module.cache_clear()


def props(bootstrap: str) -> dict[str, str]:
    return {"bootstrap.servers": bootstrap, "group.id": "native-test",
            "enable.auto.commit": "false", "enable.partition.eof": "true"}


def mixed_messages(n: int, partitions: int) -> list[dict]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        r = rng.random()
        text = "x" * rng.randrange(100)
        value = (None if r < 0.1 else b"" if r < 0.2
                 else bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) if r < 0.3
                 else f'{{"i": {i}, "s": "{text}"}}'.encode())
        key = rng.choice([None, b"", f"k{i}".encode(), bytes([0xFF, 0, i % 256])])
        m = {"value": value, "partition": i % partitions, "timestamp": BASE_MS + i}
        if key is not None:
            m["key"] = key
        out.append(m)
    return out


def drain(poll, ends: dict[int, int], timeout: float = 60.0):
    """poll() until an end-of-partition event at ``ends[p]`` was seen for every partition."""
    done: set[int] = set()
    results, events = [], []
    deadline = time.monotonic() + timeout
    while len(done) < len(ends):
        assert time.monotonic() < deadline, f"not drained: {done} of {ends}"
        chunk, evs = poll()
        results.append(chunk)
        for e in evs:
            events.append(e)
            if e.kind == "eof" and e.offset >= ends[e.partition]:
                done.add(e.partition)
    return results, events


def test_native_columns_equal_confluent_kafka(mod, bootstrap, new_topic):
    topic = new_topic(partitions=3)
    produce(bootstrap, topic, mixed_messages(900, 3))
    truth = {(m.partition(), m.offset()): m for m in read_topic(bootstrap, topic)}
    ends = {p: 1 + max(o for q, o in truth if q == p) for p in range(3)}
    consumer = mod.Consumer(props(bootstrap))
    try:
        consumer.assign([(topic, p, 0) for p in range(3)])
        rows, eofs = [], {}
        deadline = time.monotonic() + 60
        while len(eofs) < 3 or any(eofs[p] < ends[p] for p in eofs):
            assert time.monotonic() < deadline
            (topics, tidx, parts, offs, stamps, types, values, keys,
             events) = consumer.consume(100, 200)
            n = len(offs) // 8
            for e in events:
                if e[0] == "eof":
                    assert e[1] == topic
                    eofs[e[2]] = e[3]
            if not n:
                continue
            assert topics == [topic] and set(np.frombuffer(tidx, np.int32)) == {0}
            varr = _binary(values, n)
            karr = _binary(keys, n)
            rows += list(zip(np.frombuffer(parts, np.int32).tolist(),
                             np.frombuffer(offs, np.int64).tolist(),
                             np.frombuffer(stamps, np.int64).tolist(),
                             np.frombuffer(types, np.int8).tolist(),
                             varr.to_pylist(), karr.to_pylist(), strict=True))
        assert eofs == ends
        assert len(rows) == len(truth) == 900
        for p, o, ts, tt, v, k in rows:
            m = truth[(p, o)]
            assert (v, k, (tt, ts)) == (m.value(), m.key(), m.timestamp())
        assert sum(v is None for *_, v, _k in rows) > 50  # tombstones were there
        assert sum(k is None for *_, k in rows) > 100
    finally:
        consumer.close()


def _binary(column, n: int) -> pa.Array:
    offsets, data, validity, nulls, wide = column
    assert not wide
    arr = pa.Array.from_buffers(pa.binary(), n, [pa.py_buffer(validity) if validity else None,
                                                 pa.py_buffer(offsets), pa.py_buffer(data)],
                                null_count=nulls)
    arr.validate(full=True)
    assert (validity is None) == (nulls == 0)
    return arr


def test_native_client_records_equal_confluent_client(mod, bootstrap, new_topic):
    """The two data paths of the reader, differentially: the same Records per partition."""
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, mixed_messages(600, 2))
    ends = {0: 300, 1: 300}
    wanted = Wanted(keys=True, timestamps=True)
    conf = props(bootstrap)
    got = {}
    confluent = Consumer(conf)
    clients = {"native": NativeClient(mod, conf, wanted), "confluent": ConfluentClient(confluent, wanted)}
    try:
        for name, client in clients.items():
            client.assign([(topic, 0, 0), (topic, 1, 0)])
            chunks, events = drain(lambda c=client: c.poll(64, 0.2), ends)
            assert [e.kind for e in events if e.kind != "eof"] == []
            by_part: dict[int, list] = {0: [], 1: []}
            for batch in chunks:
                for r in batch:
                    assert r.topic == topic
                    by_part[r.partition].append(r)
            got[name] = {p: concat(rs) for p, rs in by_part.items()}
    finally:
        clients["native"].close()
        confluent.close()
    for p in (0, 1):
        a, b = got["native"][p], got["confluent"][p]
        assert a.offsets.tolist() == b.offsets.tolist() == list(range(300))
        assert a.values.equals(b.values) and a.keys.equals(b.keys)
        assert a.timestamps.tolist() == b.timestamps.tolist()
        assert a.timestamp_types.tolist() == b.timestamp_types.tolist() == [1] * 300


def test_keys_not_copied_when_not_asked(mod, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [{"value": b"v", "key": b"k"}])
    c = mod.Consumer(props(bootstrap))
    try:
        c.assign([(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline
            out = c.consume(10, 200, keys=False)
            if len(out[3]):
                break
        assert out[7] is None and bytes(out[6][1]) == b"v"
    finally:
        c.close()


def test_pause_and_resume(mod, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [b"a", b"b", b"c"])
    c = mod.Consumer(props(bootstrap))
    try:
        c.assign([(topic, 0, 0)])
        c.pause([(topic, 0)])
        got = 0
        for _ in range(8):  # 1.6 s paused: nothing arrives
            got += len(c.consume(10, 200)[3]) // 8
        assert got == 0
        c.resume([(topic, 0)])
        deadline = time.monotonic() + 30
        while got < 3:
            assert time.monotonic() < deadline
            got += len(c.consume(10, 200)[3]) // 8
        assert got == 3
    finally:
        c.close()


def test_unknown_partition_is_an_error_event(mod, bootstrap, new_topic):
    topic = new_topic()
    c = mod.Consumer(props(bootstrap))
    try:
        c.assign([(topic, 7, 0)])
        deadline = time.monotonic() + 30
        errors = []
        while not errors:
            assert time.monotonic() < deadline, "no error event for an unknown partition"
            errors = [e for e in c.consume(10, 200)[8] if e[0] == "error"]
        # librdkafka reports it through its error callback: no partition attached, named in
        # the message
        kind, code, name, message, fatal, etopic, partition, offset = errors[0]
        assert (code, name, fatal) == (-190, "_UNKNOWN_PARTITION", False), errors
        assert (etopic, partition, offset) == (None, -1, -1001) and f"{topic} [7]" in message
    finally:
        c.close()


def test_bad_properties_raise_librdkafka_messages(mod):
    with pytest.raises(ValueError, match='No such configuration property: "no.such"'):
        mod.Consumer({"no.such": "1"})
    with pytest.raises(ValueError, match="fetch.wait.max.ms"):
        mod.Consumer({"fetch.wait.max.ms": "soon"})
    with pytest.raises(TypeError):
        mod.Consumer({"group.id": 1})
    with pytest.raises(mod.Error, match="ssl"):
        mod.Consumer({"security.protocol": "ssl", "ssl.ca.location": "/no/such/ca.pem"})


def test_lifecycle(mod, bootstrap):
    c = mod.Consumer(props(bootstrap))
    with pytest.raises(TypeError):
        c.assign([("t", "not a partition")])
    with pytest.raises(ValueError):
        c.consume(0, 0)
    c.close()
    c.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        c.consume(10, 0)
    with pytest.raises(RuntimeError, match="closed"):
        c.assign([("t", 0, 0)])
    d = mod.Consumer(props(bootstrap))
    del d  # dealloc closes an open consumer


def test_close_while_another_thread_consumes(mod, bootstrap, new_topic):
    """Calls are serialized: close() waits for a consume() in flight (GIL released there),
    and the consuming thread then sees a closed consumer, not a crash."""
    topic = new_topic()
    c = mod.Consumer(props(bootstrap))
    c.assign([(topic, 0, 0)])
    outcome = []

    def loop():
        try:
            while True:
                c.consume(100, 300)
        except RuntimeError as exc:
            outcome.append(str(exc))

    t = threading.Thread(target=loop)
    t.start()
    time.sleep(0.5)
    c.close()
    t.join(10)
    assert not t.is_alive() and outcome == ["the consumer is closed"]
