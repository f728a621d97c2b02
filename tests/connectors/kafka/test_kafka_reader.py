"""The ``kafka`` reader's contract on both data paths (the C consumer and confluent-kafka):
one reader serving two partitions buffers the other partition's messages and pauses it at
PAUSE_AT, drops messages at/after the stop offsets, skips tombstones, and reports positions;
and it picks its data path as documented."""

from __future__ import annotations

import json

from connectors.kafka import reader as kafka_reader
from connectors.kafka.consume import ConfluentClient, NativeClient
from connectors.kafka.factory import KafkaFactory
from tests.connectors.kafka.kafka_util import produce


def make_reader(session, bootstrap: str, topic: str, columns: str, **options: str):
    opts = {"connector": "kafka", "properties.bootstrap.servers": bootstrap, "format": "json",
            "topic": topic, "scan.startup.mode": "earliest-offset", **options}
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE t ({columns}) WITH ({with_})")
    table = session.catalog.get(("t",))
    factory = KafkaFactory()
    return factory.source_reader(table, factory.validate(table))


def drain(it) -> list[dict]:
    return [r for b in it if b is not None for r in b.to_pylist()]


def test_two_partitions_pause_and_stop(session, bootstrap, new_topic, monkeypatch, kafka_data_path):
    monkeypatch.setattr(kafka_reader, "MAX_MESSAGES", 7)
    monkeypatch.setattr(kafka_reader, "PAUSE_AT", 14)
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, [
        {"value": None if i == 21 else json.dumps({"v": i}), "partition": i % 2, "key": b"k"}
        for i in range(100)])
    reader = make_reader(session, bootstrap, topic,
                         "v INT, p INT METADATA FROM 'partition', o BIGINT METADATA FROM 'offset'",
                         **{"scan.bounded.mode": "specific-offsets",
                            "scan.bounded.specific-offsets": "partition:0,offset:40;partition:1,offset:45"})
    try:
        assert reader.splits() == [f"{topic}:0", f"{topic}:1"]
        data = reader.data
        assert isinstance(data, NativeClient if kafka_data_path == "native" else ConfluentClient)
        paused = []
        pause = data.pause
        data.pause = lambda parts: (paused.extend(parts), pause(parts))
        it0, it1 = reader.read(f"{topic}:0"), reader.read(f"{topic}:1")
        first = next(it0)  # assigns partition 0
        rows1 = drain(it1)  # partition 0's messages are buffered meanwhile, then paused
        rows0 = (first.to_pylist() if first is not None else []) + drain(it0)
        assert (topic, 0) in paused
        assert [(r["v"], r["o"]) for r in rows0] == [(2 * o, o) for o in range(40)]
        # partition 1: offsets 0..44, the tombstone (v = 21, offset 10) yields no row
        assert [(r["v"], r["o"]) for r in rows1] == [(2 * o + 1, o) for o in range(45) if o != 10]
        assert {r["p"] for r in rows0} == {0} and {r["p"] for r in rows1} == {1}
        assert reader.position(f"{topic}:0") == {"offset": 40}
        assert reader.position(f"{topic}:1") == {"offset": 45}
    finally:
        reader.close()


def test_headers_metadata_takes_the_confluent_path(session, bootstrap, new_topic, monkeypatch):
    monkeypatch.delenv("FLOWSQL_KAFKA_NATIVE", raising=False)
    topic = new_topic()
    produce(bootstrap, topic, [{"value": json.dumps({"v": 1}), "headers": [("h", b"x")]}])
    reader = make_reader(session, bootstrap, topic, "v INT, h MAP<STRING, BYTES> METADATA FROM 'headers'",
                         **{"scan.bounded.mode": "latest-offset"})
    try:
        assert isinstance(reader.data, ConfluentClient)
        rows = drain(reader.read(f"{topic}:0"))
        assert [(r["v"], dict(r["h"])) for r in rows] == [(1, {"h": b"x"})]
    finally:
        reader.close()
