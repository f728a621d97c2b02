"""Window joins and window TVFs without aggregation through the Session: streaming equals
batch on a datagen table, the plan and its errors (tests/e2e/test_differential_window_joins.py
covers the results at large)."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError, ValidationError

DDL = """
CREATE TABLE ev (
  k INT, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen', 'number-of-rows' = '300', 'seed' = '5',
  'fields.k.min' = '1', 'fields.k.max' = '5', 'fields.v.min' = '0', 'fields.v.max' = '9',
  'fields.ts.min' = '2024-01-01 00:00:00', 'fields.ts.max' = '2024-01-01 00:00:30');
"""
TUMBLE = "TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND))"
HOP = "TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))"


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


def rows(session, sql: str) -> list[tuple]:
    return sorted((tuple(r.values()) for r in session.execute_one(sql).table.to_pylist()), key=str)


def join(left: str, right: str, kind: str = "JOIN", on: str = "L.window_end = R.window_end") -> str:
    return (f"SELECT L.k, L.v, R.v AS rv, L.window_start FROM (SELECT * FROM {left}) L {kind} "
            f"(SELECT * FROM {right}) R ON L.k = R.k AND L.window_start = R.window_start AND {on}")


@pytest.mark.parametrize("kind", ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
def test_streaming_equals_batch(s, kind):
    sql = join(TUMBLE, TUMBLE.replace("TABLE ev", "TABLE (SELECT * FROM ev WHERE v > 4)"), kind)
    assert "WindowJoin" in s.execute_one("EXPLAIN " + sql).message
    streamed = rows(s, sql)
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert streamed == rows(s, sql)
    assert streamed


def test_only_window_start_is_a_regular_join(s):
    plan = s.execute_one("EXPLAIN " + join(TUMBLE, TUMBLE, on="L.v = R.v")).message
    assert "WindowJoin" not in plan and "Join(joinType=[InnerJoin]" in plan


def test_different_windows_are_refused(s):
    with pytest.raises(ValidationError, match=r"a window join needs the same window on both inputs; "
                       r"they have TUMBLE\(ts, size=5000 ms\) and HOP\(ts, slide=5000 ms, "
                       r"size=10000 ms\)"):
        s.execute_one(join(TUMBLE, HOP))


def test_window_time_is_the_time_attribute_after_the_tvf(s):
    s.execute_one(f"CREATE TEMPORARY VIEW w AS SELECT k, v, ts, window_time FROM {TUMBLE}")
    with pytest.raises(ValidationError, match="not an event-time attribute"):
        s.execute_one("SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE w, DESCRIPTOR(ts), INTERVAL '5' SECOND)) "
                      "GROUP BY window_start, window_end")
    sql = ("SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE w, DESCRIPTOR(window_time), "
           "INTERVAL '10' SECOND)) GROUP BY window_start, window_end")
    streamed = rows(s, sql)
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert streamed == rows(s, sql)


def test_session_window_without_aggregation_is_not_supported(s):
    with pytest.raises(NotSupportedError, match="SESSION window TVF"):
        s.execute_one("SELECT * FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), INTERVAL '1' SECOND))")
