"""Planning Top-N: which node a ROW_NUMBER() pattern becomes, its changelog mode, the rank
range read from the WHERE clause and the "no rank number" optimisation."""

from __future__ import annotations

import pytest

from tests.planner.explain_text import optimized

DDL = """
CREATE TABLE t (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'number-of-rows' = '10');
"""
TOP = "SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY {order}) AS rn FROM t) WHERE {where}"
TVF = "TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))"


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


@pytest.mark.parametrize("cols, order, where, expected", [
    ("*", "v DESC", "rn <= 3", "Rank(rankType=[ROW_NUMBER], rankRange=[rankStart=1, rankEnd=3], "
     "partitionBy=[k], orderBy=[v DESC NULLS LAST], select=[k, v, ts, rn]) changelogMode=[I,UB,UA,D]"),
    ("k, v", "v", "rn < 3 AND v > 0", "rankRange=[rankStart=1, rankEnd=2], partitionBy=[k], "
     "orderBy=[v ASC NULLS FIRST], select=[k, v])"),  # ts pruned
    ("k, rn", "v", "rn BETWEEN 2 AND 4", "rankRange=[rankStart=2, rankEnd=4]"),
    ("k, rn", "v", "3 >= rn AND rn > 1", "rankRange=[rankStart=2, rankEnd=3]"),
    ("k, v", "ts DESC", "rn = 1", "Deduplicate(keep=[LastRow], key=[k], order=[ROWTIME ts]) "
     "changelogMode=[I,UB,UA,D]"),
    ("k, v", "ts", "rn <= 1", "Deduplicate(keep=[FirstRow], key=[k], order=[ROWTIME ts])"),
    ("k, v, rn", "ts", "rn = 1", "Rank(rankType=[ROW_NUMBER], rankRange=[rankStart=1, rankEnd=1]"),
])
def test_top_n_plans(s, cols, order, where, expected):
    plan = optimized(s, TOP.format(cols=cols, order=order, where=where))
    assert expected in plan
    if "AND v > 0" in where:
        assert "where=[v > 0]" in plan


def test_window_top_n_is_append_only(s):
    sql = (f"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end "
           f"ORDER BY v DESC) AS rn FROM {TVF}) WHERE rn <= 3")
    plan = optimized(s, sql)
    assert "WindowRank(rankType=[ROW_NUMBER], rankRange=[rankStart=1, rankEnd=3], partitionBy=[window_start, window_end]" in plan
    assert "WindowTableFunction(window=[TUMBLE(ts, size=10000 ms)]) changelogMode=[I]" in plan
    assert "[I,UB,UA,D]" not in plan


def test_top_n_over_a_window_tvf_without_window_partition_is_a_regular_rank(s):
    sql = f"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM {TVF}) WHERE rn <= 3"
    plan = optimized(s, sql)
    assert "Rank(rankType" in plan and "WindowRank" not in plan


def test_top_n_into_an_append_only_sink_names_the_rank(s):
    from flowsql.errors import PlanError

    s.execute_one("CREATE TABLE k (k INT, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 'x', "
                  "'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'json')")
    with pytest.raises(PlanError, match=r"produces updates \(from Rank\(rankType=\[ROW_NUMBER\]"):
        s.execute_one("INSERT INTO k " + TOP.format(cols="k, v", order="v DESC", where="rn <= 3"))
    with pytest.raises(PlanError, match=r"from Deduplicate\(keep=\[FirstRow\]"):
        s.execute_one("INSERT INTO k " + TOP.format(cols="k, v", order="ts", where="rn = 1"))
    # a window Top-N is append-only: accepted
    sql = (f"SELECT k, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end "
           f"ORDER BY v DESC) AS rn FROM {TVF}) WHERE rn <= 3")
    assert "Sink(table=[default_catalog.default_database.k]" in optimized(s, "INSERT INTO k " + sql)
