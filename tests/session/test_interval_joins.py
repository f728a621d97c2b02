"""Interval joins through the Session: streaming equals batch on a datagen table, the plan
and its errors (the differential tests in tests/e2e/test_differential_interval_joins.py
cover the results at large)."""

from __future__ import annotations

import pytest

from flowsql.errors import ValidationError

DDL = """
CREATE TABLE ev (
  k INT, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen', 'number-of-rows' = '300', 'seed' = '3',
  'fields.k.min' = '1', 'fields.k.max' = '5', 'fields.v.min' = '0', 'fields.v.max' = '9',
  'fields.ts.min' = '2024-01-01 00:00:00', 'fields.ts.max' = '2024-01-01 00:00:30');
"""


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


def rows(session, sql: str) -> list[tuple]:
    return sorted((tuple(r.values()) for r in session.execute_one(sql).table.to_pylist()), key=str)


@pytest.mark.parametrize("join", ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
def test_streaming_equals_batch(s, join):
    sql = (f"SELECT a.k, a.v, a.ts, b.v AS bv FROM ev AS a {join} ev AS b ON a.k = b.k "
           "AND a.ts > b.ts AND a.ts <= b.ts + INTERVAL '2' SECOND")
    assert "IntervalJoin" in s.execute_one("EXPLAIN " + sql).message
    streamed = rows(s, sql)
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert streamed == rows(s, sql)
    assert streamed


def test_one_bound_with_an_equality_is_a_regular_join(s):
    plan = s.execute_one("EXPLAIN SELECT a.k FROM ev AS a JOIN ev AS b ON a.k = b.k AND a.ts >= b.ts").message
    assert "IntervalJoin" not in plan and "Join(joinType=[InnerJoin]" in plan


def test_the_time_columns_stay_time_attributes(s):
    s.execute_one("CREATE TEMPORARY VIEW j AS SELECT a.k, a.ts, b.ts AS bts FROM ev AS a JOIN ev AS b "
                  "ON a.k = b.k AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts")
    sql = ("SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE j, DESCRIPTOR(bts), "
           "INTERVAL '10' SECOND)) GROUP BY window_start, window_end")
    streamed = rows(s, sql)
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert streamed == rows(s, sql)


@pytest.mark.parametrize("sql, error, message", [
    ("SELECT a.k FROM ev AS a JOIN ev AS b\n  ON a.ts < b.ts + INTERVAL '1' SECOND", ValidationError,
     r"an interval join needs a lower and an upper bound between the inputs' time attributes; "
     r"'a.ts < b.ts \+ INTERVAL '1' SECOND' has no lower bound \(line 2, column 6\)"),
    ("SELECT a.k FROM (SELECT k, COUNT(*) AS c, MAX(ts) AS ts FROM ev GROUP BY k) AS a "
     "JOIN ev AS b ON a.ts BETWEEN b.ts AND b.ts", ValidationError, "needs at least one equality"),
])
def test_errors(s, sql, error, message):
    with pytest.raises(error, match=message):
        s.execute_one(sql)


def test_an_updating_input_has_no_time_attribute_so_the_join_is_regular(s):
    """A GROUP BY / UNION output is updating and keeps no time attribute (as in Flink), so a
    time condition over it is a regular join's residual; the planner's append-only check
    for interval joins (flowsql.planner.changelog) is a guard behind that."""
    s.execute_one("CREATE TEMPORARY VIEW u AS SELECT k, ts FROM ev AS a UNION SELECT k, ts FROM ev")
    plan = s.execute_one("EXPLAIN SELECT * FROM u JOIN ev AS b ON u.k = b.k "
                         "AND u.ts BETWEEN b.ts AND b.ts").message
    assert "IntervalJoin" not in plan and "Join(joinType=[InnerJoin]" in plan


def test_comma_join_with_where_conditions_is_an_interval_join(s):
    sql = ("SELECT a.k, b.v FROM ev AS a, ev AS b WHERE a.k = b.k AND a.v > 3 "
           "AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts")
    assert "IntervalJoin(joinType=[InnerJoin]" in s.execute_one("EXPLAIN " + sql).message
    streamed = rows(s, sql)
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert streamed == rows(s, sql)
