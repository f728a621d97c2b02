"""The ``kafka`` sink against the real broker: at-least-once and none, key and value formats,
partitioners; results read back with a ``read_committed`` consumer."""

from __future__ import annotations

import json

import pytest

from tests.connectors.kafka.kafka_util import (
    json_values,
    produce,
    read_topic,
    resume_with_more,
    savepoints_on,
)


def _table(session, name: str, columns: str, bootstrap: str, **options: str) -> None:
    opts = {"connector": "kafka", "properties.bootstrap.servers": bootstrap,
            "scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset",
            "format": "json", **options}
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE {name} ({columns}) WITH ({with_})")


@pytest.fixture
def source(session, bootstrap, new_topic) -> str:
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, [{"value": json.dumps({"k": i % 3, "v": i}), "partition": i % 2}
                               for i in range(40)])
    _table(session, "src", "k INT, v INT", bootstrap, topic=topic)
    session.execute_one("SET 'table.dml-sync' = 'true'")
    return topic


@pytest.mark.usefixtures("producer_path")
@pytest.mark.parametrize("guarantee", ["at-least-once", "none"])
def test_streaming_insert_json_with_key(session, bootstrap, new_topic, source, guarantee, tmp_path):
    out = new_topic(partitions=3)
    _table(session, "out", "k INT, v INT", bootstrap, topic=out,
           **{"key.format": "raw", "key.fields": "k", "sink.delivery-guarantee": guarantee})
    session.execute_one("SET 'execution.checkpointing.interval' = '200 ms'")
    session.execute_one(f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'")
    session.execute_one("INSERT INTO out SELECT k, v * 10 FROM src")
    messages = read_topic(bootstrap, out)
    got = sorted((int(m.key()), json.loads(m.value())["v"]) for m in messages)
    assert got == sorted((i % 3, i * 10) for i in range(40))
    by_key = {}
    for m in messages:  # the default partitioner hashes the key: one partition per key
        by_key.setdefault(m.key(), set()).add(m.partition())
    assert all(len(p) == 1 for p in by_key.values())
    # and the table reads back (the sink table is a source too)
    assert len(session.execute_one("SELECT * FROM out").table) == 40


@pytest.mark.usefixtures("producer_path")
def test_csv_value_except_key_round_robin(session, bootstrap, new_topic, source):
    out = new_topic(partitions=2)
    _table(session, "out", "k INT, v INT, s STRING", bootstrap, topic=out, format="csv",
           **{"key.format": "json", "key.fields": "k", "value.fields-include": "EXCEPT_KEY",
              "sink.partitioner": "round-robin"})
    session.execute_one("INSERT INTO out SELECT k, v, CAST(v AS STRING) || ',x' FROM src WHERE v < 4")
    messages = read_topic(bootstrap, out)
    got = sorted((json.loads(m.key())["k"], m.value().decode()) for m in messages)
    assert got == sorted((i % 3, f'{i},"{i},x"') for i in range(4))
    assert sorted(m.partition() for m in messages) == [0, 0, 1, 1]
    rows = session.execute_one("SELECT k, v, s FROM out").table.to_pylist()
    assert sorted((r["k"], r["v"], r["s"]) for r in rows) == sorted((i % 3, i, f"{i},x") for i in range(4))


@pytest.mark.usefixtures("producer_path")
def test_fixed_partitioner_and_raw_value(session, bootstrap, new_topic, source):
    out = new_topic(partitions=3)
    _table(session, "out", "line STRING", bootstrap, topic=out, format="raw",
           **{"sink.partitioner": "fixed"})
    session.execute_one("INSERT INTO out SELECT CAST(v AS STRING) FROM src")
    messages = read_topic(bootstrap, out)
    assert sorted(int(m.value()) for m in messages) == list(range(40))
    assert {m.partition() for m in messages} == {0}  # one sink subtask: partition 0


@pytest.mark.usefixtures("producer_path")
def test_batch_mode_insert(session, bootstrap, new_topic, source):
    out = new_topic()
    _table(session, "out", "k INT, c BIGINT", bootstrap, topic=out)
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    session.execute_one("INSERT INTO out SELECT k, COUNT(*) FROM src GROUP BY k")
    got = sorted((json.loads(m.value())["k"], json.loads(m.value())["c"]) for m in read_topic(bootstrap, out))
    assert got == [(0, 14), (1, 13), (2, 13)]


def _writer(session, name: str):
    from connectors.kafka.factory import KafkaFactory

    table = session.catalog.get((name,))
    writer = KafkaFactory().sink_writer(table, KafkaFactory().validate(table))
    writer.bind_subtask(0, 1)
    return writer


@pytest.mark.usefixtures("producer_path")
def test_at_least_once_flush_waits_for_acknowledgements(session, bootstrap, new_topic, producer_path):
    """The checkpoint hook: after flush() every message is in the topic, although the
    producer would otherwise linger 30 s before sending."""
    import pyarrow as pa

    from connectors.kafka.arrow_producer import ArrowProducer

    out = new_topic()
    _table(session, "out", "v INT", bootstrap, topic=out, **{"properties.linger.ms": "30000"})
    writer = _writer(session, "out")
    assert isinstance(writer.producer, ArrowProducer) == (producer_path == "native")
    writer.write(pa.record_batch({"v": pa.array([1, 2, 3], pa.int32())}))
    writer.flush()
    assert sorted(json.loads(m.value())["v"] for m in read_topic(bootstrap, out)) == [1, 2, 3]
    writer.finish()


def test_stop_with_savepoint_and_resume_reads_on_from_the_positions(session, bootstrap, new_topic,
                                                                    tmp_path):
    """Kafka → Kafka, at-least-once: the savepoint holds every partition's next offset; the
    resumed job reads only what came after it, so the output holds every input once."""
    src, out = new_topic(partitions=2), new_topic(partitions=2)
    produce(bootstrap, src, [{"value": json.dumps({"v": i}), "partition": i % 2} for i in range(10)])
    _table(session, "s", "v INT", bootstrap, topic=src, **{"scan.bounded.mode": "unbounded"})
    _table(session, "o", "v INT", bootstrap, topic=out)
    savepoints_on(session, tmp_path)

    job = session.execute_one("INSERT INTO o SELECT v FROM s").job_id
    assert json_values(bootstrap, out, 10) == list(range(10))
    assert resume_with_more(session, bootstrap, job, src, out) == list(range(16))


@pytest.mark.parametrize("mode", ["streaming", "batch"])
def test_timestamp_and_headers_metadata_are_written(session, bootstrap, new_topic, mode):
    src, out = new_topic(), new_topic()
    produce(bootstrap, src, [{"value": json.dumps({"v": i}), "timestamp": 1_704_067_200_000 + i,
                              "headers": [("n", str(i).encode())]} for i in range(3)])
    meta = ("ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp', h MAP<STRING, BYTES> METADATA FROM "
            "'headers', o BIGINT METADATA FROM 'offset' VIRTUAL")
    _table(session, "s", f"v INT, {meta}", bootstrap, topic=src)
    _table(session, "o", f"v INT, {meta}", bootstrap, topic=out)
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one(f"SET 'execution.runtime-mode' = '{mode}'")
    session.execute_one("INSERT INTO o SELECT v + 10, ts, h FROM s")
    got = sorted((json.loads(m.value())["v"], m.timestamp()[1], m.headers()) for m in read_topic(bootstrap, out))
    assert got == [(10 + i, 1_704_067_200_000 + i, [("n", str(i).encode())]) for i in range(3)]


def test_unwritable_metadata_column_must_be_virtual(session, bootstrap, new_topic, source):
    out = new_topic()
    _table(session, "o", "v INT, p INT METADATA FROM 'partition'", bootstrap, topic=out)
    from flowsql.errors import ConnectorError

    with pytest.raises(ConnectorError, match="cannot be written") as err:
        session.execute_one("INSERT INTO o SELECT v FROM src")
    assert "VIRTUAL" in err.value.hint


@pytest.mark.usefixtures("producer_path")
def test_timestamp_metadata_with_nulls_and_sliced_batches(session, bootstrap, new_topic):
    """The timestamp column alone (the native path takes it; NULL: the producer's time), on
    batches that are slices of a larger one."""
    import pyarrow as pa

    out = new_topic()
    _table(session, "o", "v INT, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'", bootstrap,
           topic=out, **{"format": "raw", "key.format": "raw", "key.fields": "v",
                         "value.fields-include": "ALL"})
    writer = _writer(session, "o")
    stamps = pa.array([1_704_067_200_000 + i if i % 3 else None for i in range(10)],
                      pa.timestamp("ms", "UTC"))
    batch = pa.record_batch({"v": pa.array(range(10), pa.int32()), "ts": stamps})
    writer.write(batch.slice(2, 5))
    writer.write(batch.slice(7))
    writer.finish()
    got = [(int(m.value()), m.timestamp()[1])
           for m in read_topic(bootstrap, out)]
    assert [v for v, _ in got] == list(range(2, 10))
    for v, ts in got:
        assert ts == 1_704_067_200_000 + v if v % 3 else ts > 1_704_067_200_000 + 10


@pytest.mark.usefixtures("producer_path")
def test_delivery_failure_is_raised_naming_topic_and_reason(session, bootstrap):
    """The broker refuses a message over the topic's max.message.bytes: the writer raises it
    at its next flush, naming the topic and the broker's reason."""
    import uuid

    import pyarrow as pa
    from confluent_kafka.admin import AdminClient, NewTopic

    from flowsql.errors import ConnectorError

    out = f"small-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(out, 1, 1, config={"max.message.bytes": "2000"})])[out].result(20)
    _table(session, "o", "s STRING", bootstrap, topic=out, format="raw")
    writer = _writer(session, "o")
    writer.write(pa.record_batch({"s": pa.array(["ok"])}))
    writer.flush()
    writer.write(pa.record_batch({"s": pa.array(["x" * 50_000])}))
    with pytest.raises(ConnectorError, match=f"delivery to topic '{out}' failed: .*too large"):
        writer.flush()
    with pytest.raises(ConnectorError, match="too large"):
        writer.finish()
    assert [m.value() for m in read_topic(bootstrap, out)] == [b"ok"]


@pytest.mark.usefixtures("producer_path")
def test_message_refused_by_the_producer_is_a_connector_error(session, bootstrap, new_topic):
    """A message over the producer's message.max.bytes is refused at once: ConnectorError
    naming the topic and librdkafka's reason; the messages before it are still delivered
    (the native producer also queues those after it)."""
    import pyarrow as pa

    from flowsql.errors import ConnectorError

    out = new_topic()
    _table(session, "o", "s STRING", bootstrap, topic=out, format="raw",
           **{"properties.message.max.bytes": "10000"})
    writer = _writer(session, "o")
    with pytest.raises(ConnectorError, match=f"topic '{out}' was refused: .*too large"):
        writer.write(pa.record_batch({"s": pa.array(["a", "b", "x" * 20_000, "c"])}))
    writer.finish()
    got = [m.value() for m in read_topic(bootstrap, out)]
    assert got[:2] == [b"a", b"b"] and got[2:] in ([], [b"c"])
