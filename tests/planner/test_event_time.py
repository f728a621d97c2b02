"""flowsql/planner/event_time.py: sources generate watermarks only for plans that use them."""

from __future__ import annotations

import pytest

from flowsql.planner.plan import plan_inserts, plan_query
from flowsql.sql.parser import parse_query
from flowsql.sql.statements import parse_statement

DDL = """
CREATE TABLE e (k BIGINT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'number-of-rows' = '10')
"""
SINK = "CREATE TABLE out_p (d STRING) WITH ('connector' = 'filesystem', 'path' = '{path}', " \
       "'format' = 'csv', 'sink.partition-commit.trigger' = 'partition-time')"


def _watermarked(session, sql: str) -> bool:
    graph = plan_query(session, parse_query(sql)).graph
    return any("watermark" in op.params for op in graph.operators if op.kind == "source")


@pytest.mark.parametrize("sql", [
    "SELECT k, v FROM e WHERE v > 1",
    "SELECT k, COUNT(*), SUM(v) FROM e GROUP BY k HAVING COUNT(*) > 1",
    "SELECT a.k FROM e a JOIN e b ON a.k = b.k",
    "SELECT k FROM e UNION ALL SELECT v FROM e",
])
def test_no_watermark_where_nothing_uses_event_time(session, sql):
    session.execute_one(DDL)
    assert not _watermarked(session, sql)


@pytest.mark.parametrize("sql", [
    "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), "
    "INTERVAL '1' MINUTE)) GROUP BY window_start, window_end",
    "SELECT k, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS 2 PRECEDING) FROM e",
    "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts) AS r FROM e) "
    "WHERE r = 1",
    "SELECT a.k FROM e a, e b WHERE a.k = b.k AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND "
    "AND b.ts",
])
def test_watermark_kept_where_event_time_is_used(session, sql):
    session.execute_one(DDL)
    assert _watermarked(session, sql)


def test_partition_time_commit_keeps_the_watermark(session, tmp_path):
    session.execute_one(DDL)
    session.execute_one(SINK.format(path=tmp_path))
    graph = plan_inserts(session, [parse_statement(
        "INSERT INTO out_p SELECT CAST(k AS STRING) FROM e")]).graph
    assert any("watermark" in op.params for op in graph.operators if op.kind == "source")
