"""The ``kafka`` source against the real broker: startup and bounded modes, topic patterns,
partitions over subtasks, metadata and key columns, formats, watermarks, bad records."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, TopicPartition

from flowsql.errors import FlowSQLError, MalformedRecordError
from tests.connectors.kafka.kafka_util import create_topic, produce

BASE_MS = 1_704_067_200_000  # 2024-01-01 00:00:00 UTC


def rows_of(result) -> list[dict]:
    return result.table.to_pylist()


def create(session, name: str, columns: str, bootstrap: str, **options: str) -> None:
    opts = {"connector": "kafka", "properties.bootstrap.servers": bootstrap,
            "format": "json", "scan.startup.mode": "earliest-offset",
            "scan.bounded.mode": "latest-offset"}
    opts.update(options)
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE {name} ({columns}) WITH ({with_})")


def batch_mode(session, sql: str) -> list[dict]:
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    try:
        return rows_of(session.execute_one(sql))
    finally:
        session.execute_one("RESET 'execution.runtime-mode'")


@pytest.fixture
def six(bootstrap, new_topic) -> str:
    """One partition, offsets 0..5, message timestamps BASE + 1 s * (offset + 1)."""
    topic = new_topic()
    produce(bootstrap, topic, [{"value": json.dumps({"v": i}), "timestamp": BASE_MS + 1000 * (i + 1)}
                               for i in range(6)])
    return topic


def _commit(bootstrap: str, group: str, topic: str, offset: int) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


@pytest.mark.parametrize(("options", "expected"), [
    ({"scan.startup.mode": "earliest-offset"}, [0, 1, 2, 3, 4, 5]),
    ({"scan.startup.mode": "latest-offset"}, []),
    ({"scan.startup.mode": "specific-offsets",
      "scan.startup.specific-offsets": "partition:0,offset:4"}, [4, 5]),
    ({"scan.startup.mode": "timestamp",
      "scan.startup.timestamp-millis": str(BASE_MS + 3500)}, [3, 4, 5]),
    ({"scan.startup.mode": "group-offsets", "properties.group.id": "G"}, [2, 3, 4, 5]),
    ({"scan.bounded.mode": "specific-offsets",
      "scan.bounded.specific-offsets": "partition:0,offset:3"}, [0, 1, 2]),
    ({"scan.bounded.mode": "timestamp",
      "scan.bounded.timestamp-millis": str(BASE_MS + 2500)}, [0, 1]),
    ({"scan.bounded.mode": "group-offsets", "properties.group.id": "G"}, [0, 1]),
])
def test_startup_and_bounded_modes(session, bootstrap, six, options, expected):
    group = f"g-{six}"
    _commit(bootstrap, group, six, 2)
    options = {k: (group if v == "G" else v) for k, v in options.items()}
    create(session, "t", "v INT", bootstrap, topic=six, **options)
    streaming = sorted(r["v"] for r in rows_of(session.execute_one("SELECT v FROM t")))
    assert streaming == expected
    assert sorted(r["v"] for r in batch_mode(session, "SELECT v FROM t")) == expected


def test_latest_offset_reads_only_new_messages(session, bootstrap, six):
    create(session, "t", "v INT", bootstrap, topic=six, **{"scan.startup.mode": "latest-offset",
                                                    "scan.bounded.mode": "unbounded"})
    stream = session.execute_one("SELECT v FROM t").extra["stream"]
    try:
        got: list[int] = []
        deadline = time.monotonic() + 30
        while 100 not in got:
            assert time.monotonic() < deadline, got
            produce(bootstrap, six, [json.dumps({"v": 100})])
            for batch in stream.batches(timeout=0.5):
                got.extend(batch.column("v").to_pylist())
        assert set(got) == {100}  # nothing of what was there before the job started
    finally:
        stream.cancel()


def test_topic_list_and_pattern_with_topic_metadata(session, bootstrap, new_topic):
    prefix = new_topic(prefix="pat")  # a unique prefix; the topics below extend it
    a, b = f"{prefix}.a", f"{prefix}.b"
    create_topic(bootstrap, a, 1)
    create_topic(bootstrap, b, 2)
    produce(bootstrap, a, [json.dumps({"v": 1})])
    produce(bootstrap, b, [{"value": json.dumps({"v": i}), "partition": i % 2} for i in (2, 3)])
    cols = "v INT, tp STRING METADATA FROM 'topic' VIRTUAL, p INT METADATA FROM 'partition'"
    create(session, "by_pattern", cols, bootstrap, **{"topic-pattern": prefix.replace("-", "\\-") + r"\..*"})
    create(session, "by_list", cols, bootstrap, topic=f"{a};{b}")
    for table in ("by_pattern", "by_list"):
        got = sorted((r["tp"], r["p"], r["v"]) for r in rows_of(
            session.execute_one(f"SELECT v, tp, p FROM {table}")))
        assert got == [(a, 0, 1), (b, 0, 2), (b, 1, 3)]


@pytest.mark.usefixtures("kafka_data_path")
def test_three_partitions_over_two_subtasks(session, bootstrap, new_topic):
    topic = new_topic(partitions=3)
    produce(bootstrap, topic, [{"value": json.dumps({"v": i}), "partition": i % 3} for i in range(30)])
    create(session, "t", "v INT, p INT METADATA FROM 'partition'", bootstrap, topic=topic)
    from connectors.kafka.factory import KafkaFactory

    table = session.catalog.get(("t",))
    reader = KafkaFactory().source_reader(table, KafkaFactory().validate(table), parallelism=2)
    try:
        splits = reader.splits()
    finally:
        reader.close()
    assert splits == [f"{topic}:0", f"{topic}:1", f"{topic}:2"]  # spread: see split_owner
    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    got = rows_of(session.execute_one("SELECT p, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY p"))
    final = {}
    for r in got:
        final[r["p"]] = (r["c"], r["s"])
    assert final == {p: (10, sum(range(p, 30, 3))) for p in range(3)}


def test_metadata_and_key_columns(session, bootstrap, new_topic):
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, [
        {"value": json.dumps({"v": 10}), "key": json.dumps({"id": 1}), "partition": 1,
         "timestamp": BASE_MS + 5, "headers": [("h1", b"x"), ("h2", b"yz")]},
        {"value": json.dumps({"v": 20, "id": 99}), "key": json.dumps({"id": 2}), "partition": 0,
         "timestamp": BASE_MS + 7},
    ])
    create(session, "t",
           "id INT, v INT, p INT METADATA FROM 'partition' VIRTUAL, o BIGINT METADATA FROM 'offset', "
           "ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', tt STRING METADATA FROM 'timestamp-type', "
           "h MAP<STRING, BYTES> METADATA FROM 'headers', e INT METADATA FROM 'leader-epoch', "
           "`topic` STRING METADATA", bootstrap, topic=topic,
           **{"key.format": "json", "key.fields": "id", "value.fields-include": "EXCEPT_KEY"})
    for rows in (rows_of(session.execute_one("SELECT * FROM t")), batch_mode(session, "SELECT * FROM t")):
        rows = sorted(rows, key=lambda r: r["id"])
        assert [(r["id"], r["v"], r["p"], r["o"], r["tt"], r["topic"]) for r in rows] == [
            (1, 10, 1, 0, "CreateTime", topic), (2, 20, 0, 0, "CreateTime", topic)]
        assert [int(r["ts"].timestamp() * 1000) for r in rows] == [BASE_MS + 5, BASE_MS + 7]
        assert dict(rows[0]["h"]) == {"h1": b"x", "h2": b"yz"} and not rows[1]["h"]
        assert all(r["e"] is not None and r["e"] >= 0 for r in rows)


def test_key_fields_with_value_all(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [{"value": json.dumps({"id": 7, "v": 1}), "key": "ignored-7"}])
    create(session, "t", "id INT, v INT, k STRING METADATA FROM 'topic'", bootstrap, topic=topic)
    assert [(r["id"], r["v"]) for r in rows_of(session.execute_one("SELECT id, v FROM t"))] == [(7, 1)]


@pytest.mark.usefixtures("kafka_data_path")
def test_csv_and_raw_formats(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, ["1,a b,2024-01-01 00:00:01", '2,"x,y",', "3,,2024-01-01 00:00:03"])
    create(session, "c", "id INT, s STRING, ts TIMESTAMP(3)", bootstrap, topic=topic, format="csv")
    rows = sorted(rows_of(session.execute_one("SELECT * FROM c")), key=lambda r: r["id"])
    assert [(r["id"], r["s"]) for r in rows] == [(1, "a b"), (2, "x,y"), (3, "")]
    assert rows[1]["ts"] is None and rows[2]["ts"].second == 3
    create(session, "r", "line STRING", bootstrap, topic=topic, format="raw")
    assert sorted(r["line"] for r in rows_of(session.execute_one("SELECT * FROM r")))[0] == "1,a b,2024-01-01 00:00:01"
    create(session, "rb", "line BYTES", bootstrap, topic=topic, format="raw")
    assert len(batch_mode(session, "SELECT * FROM rb")) == 3


@pytest.mark.usefixtures("kafka_data_path")
def test_strict_json_fails_naming_topic_partition_offset(session, bootstrap, new_topic):
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, [{"value": json.dumps({"v": 1}), "partition": 1},
                               {"value": json.dumps({"v": 2}), "partition": 1},
                               {"value": json.dumps({"v": "oops"}), "partition": 1}])
    create(session, "t", "v INT", bootstrap, topic=topic)
    with pytest.raises(FlowSQLError) as err:
        session.execute_one("SELECT v FROM t")
    text = str(err.value)
    assert f"topic '{topic}', partition 1, offset 2" in text and "field 'v'" in text, text
    with pytest.raises(MalformedRecordError) as err:
        batch_mode(session, "SELECT v FROM t")
    assert "offset 2" in str(err.value)


@pytest.mark.usefixtures("kafka_data_path")
def test_lenient_json_skips_and_counts(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [json.dumps({"v": 1}), "not json", json.dumps({"v": 3}),
                               json.dumps({"v": "x"})])
    create(session, "t", "v INT", bootstrap, topic=topic, **{"json.ignore-parse-errors": "true"})
    assert sorted(r["v"] for r in rows_of(session.execute_one("SELECT v FROM t"))) == [1, 3]
    # counted in the source's metrics and the job's totals
    from flowsql.session.streaming import cluster

    session.execute_one("CREATE TABLE bh (v INT) WITH ('connector' = 'blackhole')")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    job_id = session.execute_one("INSERT INTO bh SELECT v FROM t").job_id
    assert cluster(session).totals(job_id).malformed_records == 2
    from connectors.kafka.factory import KafkaFactory

    table = session.catalog.get(("t",))
    reader = KafkaFactory().source_reader(table, KafkaFactory().validate(table))
    try:
        rows = [b for s in reader.splits() for b in reader.read(s) if b is not None]
        assert sum(b.num_rows for b in rows) == 2 and reader.skipped == 2
        assert reader.position(f"{topic}:0") == {"offset": 4}
    finally:
        reader.close()


@pytest.mark.usefixtures("kafka_data_path")
def test_position_and_seek_resume_after_the_last_record(session, bootstrap, six):
    create(session, "t", "v INT", bootstrap, topic=six)
    from connectors.kafka.factory import KafkaFactory

    table = session.catalog.get(("t",))
    factory = KafkaFactory()
    reader = factory.source_reader(table, factory.validate(table))
    try:
        reader.seek(f"{six}:0", {"offset": 4})
        got = [v for b in reader.read(f"{six}:0") if b is not None for v in b.column("v").to_pylist()]
        assert got == [4, 5] and reader.position(f"{six}:0") == {"offset": 6}
    finally:
        reader.close()
