"""Differential tests, scalar subqueries (LEFT joins with one-row or per-key aggregations:
flowsql.planner.scalar_subqueries) in streaming mode (the changelog applied to a final table)
vs DuckDB, uncorrelated and correlated, in WHERE and in the select list, over append-only and
updating outer queries, at parallelism 1 and 2, with NULL keys and values and duplicated rows
(see harness). Empty inputs are drawn too: the subquery's value is then NULL (0 for COUNT)."""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

CASES = {
    # uncorrelated: one row
    "where_avg": "SELECT k, v, s FROM t WHERE p > (SELECT AVG(p) FROM u)",
    "select_max": "SELECT k, v, (SELECT MAX(p) FROM u WHERE g > 2) AS mp FROM t",
    "select_count": "SELECT k, g, (SELECT COUNT(*) FROM u WHERE v > 0) AS n FROM t",
    "arithmetic_or": "SELECT k, v FROM t WHERE v >= (SELECT MIN(v) * 2 FROM u) OR v IS NULL",
    "same_table": "SELECT k, v FROM t WHERE v > (SELECT SUM(v) FROM t) - 100",
    # correlated: decorrelated into a GROUP BY on the correlation keys (Nexmark q7 / q9 shapes)
    "correlated_max": ("SELECT a.k, a.v FROM t AS a WHERE a.v = "
                       "(SELECT MAX(b.v) FROM t AS b WHERE b.k = a.k)"),
    "correlated_two_keys": ("SELECT a.k, a.g, a.v FROM t AS a WHERE a.p > "
                            "(SELECT AVG(b.p) FROM u AS b WHERE b.k = a.k AND b.g + 1 = a.g "
                            "AND b.v > 0)"),
    "correlated_count": ("SELECT a.k, a.v, (SELECT COUNT(*) FROM u AS b WHERE b.k = a.k) AS n "
                         "FROM t AS a"),
    # updating outer query, aggregated outer query
    "updating_outer": ("SELECT k, n FROM (SELECT k, COUNT(*) AS n FROM t GROUP BY k) "
                       "WHERE n >= (SELECT MAX(g) FROM u)"),
    "aggregated_outer": "SELECT k, SUM(v) AS sv FROM t WHERE v < (SELECT MAX(v) FROM u) GROUP BY k",
}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=5)
@given(left=inputs(), right=inputs(small_only=True))
def test_scalar_subquery(name, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(CASES[name])
