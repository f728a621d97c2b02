"""Differential tests, regular joins: INNER / LEFT / RIGHT / FULL OUTER in streaming mode
(the changelog applied to a final table) vs DuckDB, on append-only and on updating inputs
(a GROUP BY on either side), at parallelism 1 and 2 (see harness).

The right input is a small one (≤ 65 rows): the left may have 2,000 rows on one key, and a
join's output grows with the product of the two sides' rows per key.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

SIDES = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL OUTER JOIN"}

APPEND = {
    # NULL keys never match; duplicated rows multiply
    "one_key": "SELECT a.k, a.v, a.r, b.k AS bk, b.s AS bs FROM t AS a {join} u AS b ON a.k = b.k",
    # two keys, one of them compared in the common type (INT = BIGINT), plus a residual
    "two_keys_residual": (
        "SELECT a.k, a.g, a.v, b.v AS bv, b.ts AS bts FROM t AS a {join} u AS b "
        "ON a.k = b.k AND a.g = b.v AND a.p < b.p"
    ),
    # every column: the right's 'k' is named 'k0' in both engines (Flink's naming)
    "select_star": "SELECT * FROM t AS a {join} u AS b ON a.k = b.k AND a.g = b.g",
    # projected inputs: many identical rows on both sides (state multiplicities > 1)
    "identical_rows": (
        "SELECT a.k, a.g, b.bk FROM (SELECT k, g FROM t) AS a {join} (SELECT k AS bk FROM u) AS b "
        "ON a.k = b.bk"
    ),
    # an expression as the key (a helper column), unqualified names of one side only
    "expression_key": (
        "SELECT a.k, g, b.s AS bs FROM t AS a {join} (SELECT s, k AS bk FROM u) AS b "
        "ON CONCAT(a.k, '!') = CONCAT(b.bk, '!')"
    ),
}

UPDATING = {
    # both sides are unbounded GROUP BYs: their -U/+U go through the join
    "aggregates_joined": (
        "SELECT a.k, a.c, a.sv, b.n AS bn FROM "
        "(SELECT k, COUNT(*) AS c, SUM(v) AS sv FROM t GROUP BY k) AS a {join} "
        "(SELECT k, COUNT(*) AS n FROM u WHERE v > 0 GROUP BY k) AS b ON a.k = b.k"
    ),
    # an updating side joined with an append-only one
    "aggregate_with_rows": (
        "SELECT a.k, a.v, b.c AS bc FROM t AS a {join} "
        "(SELECT k, COUNT(*) AS c FROM u GROUP BY k HAVING COUNT(*) > 1) AS b ON a.k = b.k"
    ),
    # the join's changelog feeds an aggregation
    "join_then_aggregate": (
        "SELECT a.k, COUNT(*) AS c, SUM(b.v) AS sv, COUNT(b.k) AS matched FROM t AS a {join} "
        "u AS b ON a.k = b.k GROUP BY a.k"
    ),
}


CASES = {**APPEND, **UPDATING}


@pytest.mark.parametrize("side", sorted(SIDES))
@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=examples(6))  # 28 combinations: keep the suite's time modest
@given(left=inputs(), right=inputs(small_only=True))
def test_join(name, side, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(CASES[name].format(join=SIDES[side]))


@DIFF_SETTINGS
@given(left=inputs(small_only=True), mid=inputs(small_only=True), right=inputs(small_only=True))
def test_three_way_join(left, mid, right):
    with Differential() as d:
        d.table("t", left)
        d.table("m", mid)
        d.table("u", right)
        d.check("SELECT a.k, a.v, b.g AS bg, c.s AS cs FROM t AS a LEFT JOIN m AS b ON a.k = b.k "
                "JOIN u AS c ON b.g = c.g AND a.k = c.k")
