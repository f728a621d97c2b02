"""Planning OVER aggregations: the node and its window, Flink's errors for what it refuses."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError, ValidationError
from tests.planner.explain_text import optimized

DDL = """
CREATE TABLE t (k INT, v BIGINT, s STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'number-of-rows' = '10');
"""


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


@pytest.mark.parametrize("frame, text", [
    ("ROWS BETWEEN 2 PRECEDING AND CURRENT ROW", "window=[ROWS BETWEEN 2 PRECEDING AND CURRENT ROW]"),
    ("RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW",
     "window=[RANGE BETWEEN 60000 ms PRECEDING AND CURRENT ROW]"),
    ("", "window=[RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW]"),
])
def test_over_plans(s, frame, text):
    plan = optimized(s, f"SELECT k, v - SUM(v) OVER (PARTITION BY k ORDER BY ts {frame}) AS d FROM t")
    assert "OverAggregate(partitionBy=[k], orderBy=[ts ASC], " + text in plan
    assert "select=[SUM(v) AS $over0])" in plan and "changelogMode=[I]" in plan
    assert "[I,UB,UA,D]" not in plan


@pytest.mark.parametrize("sql, error, match", [
    ("SELECT SUM(v) OVER (PARTITION BY k ORDER BY v) FROM t", ValidationError, "time attribute"),
    ("SELECT SUM(v) OVER (PARTITION BY k ORDER BY ts DESC) FROM t", ValidationError, "time attribute"),
    ("SELECT MIN(s) OVER (ORDER BY ts) FROM t", NotSupportedError, "MIN OVER"),
    ("SELECT COUNT(DISTINCT v) OVER (ORDER BY ts) FROM t", NotSupportedError, "COUNT"),
    ("SELECT k, SUM(v) OVER (ORDER BY ts) FROM t GROUP BY k, v, ts", NotSupportedError, "GROUP BY"),
    ("SELECT SUM(v) OVER (ORDER BY ts ROWS BETWEEN INTERVAL '1' SECOND PRECEDING AND CURRENT ROW) FROM t",
     ValidationError, "row count"),
    # over an updating input: a bounded RANGE takes one integer (or timestamp) sort key
    ("SELECT SUM(v) OVER (ORDER BY s RANGE BETWEEN 3 PRECEDING AND CURRENT ROW) FROM "
     "(SELECT s, SUM(v) AS v FROM t GROUP BY s)", NotSupportedError,
     r"not supported yet: this RANGE frame over an updating input \(line 1, column 30\)"),
    ("SELECT SUM(v) OVER (ORDER BY v, k RANGE BETWEEN 3 PRECEDING AND CURRENT ROW) FROM "
     "(SELECT k, SUM(v) AS v FROM t GROUP BY k)", NotSupportedError, "RANGE frame"),
    ("SELECT SUM(v) OVER (ORDER BY v RANGE BETWEEN INTERVAL '1' SECOND PRECEDING AND CURRENT ROW) "
     "FROM (SELECT k, SUM(v) AS v FROM t GROUP BY k)", NotSupportedError, "RANGE frame"),
    ("SELECT SUM(v) OVER (PARTITION BY k) FROM (SELECT k, SUM(v) AS v FROM t GROUP BY k)",
     ValidationError, "needs an ORDER BY"),
])
def test_over_errors(s, sql, error, match):
    with pytest.raises(error, match=match):
        s.execute_one(sql)


def test_over_an_updating_input_plans_a_changelog(s):
    """Any sort keys (an expression, DESC) over a GROUP BY: the updating OVER node."""
    plan = optimized(s, "SELECT k, MAX(c) OVER (PARTITION BY k ORDER BY -c DESC, k ROWS BETWEEN 1 "
                        "PRECEDING AND CURRENT ROW) AS m FROM (SELECT k, v, COUNT(*) AS c FROM t "
                        "GROUP BY k, v)")
    assert ("OverAggregate(partitionBy=[k], orderBy=[$over_o0 DESC NULLS LAST, k ASC NULLS FIRST], "
            "window=[ROWS BETWEEN 1 PRECEDING AND CURRENT ROW], select=[MAX(c) AS $over0], "
            "updating=[true])") in plan
    assert "changelogMode=[I,UB,UA,D]" in plan.split("OverAggregate")[1].splitlines()[0]


def test_over_an_updating_input_default_frame_is_range(s):
    plan = optimized(s, "SELECT SUM(v) OVER (ORDER BY ts) FROM (SELECT k, SUM(v) AS v, MAX(ts) AS ts "
                        "FROM t GROUP BY k)")
    assert "window=[RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW]" in plan
    assert "updating=[true]" in plan


def test_over_an_updating_input_bounded_range(s):
    plan = optimized(s, "SELECT SUM(v) OVER (PARTITION BY k ORDER BY v DESC RANGE BETWEEN 3 PRECEDING "
                        "AND CURRENT ROW) FROM (SELECT k, SUM(v) AS v FROM t GROUP BY k)")
    assert "window=[RANGE BETWEEN 3 PRECEDING AND CURRENT ROW]" in plan and "updating=[true]" in plan
