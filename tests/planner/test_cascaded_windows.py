"""Planning cascaded window aggregation (flowsql.planner.cascaded_windows): which GROUP BYs
over a window aggregate's output become window aggregates on the same windows, the window
the operator runs, and the window join of two window-aggregate outputs (Nexmark q5)."""

from __future__ import annotations

import pytest

from tests.planner.explain_text import optimized

HOP = "HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)"
INNER = ("SELECT k, COUNT(*) AS c, window_start AS ws, window_end AS we FROM TABLE({w}) "
         "GROUP BY k, window_start, window_end")


@pytest.fixture
def tables(session, tmp_path):
    (tmp_path / "t.csv").write_text("a,1,2024-01-01 00:00:01\n")
    session.execute_one(
        "CREATE TABLE t (k STRING, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL "
        f"'1' SECOND) WITH ('connector' = 'filesystem', 'path' = '{tmp_path / 't.csv'}', "
        "'format' = 'csv')")
    return session


@pytest.mark.parametrize("window, tumble", [
    ("TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND)", "size=5000 ms"),
    (HOP, "size=2000 ms"),
    ("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '4' SECOND, INTERVAL '10' SECOND)",
     "size=4000 ms, offset=2000 ms"),
    ("CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)", "size=2000 ms"),
])
def test_group_by_renamed_window_columns_is_a_window_aggregate(tables, window, tumble):
    text = optimized(tables, f"SELECT we, ws, MAX(c) AS m FROM ({INNER.format(w=window)}) "
                             "WHERE c > 1 GROUP BY ws, we")
    assert f"WindowAggregate(window=[TUMBLE(cw$time, {tumble})], cascaded=[" in text
    assert "keys=[`cw$window_start`], aggs=[MAX(c) AS m], window_columns=[window_end]" in text
    assert "GroupAggregate" not in text


@pytest.mark.parametrize("sql", [
    # only one of the two window columns
    f"SELECT ws, MAX(c) AS m FROM ({INNER.format(w=HOP)}) GROUP BY ws",
    # an expression of a window column is not the window column
    f"SELECT w2, ws, MAX(c) AS m FROM (SELECT ws, we + INTERVAL '1' SECOND AS w2, c FROM "
    f"({INNER.format(w=HOP)})) GROUP BY ws, w2",
    # a regular GROUP BY in between (an aggregate of a window column is no window column)
    f"SELECT ws, we, SUM(c) AS s FROM (SELECT ws, MAX(we) AS we, COUNT(*) AS c FROM "
    f"({INNER.format(w=HOP)}) GROUP BY ws) GROUP BY ws, we",
    # a SESSION window's bounds depend on the key
    "SELECT ws, we, MAX(c) AS m FROM (" + INNER.format(
        w="SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' SECOND)") + ") GROUP BY ws, we",
])
def test_not_cascaded(tables, sql):
    text = optimized(tables, sql)
    assert "cascaded=" not in text
    assert "GroupAggregate" in text


def test_q5_shape_is_a_window_join_of_window_aggregates(tables):
    counts = INNER.format(w=HOP)
    text = optimized(tables, (
        f"SELECT A.k, A.c FROM ({counts}) AS A JOIN (SELECT MAX(C.c) AS m, C.ws, C.we "
        f"FROM ({counts}) AS C GROUP BY C.ws, C.we) AS B "
        "ON A.ws = B.ws AND A.we = B.we AND A.c >= B.m"))
    assert "WindowJoin(joinType=[InnerJoin], window=[HOP(ts, slide=2000 ms, size=10000 ms)]" in text
    assert "(c >= m)" in text
    assert "GroupAggregate" not in text and " Join(" not in text


def test_cascade_of_a_cascade_and_window_columns_under_their_own_names(tables):
    inner = ("SELECT k, v, window_start, window_end, window_time, COUNT(*) AS c FROM "
             f"TABLE({HOP}) GROUP BY k, v, window_start, window_end, window_time")
    middle = (f"SELECT k, window_start, window_end, SUM(c) AS c, MAX(window_time) AS wt "
              f"FROM ({inner}) GROUP BY k, window_start, window_end")
    text = optimized(tables, f"SELECT window_end, COUNT(*) AS n FROM ({middle}) "
                             "GROUP BY window_start, window_end")
    assert text.count("cascaded=[HOP(ts, slide=2000 ms, size=10000 ms)]") == 2
    assert "MAX(`cw$window_time`) AS wt" in text
