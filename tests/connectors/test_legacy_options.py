"""Flink 1.x table options ('connector.type', 'connector.path', 'format.type', …) are
recorded under today's names with a deprecation warning (connectors/legacy.py)."""

from __future__ import annotations

import pytest

from connectors.legacy import modernize
from flowsql.errors import ConnectorError
from flowsql.session import Session


def test_modern_options_are_left_alone():
    opts = {"connector": "filesystem", "path": "/x", "format": "csv"}
    assert modernize(opts) == (opts, [])


def test_legacy_keys_are_mapped_and_named_in_one_warning():
    opts, warnings = modernize({
        "connector.type": "kafka", "connector.version": "universal", "connector.topic": "bids",
        "connector.properties.bootstrap.servers": "127.0.0.1:9092",
        "connector.startup-mode": "earliest-offset", "format.type": "json",
        "format.ignore-parse-errors": "true", "update-mode": "append",
    })
    assert opts == {
        "connector": "kafka", "topic": "bids", "properties.bootstrap.servers": "127.0.0.1:9092",
        "scan.startup.mode": "earliest-offset", "format": "json", "json.ignore-parse-errors": "true",
    }
    (warning,) = warnings
    assert "'connector.type' → 'connector'" in warning and "'format.type' → 'format'" in warning
    assert "dropped (no longer used): connector.version, update-mode" in warning


def test_nexmark_q13_side_input_runs(tmp_path):
    data = tmp_path / "side_input.txt"
    data.write_text("1,one\n2,two\n")
    s = Session(tmp_path / "home", {"execution.runtime-mode": "batch"})
    result = s.execute_one(
        "CREATE TABLE side_input (key BIGINT, `value` VARCHAR) WITH ("
        "'connector.type' = 'filesystem', "
        f"'connector.path' = 'file://{data}', 'format.type' = 'csv')")
    assert result.warnings and "deprecated" in result.warnings[0]
    ddl = s.execute_one("SHOW CREATE TABLE side_input").extra["ddl"]
    assert "'connector' = 'filesystem'" in ddl and "connector.type" not in ddl
    rows = s.execute_one("SELECT key, `value` FROM side_input ORDER BY key").table.to_pylist()
    assert rows == [{"key": 1, "value": "one"}, {"key": 2, "value": "two"}]


def test_a_legacy_key_without_a_modern_one_is_named(tmp_path):
    s = Session(tmp_path / "home", {"execution.runtime-mode": "batch"})
    s.execute_one("CREATE TABLE t (a INT) WITH ('connector.type' = 'filesystem', "
                  f"'connector.path' = '{tmp_path}', 'format.type' = 'csv', "
                  "'connector.bogus' = 'x')")
    with pytest.raises(ConnectorError, match="Unsupported option 'bogus'"):
        s.execute_one("SELECT * FROM t")
