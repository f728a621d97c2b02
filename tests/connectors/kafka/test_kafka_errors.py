"""Clear errors at planning or job start, never a hang: unknown options, a missing topic
option, a bad bootstrap address, a topic that does not exist (source and sink)."""

from __future__ import annotations

import time

import pytest

from connectors.kafka import broker as kafka_broker
from connectors.kafka.options import parse_specific_offsets
from flowsql.errors import ConnectorError, FlowSQLError


def _create(session, options: str, columns: str = "v INT", name: str = "t") -> None:
    session.execute_one(f"CREATE TABLE {name} ({columns}) WITH ('connector' = 'kafka', {options})")


def test_unknown_option_is_named_with_the_valid_ones(session, bootstrap):
    _create(session, f"'topic' = 'x', 'properties.bootstrap.servers' = '{bootstrap}', "
                     "'format' = 'json', 'scan.startup.mod' = 'earliest-offset'")
    with pytest.raises(ConnectorError) as err:
        session.execute_one("SELECT * FROM t")
    assert "Unsupported option 'scan.startup.mod'" in str(err.value)
    assert err.value.hint.startswith("Supported options: scan.startup.mode")


@pytest.mark.parametrize(("options", "message"), [
    ("'format' = 'json'", "Missing required option 'topic'"),
    ("'topic' = 'a', 'topic-pattern' = 'a.*', 'format' = 'json'", "exclude each other"),
    ("'topic' = 'a'", "Missing required option 'format'"),
    ("'topic' = 'a', 'format' = 'json', 'key.format' = 'json'", "'key.fields'"),
    ("'topic' = 'a', 'format' = 'json', 'csv.field-delimiter' = ';'", "with format 'json'"),
    ("'topic' = 'a', 'format' = 'json', 'scan.startup.mode' = 'timestamp'",
     "'scan.startup.timestamp-millis'"),
    ("'topic' = 'a', 'format' = 'json'", "'properties.group.id'"),  # group-offsets default
])
def test_bad_options_fail_at_planning(session, options, message):
    _create(session, options + ", 'properties.bootstrap.servers' = '127.0.0.1:1'")
    started = time.monotonic()
    with pytest.raises(ConnectorError) as err:
        session.execute_one("SELECT * FROM t")
    assert message in str(err.value)
    assert time.monotonic() - started < 5  # planning: no broker is asked


def test_specific_offsets_syntax():
    assert parse_specific_offsets("k", "partition:0,offset:42;partition:1,offset:300") == {0: 42, 1: 300}
    with pytest.raises(ConnectorError, match="Invalid value '0:42'") as err:
        parse_specific_offsets("k", "0:42")
    assert "partition:0,offset:42" in err.value.hint


def test_bad_bootstrap_address_fails_at_start_without_hanging(session):
    port = kafka_broker.free_port()  # nothing listens there
    _create(session, f"'topic' = 'a', 'properties.bootstrap.servers' = '127.0.0.1:{port}', "
                     "'format' = 'json', 'scan.startup.mode' = 'earliest-offset', "
                     "'scan.bounded.mode' = 'latest-offset'")
    started = time.monotonic()
    with pytest.raises(FlowSQLError) as err:
        session.execute_one("SELECT * FROM t")
    assert f"no answer from the brokers at '127.0.0.1:{port}'" in str(err.value)
    assert time.monotonic() - started < 30


def test_missing_topic_fails_at_start(session, bootstrap):
    _create(session, f"'topic' = 'no-such-topic', 'properties.bootstrap.servers' = '{bootstrap}', "
                     "'format' = 'json', 'scan.startup.mode' = 'earliest-offset', "
                     "'scan.bounded.mode' = 'latest-offset'")
    with pytest.raises(FlowSQLError) as err:
        session.execute_one("SELECT * FROM t")
    assert "topic 'no-such-topic' does not exist" in str(err.value)
    _create(session, f"'topic-pattern' = 'no-such-.*', 'properties.bootstrap.servers' = '{bootstrap}', "
                     "'format' = 'json', 'scan.startup.mode' = 'earliest-offset', "
                     "'scan.bounded.mode' = 'latest-offset'", name="p")
    with pytest.raises(FlowSQLError, match="no topic .* matches the pattern"):
        session.execute_one("SELECT * FROM p")


def test_sink_to_missing_topic_and_exactly_once(session, bootstrap, tmp_path):
    (tmp_path / "one.json").write_text('{"v": 1}\n')
    session.execute_one(f"CREATE TABLE one (v INT) WITH ('connector' = 'filesystem', "
                        f"'path' = '{tmp_path / 'one.json'}', 'format' = 'json')")
    _create(session, f"'topic' = 'no-such-out', 'properties.bootstrap.servers' = '{bootstrap}', "
                     "'format' = 'json'")
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    with pytest.raises(FlowSQLError) as err:
        session.execute_one("INSERT INTO t SELECT v FROM one")
    assert "topic 'no-such-out' does not exist" in str(err.value)
    _create(session, f"'topic' = 'x', 'properties.bootstrap.servers' = '{bootstrap}', "
                     "'format' = 'json', 'sink.delivery-guarantee' = 'exactly-once'", name="eo")
    with pytest.raises(FlowSQLError, match="exactly-once"):
        session.execute_one("INSERT INTO eo SELECT v FROM one")
