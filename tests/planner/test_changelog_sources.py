"""Changelog sources in the planner: an upsert source (upsert-kafka) is normalized by a
ChangelogNormalize hash-partitioned on the primary key, before any filter; a retract source
(a debezium-json table) is an updating input as it is; append-only sinks refuse both and
window aggregations over them are not supported. Planning only: no broker is contacted."""

from __future__ import annotations

import pytest

from flowsql.errors import FlowSQLError, NotSupportedError

UPSERT = ("CREATE TABLE u (id BIGINT, name STRING, ts TIMESTAMP(3), PRIMARY KEY (id) NOT ENFORCED) "
          "WITH ('connector' = 'upsert-kafka', 'topic' = 'x', 'properties.bootstrap.servers' = "
          "'127.0.0.1:9', 'key.format' = 'json', 'value.format' = 'json')")
DEBEZIUM = ("CREATE TABLE d (id BIGINT, name STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', "
            "'topic' = 'y', 'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'debezium-json', 'scan.startup.mode' = 'earliest-offset')")


@pytest.fixture
def tables(session):
    session.execute_one(UPSERT)
    session.execute_one(DEBEZIUM)
    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    return session


def _plan(session, sql: str) -> str:
    return session.execute_one(f"EXPLAIN {sql}").extra["plan"]


def test_upsert_source_is_normalized_before_the_filter(tables):
    plan = _plan(tables, "SELECT name, COUNT(*) FROM u WHERE id > 3 GROUP BY name")
    assert "-> 2-changelog-normalize hash[id]" in plan
    assert '2-changelog-normalize: ChangelogNormalize kind=changelog-normalize' in plan
    assert '3-calc: Calc kind=calc params={"filter":"id > 3"' in plan
    modes = plan.split("== Changelog Modes ==")[1].split()
    assert modes[:4] == ["1-source:", "upsert", "2-changelog-normalize:", "retract"]


def test_retract_source_needs_no_normalize(tables):
    plan = _plan(tables, "SELECT name, COUNT(*) FROM d GROUP BY name")
    assert "changelog-normalize" not in plan
    assert "1-source: retract" in plan
    scan = next(line for line in plan.splitlines() if "Scan(table=[default_catalog.default_database.d]" in line
                and "changelogMode" in line)
    assert scan.endswith("changelogMode=[I,UB,UA,D]")


@pytest.mark.parametrize("table", ["u", "d"])
def test_append_only_sink_refuses_a_changelog_source(tables, tmp_path, table):
    tables.execute_one(f"CREATE TABLE out (id BIGINT, name STRING, ts TIMESTAMP(3)) WITH "
                       f"('connector' = 'filesystem', 'path' = '{tmp_path}', 'format' = 'json')")
    tables.execute_one("CREATE TABLE k (id BIGINT, name STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', "
                       "'topic' = 'z', 'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'json')")
    with pytest.raises(FlowSQLError, match=rf"only accepts appends.*from Scan\(table=\[.*\.{table}\]"):
        tables.execute_one(f"INSERT INTO k SELECT * FROM {table}")


def test_window_aggregate_over_changelog_source_is_not_supported(tables):
    with pytest.raises(NotSupportedError, match="window aggregation over an updating input"):
        _plan(tables, "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE d, DESCRIPTOR(ts), "
                      "INTERVAL '1' MINUTE)) GROUP BY window_start, window_end")


def test_kafka_table_with_primary_key_needs_a_changelog_format(session):
    session.execute_one("CREATE TABLE pk (id BIGINT, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector' = "
                        "'kafka', 'topic' = 'x', 'properties.bootstrap.servers' = '127.0.0.1:9', "
                        "'format' = 'json', 'scan.startup.mode' = 'earliest-offset')")
    with pytest.raises(FlowSQLError, match="doesn't support defining PRIMARY KEY"):
        _plan(session, "SELECT * FROM pk")
