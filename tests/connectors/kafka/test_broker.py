"""The project's own broker: it serves a topic, and it stops by pid."""

from __future__ import annotations

import os

from connectors.kafka import broker as kafka_broker
from tests.connectors.kafka.kafka_util import produce, read_topic


def test_broker_round_trip(kafka, new_topic):
    topic = new_topic(partitions=2)
    produce(kafka.bootstrap, topic, [{"value": f"v{i}", "partition": i % 2} for i in range(10)])
    values = sorted(m.value().decode() for m in read_topic(kafka.bootstrap, topic))
    assert values == sorted(f"v{i}" for i in range(10))
    assert kafka.bootstrap.startswith("127.0.0.1:")


def test_broker_is_the_jvm_and_stops_by_pid(kafka):
    cmdline = open(f"/proc/{kafka.pid}/cmdline", "rb").read().split(b"\0")
    assert b"kafka.Kafka" in cmdline and b"-Xmx512m" in cmdline
    assert os.path.basename(cmdline[0].decode()) == "java"
    assert kafka_broker.lib_dir().is_dir()
