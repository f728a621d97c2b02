"""``scan.topic-partition-discovery.interval`` against the real broker: a partition added to a
topic and a new topic matching ``topic-pattern`` are read by a running job (over two source
subtasks, each record once), and not when discovery is off."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka.admin import AdminClient, NewPartitions

from connectors.kafka.options import discovery_interval_ms
from connectors.kafka.reader import split_owner
from flowsql.errors import ConnectorError
from tests.connectors.kafka.kafka_util import (
    create_topic,
    json_values,
    produce,
    resume_with_more,
    savepoints_on,
)


def add_partitions(bootstrap: str, topic: str, total: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_partitions([NewPartitions(topic, total)])[topic].result(timeout=20)


def start(session, bootstrap: str, prefix: str, interval: str):
    pattern = prefix.replace("-", "\\-") + r"\..*"
    session.execute_one(
        "CREATE TABLE t (v INT, tp STRING METADATA FROM 'topic' VIRTUAL, "
        "p INT METADATA FROM 'partition' VIRTUAL) WITH ('connector' = 'kafka', "
        f"'properties.bootstrap.servers' = '{bootstrap}', 'topic-pattern' = '{pattern}', "
        "'format' = 'json', 'scan.startup.mode' = 'latest-offset', "
        f"'scan.topic-partition-discovery.interval' = '{interval}')")
    return session.execute_one("SELECT v, tp, p FROM t").extra["stream"]


def collect_until(stream, got: list, wanted: set[int], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not wanted <= {r["v"] for r in got}:
        assert time.monotonic() < deadline, got
        for batch in stream.batches(timeout=0.5):
            got.extend(batch.to_pylist())


def first_row(stream, got: list, bootstrap: str, topic: str) -> None:
    """Produce v=0 until the job (started at latest-offset) has read it: it is running."""
    deadline = time.monotonic() + 60
    while 0 not in {r["v"] for r in got}:
        assert time.monotonic() < deadline, got
        produce(bootstrap, topic, [{"value": json.dumps({"v": 0}), "partition": 0}])
        for batch in stream.batches(timeout=0.5):
            got.extend(batch.to_pylist())


def grow_while_running(session, bootstrap: str, prefix: str, interval: str):
    """Start the query over ``<prefix>.a`` (1 partition); once it runs, add partition 1 to it
    and create ``<prefix>.b``, and produce v=1 and v=2 there. -> (stream, rows so far, a, b)."""
    first, second = f"{prefix}.a", f"{prefix}.b"
    create_topic(bootstrap, first, 1)
    stream = start(session, bootstrap, prefix, interval)
    got: list[dict] = []
    try:
        first_row(stream, got, bootstrap, first)
        add_partitions(bootstrap, first, 2)
        create_topic(bootstrap, second, 1)
        # produced before the job can have noticed: discovered splits start at the earliest offset
        produce(bootstrap, first, [{"value": json.dumps({"v": 1}), "partition": 1}])
        produce(bootstrap, second, [json.dumps({"v": 2})])
    except BaseException:
        stream.cancel()
        raise
    return stream, got, first, second


@pytest.mark.parametrize("parallelism", [1, 2])
def test_new_partition_and_new_topic_are_read(session, bootstrap, new_topic, parallelism):
    session.execute_one(f"SET 'parallelism.default' = '{parallelism}'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    stream, got, first, second = grow_while_running(session, bootstrap, new_topic(prefix="disc"),
                                                    "200 ms")
    try:
        collect_until(stream, got, {1, 2})
        produce(bootstrap, first, [{"value": json.dumps({"v": 3}), "partition": 1}])
        produce(bootstrap, second, [json.dumps({"v": 4})])
        collect_until(stream, got, {3, 4})
    finally:
        stream.cancel()
    rows = sorted((r["v"], r["tp"], r["p"]) for r in got if r["v"] != 0)
    assert rows == [(1, first, 1), (2, second, 0), (3, first, 1), (4, second, 0)]  # each once


def test_discovery_disabled_reads_only_the_partitions_of_the_start(session, bootstrap, new_topic):
    stream, got, first, _ = grow_while_running(session, bootstrap, new_topic(prefix="nodisc"), "0")
    try:
        produce(bootstrap, first, [{"value": json.dumps({"v": 9}), "partition": 0}])
        collect_until(stream, got, {9})
        for _ in range(6):  # the new partitions had many intervals' worth of polls to show up
            for batch in stream.batches(timeout=0.5):
                got.extend(batch.to_pylist())
    finally:
        stream.cancel()
    assert {r["v"] for r in got} == {0, 9}


def test_discovered_partition_position_is_in_the_savepoint(session, bootstrap, new_topic,
                                                          tmp_path):
    """Kafka → Kafka (at-least-once): a partition discovered while the job ran is in the
    savepoint; the resumed job reads it on from there (not again from its earliest offset),
    so the output holds every input once."""
    src, out = new_topic(), new_topic()
    for name, topic in (("s", src), ("o", out)):
        session.execute_one(
            f"CREATE TABLE {name} (v INT) WITH ('connector' = 'kafka', "
            f"'properties.bootstrap.servers' = '{bootstrap}', 'topic' = '{topic}', "
            "'format' = 'json', 'scan.startup.mode' = 'earliest-offset', "
            "'scan.topic-partition-discovery.interval' = '200 ms')")
    savepoints_on(session, tmp_path)

    produce(bootstrap, src, [json.dumps({"v": i}) for i in range(5)])
    job = session.execute_one("INSERT INTO o SELECT v FROM s").job_id
    assert json_values(bootstrap, out, 5) == list(range(5))
    add_partitions(bootstrap, src, 2)
    produce(bootstrap, src, [{"value": json.dumps({"v": i}), "partition": 1} for i in range(5, 10)])
    assert json_values(bootstrap, out, 10) == list(range(10))
    assert resume_with_more(session, bootstrap, job, src, out) == list(range(16))


def test_interval_option_values():
    assert discovery_interval_ms(None) == 300_000  # Flink 2.x's default: 5 min
    assert discovery_interval_ms("200 ms") == 200
    assert discovery_interval_ms("0") == 0
    assert discovery_interval_ms("-1 s") == 0  # negative: off, as in Flink
    with pytest.raises(ConnectorError, match="scan.topic-partition-discovery.interval"):
        discovery_interval_ms("often")


def test_split_owner_is_one_subtask_and_spreads_a_topic():
    for parallelism in (1, 2, 3):
        owners = [split_owner(f"t:{p}", parallelism) for p in range(6)]
        assert all(0 <= o < parallelism for o in owners)
        # consecutive partitions of a topic go round-robin from the topic's start subtask
        assert owners == [(owners[0] + p) % parallelism for p in range(6)]
