"""Planning scalar subqueries (flowsql.planner.scalar_subqueries): the LEFT join with the
aggregation, hidden helper columns, and the shapes that are refused, each naming why.
Results are checked against DuckDB in tests/e2e/test_differential_subqueries.py."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError

DDL = """
CREATE TABLE t (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE u (k INT, v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
"""


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


def _plan(s, sql: str) -> str:
    return s.execute_one("EXPLAIN " + sql).message


def test_uncorrelated_is_a_left_join_with_a_global_aggregate(s):
    plan = _plan(s, "SELECT * FROM t WHERE v > (SELECT AVG(v) FROM u)")
    assert "Join(joinType=[LeftOuterJoin]" in plan
    assert "GroupAggregate" in plan
    sink = next(line for line in plan.splitlines() if line.startswith("Sink("))
    assert "fields=[k, v, ts]" in sink  # SELECT * does not show the helper columns


def test_correlated_groups_by_the_correlation_key(s):
    plan = _plan(s, "SELECT a.k, a.v FROM t AS a WHERE a.v = "
                    "(SELECT MAX(b.v) FROM u AS b WHERE b.k = a.k)")
    assert "keys=[k]" in plan.replace('"', "")


@pytest.mark.parametrize(
    "sql, why",
    [
        ("SELECT k FROM t WHERE v > (SELECT v FROM u)", "more than one row"),
        ("SELECT k FROM t WHERE v > (SELECT MAX(v) FROM u GROUP BY k)", "more than one row"),
        ("SELECT k FROM t WHERE v > (SELECT MAX(v), MIN(v) FROM u)", "exactly one expression"),
        ("SELECT k FROM t WHERE v > (SELECT COUNT(*) + 1 FROM u)", "single aggregate"),
        ("SELECT k FROM t AS a WHERE v > (SELECT MAX(b.v) FROM u AS b WHERE b.k < a.k)",
         "must be an equality"),
        ("SELECT k FROM t AS a WHERE v > (SELECT MAX(b.v) + 1 FROM u AS b WHERE b.k = a.k)",
         "single aggregate"),
        ("SELECT k FROM t AS a WHERE v > (SELECT MAX(b.v) FROM u AS b JOIN u AS c ON b.k = c.k "
         "WHERE b.k = a.k)", "reads one table"),
    ],
)
def test_refused_shapes_say_why(s, sql, why):
    with pytest.raises(NotSupportedError, match="not supported yet") as e:
        s.execute_one(sql)
    assert why in str(e.value)
