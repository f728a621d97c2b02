"""``upsert-kafka`` against the real broker: tombstones and dropped -U rows in the sink, a
GROUP BY changelog written to an upsert topic and read back as a table (equal to DuckDB's
batch answer), the source's changelog (+I/-U/+U/-D), strict errors naming topic/partition/
offset, and planning errors."""

from __future__ import annotations

import json
import random

import pytest

from flowsql.errors import ConnectorError, FlowSQLError
from flowsql.messages import ROW_KIND, RowKind
from tests.connectors.kafka.kafka_util import produce, read_topic


def _create(session, name: str, columns: str, bootstrap: str, connector: str = "upsert-kafka",
            **options: str) -> None:
    opts = {"connector": connector, "properties.bootstrap.servers": bootstrap, **options}
    if connector == "upsert-kafka":
        opts = {"key.format": "json", "value.format": "json", "scan.bounded.mode": "latest-offset",
                **opts}
    else:
        opts = {"format": "json", "scan.startup.mode": "earliest-offset",
                "scan.bounded.mode": "latest-offset", **opts}
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE {name} ({columns}) WITH ({with_})")


def _k(k: int) -> bytes:
    return json.dumps({"k": k}).encode()


@pytest.fixture
def upsert_input(session, bootstrap, new_topic) -> str:
    """An upsert topic: keys 1..3 inserted, key 2 deleted (tombstone), key 1 updated."""
    topic = new_topic()
    produce(bootstrap, topic, [
        {"key": _k(1), "value": json.dumps({"k": 1, "v": "a"})},
        {"key": _k(2), "value": json.dumps({"k": 2, "v": "b"})},
        {"key": _k(3), "value": json.dumps({"k": 3, "v": "c"})},
        {"key": _k(2), "value": None},
        {"key": _k(1), "value": json.dumps({"k": 1, "v": "a2"})},
        {"key": _k(9), "value": None},  # deletes a key that never existed: nothing
    ])
    _create(session, "src", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic=topic)
    session.execute_one("SET 'table.dml-sync' = 'true'")
    return topic


def test_source_reads_latest_row_per_key(session, upsert_input):
    rows = session.execute_one("SELECT k, v FROM src").table.to_pylist()
    assert sorted((r["k"], r["v"]) for r in rows) == [(1, "a2"), (3, "c")]


@pytest.mark.usefixtures("kafka_data_path")
def test_source_changelog_is_normalized(session, upsert_input):
    changelog = session.execute_one("SELECT k, v FROM src").extra["changelog"].to_pylist()
    by_key = {}
    for r in changelog:
        by_key.setdefault(r["k"], []).append((RowKind(r[ROW_KIND]).short, r["v"]))
    assert by_key == {
        1: [("+I", "a"), ("-U", "a"), ("+U", "a2")],
        2: [("+I", "b"), ("-D", "b")],  # the tombstone retracts the stored row
        3: [("+I", "c")],
    }


@pytest.mark.usefixtures("producer_path")
def test_sink_writes_tombstones_and_drops_update_before(session, bootstrap, new_topic, upsert_input):
    out = new_topic(partitions=2)
    _create(session, "out", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic=out)
    session.execute_one("INSERT INTO out SELECT k, v FROM src")
    messages = read_topic(bootstrap, out)
    got = [(json.loads(m.key())["k"], m.value() and json.loads(m.value())["v"]) for m in messages]
    # +I 1,2,3; -D 2 → tombstone; -U 1 dropped; +U 1
    assert sorted(got, key=lambda r: (r[0], r[1] is None, r[1] or "")) == [
        (1, "a"), (1, "a2"), (2, "b"), (2, None), (3, "c")]
    per_key = {}
    for m in messages:  # ordered per key: one partition per key
        per_key.setdefault(json.loads(m.key())["k"], []).append(m)
    assert all(len({m.partition() for m in ms}) == 1 for ms in per_key.values())
    assert per_key[2][-1].value() is None
    assert json.loads(per_key[1][-1].value()) == {"k": 1, "v": "a2"}


def _assert_agg_equals_batch(session, query: str) -> None:
    """The upsert table ``agg`` read back (latest row per key) equals ``query`` in batch mode."""
    streamed = session.execute_one("SELECT k, c, s FROM agg").table.to_pylist()
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    batch = session.execute_one(query).table.to_pylist()
    assert sorted((r["k"], r["c"], r["s"]) for r in streamed) == sorted(
        (r["k"], r["c"], r["s"]) for r in batch)
    assert batch  # not vacuous


@pytest.mark.parametrize("parallelism", [1, 2])
def test_group_by_changelog_round_trip_equals_batch(session, bootstrap, new_topic, parallelism, tmp_path):
    session.execute_one(f"SET 'parallelism.default' = '{parallelism}'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    session.execute_one("SET 'execution.checkpointing.interval' = '100 ms'")  # snapshots mid-run
    session.execute_one(f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'")
    rnd = random.Random(7 + parallelism)
    topic = new_topic(partitions=3)
    events = [{"k": rnd.choice([None, *range(12)]), "v": rnd.randint(-5, 20)} for _ in range(400)]
    produce(bootstrap, topic, [{"value": json.dumps(e), "partition": i % 3}
                               for i, e in enumerate(events)])
    _create(session, "events", "k INT, v INT", bootstrap, connector="kafka", topic=topic)
    agg = new_topic(partitions=2)
    _create(session, "agg", "k INT, c BIGINT, s INT, PRIMARY KEY (k) NOT ENFORCED", bootstrap,
            topic=agg, **{"key.format": "csv", "value.format": "json"})
    session.execute_one("SET 'table.dml-sync' = 'true'")
    query = "SELECT k, COUNT(*) AS c, SUM(v) AS s FROM events WHERE k IS NOT NULL GROUP BY k HAVING SUM(v) < 250"
    session.execute_one(f"INSERT INTO agg {query}")
    messages = read_topic(bootstrap, agg)
    assert any(m.value() is None for m in messages)  # HAVING dropped keys: tombstones
    _assert_agg_equals_batch(session, query)


def test_exactly_once_group_by_changelog_equals_batch(session, bootstrap, new_topic, tmp_path):
    """upsert-kafka with 'sink.delivery-guarantee' = 'exactly-once' (and the sink buffer, which
    keeps the last message per key of each epoch): at parallelism 2 with checkpoints, the
    committed topic read back equals DuckDB's answer; each (writer, epoch) marker exists once."""
    from collections import Counter

    from tests.connectors.kafka.conftest import unique

    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    session.execute_one("SET 'execution.checkpointing.interval' = '100 ms'")
    session.execute_one(f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'")
    rnd = random.Random(11)
    topic = new_topic(partitions=2)
    events = [{"k": rnd.choice([None, *range(9)]), "v": rnd.randint(-5, 20)} for _ in range(250)]
    produce(bootstrap, topic, [{"value": json.dumps(e), "partition": i % 2}
                               for i, e in enumerate(events)])
    _create(session, "events", "k INT, v INT", bootstrap, connector="kafka", topic=topic)
    agg, markers = new_topic(partitions=2), unique("markers")
    _create(session, "agg", "k INT, c BIGINT, s INT, PRIMARY KEY (k) NOT ENFORCED", bootstrap,
            topic=agg, **{"sink.delivery-guarantee": "exactly-once",
                          "sink.transactional-id-prefix": unique("tx"),
                          "sink.exactly-once.marker-topic": markers,
                          "sink.buffer-flush.max-rows": "100", "sink.buffer-flush.interval": "1 s"})
    session.execute_one("SET 'table.dml-sync' = 'true'")
    query = "SELECT k, COUNT(*) AS c, SUM(v) AS s FROM events WHERE k IS NOT NULL GROUP BY k HAVING SUM(v) < 220"
    session.execute_one(f"INSERT INTO agg {query}")
    assert len(read_topic(bootstrap, agg, isolation="read_uncommitted")) >= len(
        read_topic(bootstrap, agg))  # read_committed sees committed transactions only
    epochs = Counter((m["writer"], m["checkpoint"])
                     for m in (json.loads(m.value()) for m in read_topic(bootstrap, markers)))
    assert epochs and max(epochs.values()) == 1, epochs
    _assert_agg_equals_batch(session, query)


def test_key_prefix_and_except_key(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [
        {"key": json.dumps({"id": 5}).encode(), "value": json.dumps({"name": "x"})},
        {"key": json.dumps({"id": 6}).encode(), "value": json.dumps({"name": "y"})},
        {"key": json.dumps({"id": 5}).encode(), "value": None},
    ])
    _create(session, "p", "k_id INT, name STRING, PRIMARY KEY (k_id) NOT ENFORCED", bootstrap,
            topic=topic, **{"key.fields-prefix": "k_", "value.fields-include": "EXCEPT_KEY"})
    rows = session.execute_one("SELECT * FROM p").table.to_pylist()
    assert rows == [{"k_id": 6, "name": "y"}]
    out = new_topic()
    _create(session, "q", "k_id INT, name STRING, PRIMARY KEY (k_id) NOT ENFORCED", bootstrap,
            topic=out, **{"key.fields-prefix": "k_", "value.fields-include": "EXCEPT_KEY"})
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("INSERT INTO q VALUES (1, 'one')")
    [m] = read_topic(bootstrap, out)
    assert (json.loads(m.key()), json.loads(m.value())) == ({"id": 1}, {"name": "one"})


@pytest.mark.usefixtures("producer_path")
def test_sink_buffer_keeps_last_row_per_key(session, bootstrap, new_topic):
    out = new_topic()
    _create(session, "b", "k INT, v INT, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic=out,
            **{"sink.buffer-flush.max-rows": "1000", "sink.buffer-flush.interval": "1 h"})
    session.execute_one("SET 'table.dml-sync' = 'true'")
    session.execute_one("INSERT INTO b SELECT MOD(v, 3), v FROM (VALUES (1), (2), (3), (4), (5)) AS t(v)")
    got = sorted((json.loads(m.key())["k"], json.loads(m.value())["v"]) for m in read_topic(bootstrap, out))
    assert got == [(0, 3), (1, 4), (2, 5)]


@pytest.mark.usefixtures("producer_path")
def test_sink_buffer_is_flushed_by_its_interval_without_new_input(session, bootstrap, new_topic):
    """The buffer's interval is a timer (Flink's async flush): rows of a quiet input reach the
    topic without another batch, checkpoint or end of input."""
    import pyarrow as pa

    from connectors.kafka.upsert import UpsertKafkaFactory
    from tests.waiting import until

    out = new_topic()
    _create(session, "b", "k INT, v INT, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic=out,
            **{"sink.buffer-flush.max-rows": "1000", "sink.buffer-flush.interval": "300 ms"})
    table = session.catalog.get(("b",))
    factory = UpsertKafkaFactory()
    writer = factory.sink_writer(table, factory.validate(table))
    writer.write(pa.record_batch({"k": pa.array([1, 2, 1], pa.int32()),
                                  "v": pa.array([10, 20, 11], pa.int32())}))
    got = until("the flusher", lambda: read_topic(bootstrap, out, timeout=5) or None, timeout=30)
    assert sorted((json.loads(m.key())["k"], json.loads(m.value())["v"]) for m in got) == [
        (1, 11), (2, 20)]
    writer.finish()


def test_strict_bad_value_names_topic_partition_offset(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [{"key": _k(1), "value": json.dumps({"k": 1, "v": "a"})},
                               {"key": _k(2), "value": b"{not json"}])
    _create(session, "bad", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic=topic)
    with pytest.raises(FlowSQLError) as e:
        session.execute_one("SELECT * FROM bad")
    assert f"topic '{topic}', partition 0, offset 1" in str(e.value)


@pytest.mark.usefixtures("kafka_data_path")
def test_strict_bad_tombstone_key_names_offset(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [{"key": _k(1), "value": json.dumps({"k": 1, "v": "a"})},
                               {"key": b"{oops", "value": None}])
    _create(session, "bad", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic=topic)
    with pytest.raises(FlowSQLError) as e:
        session.execute_one("SELECT * FROM bad")
    assert f"topic '{topic}', partition 0, offset 1" in str(e.value)


def test_primary_key_is_required(session, bootstrap):
    _create(session, "nopk", "k INT, v STRING", bootstrap, topic="whatever")
    with pytest.raises(ConnectorError, match="require to define a PRIMARY KEY"):
        session.execute_one("SELECT * FROM nopk")


def test_batch_mode_read_is_refused(session, bootstrap):
    _create(session, "u", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic="x")
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    with pytest.raises(ConnectorError, match="only possible for INSERT-only table sources"):
        session.execute_one("SELECT * FROM u")


def test_append_only_kafka_sink_still_rejects_updates(session, bootstrap):
    _create(session, "plain", "k INT, c BIGINT", bootstrap, connector="kafka", topic="x")
    _create(session, "u", "k INT, v STRING, PRIMARY KEY (k) NOT ENFORCED", bootstrap, topic="y")
    with pytest.raises(FlowSQLError, match="only accepts appends"):
        session.execute_one("INSERT INTO plain SELECT k, COUNT(*) FROM u GROUP BY k")
