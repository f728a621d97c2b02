"""Differential tests, IN / EXISTS subqueries (semi and anti joins), scalar subqueries
(flowsql.planner.scalar_subqueries: uncorrelated and correlated, in WHERE and the select list)
and WITH, in streaming mode (the changelog applied to a final table) vs DuckDB, on
append-only and on updating inputs (a GROUP BY on either side), at parallelism 1 and 2 (see harness). NOT IN keeps SQL's
NULL semantics: NULL keys and NULL subquery values are drawn often.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

CASES = {
    "in": "SELECT k, v, s FROM t WHERE k IN (SELECT k FROM u)",
    "not_in": "SELECT k, v, s FROM t WHERE k NOT IN (SELECT k FROM u WHERE v > 0)",
    "not_in_expression": "SELECT g, v FROM t WHERE g + 1 NOT IN (SELECT g FROM u) AND v IS NOT NULL",
    "exists": ("SELECT a.k, a.g, a.v FROM t AS a WHERE EXISTS "
               "(SELECT 1 FROM u AS b WHERE b.k = a.k AND b.g = a.g AND b.v > 0)"),
    "not_exists": ("SELECT a.k, a.v FROM t AS a WHERE NOT EXISTS "
                   "(SELECT 1 FROM u WHERE k = a.k AND p < a.p)"),
    "uncorrelated_exists": "SELECT k, v FROM t WHERE v > 0 AND EXISTS (SELECT 1 FROM u WHERE g > 3)",
    # updating inputs: the subquery an aggregate, and the outer query aggregated
    "in_aggregate": ("SELECT k, v FROM t WHERE v IN "
                     "(SELECT COUNT(*) FROM u GROUP BY k HAVING COUNT(*) > 1)"),
    "not_in_updating_outer": ("SELECT k, n FROM (SELECT k, COUNT(*) AS n FROM t GROUP BY k) "
                              "WHERE k NOT IN (SELECT k FROM u WHERE g > 2)"),
    "anti_then_aggregate": ("SELECT g, COUNT(*) AS c, SUM(v) AS sv FROM t AS a WHERE NOT EXISTS "
                            "(SELECT * FROM u AS b WHERE b.g = a.g AND b.s = a.s) GROUP BY g"),
    # WITH: a CTE read twice, one CTE over another
    "with": ("WITH x AS (SELECT k, g, v FROM t WHERE v IS NOT NULL), "
             "y AS (SELECT k, COUNT(*) AS n FROM x GROUP BY k) "
             "SELECT x.k, x.v, y.n FROM x JOIN y ON x.k = y.k WHERE x.g IN (SELECT g FROM x)"),
    # scalar subqueries (LEFT joins with one-row or per-key aggregations), WHERE and SELECT;
    # uncorrelated: one row; over an empty input NULL (0 for COUNT)
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
@settings(DIFF_SETTINGS, max_examples=examples(6))
@given(left=inputs(), right=inputs(small_only=True))
def test_subquery(name, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(CASES[name])
