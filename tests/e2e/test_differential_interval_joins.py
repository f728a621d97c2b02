"""Differential tests, interval joins: INNER / LEFT / RIGHT / FULL OUTER joins bounded by
event time, in streaming mode (append-only output, outer rows emitted when the watermark
passes their bound) vs DuckDB, at parallelism 1 and 2 (see harness). Inputs are out of order
within the watermark bound, with NULL keys and duplicated rows.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

SIDES = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL OUTER JOIN"}

CASES = {
    # BETWEEN, both bounds around the other side's time
    "between": (
        "SELECT a.k, a.v, a.ts, b.v AS bv, b.ts AS bts FROM t AS a {join} u AS b "
        "ON a.k = b.k AND a.ts BETWEEN b.ts - INTERVAL '2' SECOND AND b.ts + INTERVAL '1' SECOND"
    ),
    # strict and non-strict comparisons written either way round, plus a residual
    "comparisons": (
        "SELECT a.g, a.s, b.s AS bs, b.ts AS bts FROM t AS a {join} u AS b "
        "ON a.g = b.g AND a.ts > b.ts - INTERVAL '3' SECOND "
        "AND b.ts + INTERVAL '1' SECOND >= a.ts AND a.p < b.p"
    ),
    # a window entirely after the left row's time (both bounds positive), SELECT *
    "after": (
        "SELECT * FROM t AS a {join} u AS b "
        "ON a.k = b.k AND b.ts BETWEEN a.ts + INTERVAL '0.5' SECOND AND a.ts + INTERVAL '4' SECOND"
    ),
    # projected inputs: many identical rows on both sides
    "identical_rows": (
        "SELECT a.k, b.k AS bk FROM (SELECT k, ts FROM t) AS a {join} (SELECT k, ts FROM u) AS b "
        "ON a.k = b.k AND a.ts >= b.ts AND a.ts < b.ts + INTERVAL '2' SECOND"
    ),
}

# no equality: one subtask, every row a candidate
NO_KEY = ("SELECT a.k, a.v, b.k AS bk, b.v AS bv FROM t AS a {join} u AS b "
          "ON a.ts BETWEEN b.ts - INTERVAL '300' MILLISECOND AND b.ts")


@pytest.mark.parametrize("side", sorted(SIDES))
@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=examples(6))
@given(left=inputs(), right=inputs(small_only=True))
def test_interval_join(name, side, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(CASES[name].format(join=SIDES[side]))


@pytest.mark.parametrize("side", sorted(SIDES))
@settings(DIFF_SETTINGS, max_examples=examples(5))
@given(left=inputs(small_only=True), right=inputs(small_only=True))
def test_interval_join_without_equality(side, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(NO_KEY.format(join=SIDES[side]))


@DIFF_SETTINGS
@given(left=inputs(), right=inputs(small_only=True))
def test_window_aggregation_over_an_interval_join(left, right):
    """The join's time columns stay time attributes and its watermark is held back by the
    bound: a window over its output drops no row as late."""
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.execute("CREATE TEMPORARY VIEW j AS SELECT a.k, a.v, b.ts AS bts FROM t AS a JOIN u AS b "
                  "ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL '1' SECOND AND a.ts + INTERVAL '3' SECOND")
        d.check("SELECT k, window_start, window_end, COUNT(*) AS n, SUM(v) AS sv "
                "FROM TABLE(TUMBLE(TABLE j, DESCRIPTOR(bts), INTERVAL '2' SECOND)) "
                "GROUP BY k, window_start, window_end")
        assert d.late_rows_dropped() == 0


@DIFF_SETTINGS
@given(left=inputs(), right=inputs(small_only=True))
def test_interval_join_written_as_a_comma_join(left, right):
    """Flink's own example form: FROM a, b WHERE <equality> AND <time bounds>."""
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check("SELECT a.k, a.v, b.v AS bv FROM t AS a, u AS b WHERE a.k = b.k AND a.v > 0 "
                "AND a.ts BETWEEN b.ts - INTERVAL '1' SECOND AND b.ts")
