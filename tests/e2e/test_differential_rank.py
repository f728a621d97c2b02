"""Differential tests, Top-N and deduplication (``ROW_NUMBER() OVER`` filtered on the row
number) in streaming mode (the changelog applied to a final table) vs DuckDB, on append-only
and updating inputs, at parallelism 1 and 2 (see harness).

ROW_NUMBER is ambiguous among rows tied on every sort key, so every query selects only
columns fixed by the ranking: the partition keys, the sort keys and the row number. Their
multiset is the same whichever tied row each engine picks.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

APPEND = {
    # the row number output: ranks shift as rows arrive (-U/+U)
    "top2_numbered": (
        "SELECT k, v, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC "
        "NULLS LAST) AS rn FROM t) WHERE rn <= 2"
    ),
    # no row number output, two partition keys, NULLs sorted first, rn < N
    "top3_unnumbered": (
        "SELECT k, g, v FROM (SELECT k, g, v, ROW_NUMBER() OVER (PARTITION BY k, g ORDER BY v "
        "ASC NULLS FIRST) AS rn FROM t) WHERE rn < 4"
    ),
    # a rank range and another condition; two sort keys
    "range_and_filter": (
        "SELECT k, v, p, rn FROM (SELECT k, v, p, ROW_NUMBER() OVER (PARTITION BY k ORDER BY "
        "v DESC NULLS LAST, p ASC NULLS FIRST) AS rn FROM t) WHERE rn BETWEEN 2 AND 3 AND v > 0"
    ),
    # expressions as partition and sort keys (visible columns of the subquery)
    "expression_keys": (
        "SELECT uk, vg, rn FROM (SELECT UPPER(k) AS uk, v + g AS vg, ROW_NUMBER() OVER "
        "(PARTITION BY UPPER(k) ORDER BY v + g DESC NULLS LAST) AS rn FROM t) WHERE 2 >= rn"
    ),
    # a NOT NULL partition expression (batches may lack the not-null flag)
    "not_null_partition": (
        "SELECT kl, v, rn FROM (SELECT CHAR_LENGTH(COALESCE(k, '')) AS kl, v, ROW_NUMBER() OVER "
        "(PARTITION BY CHAR_LENGTH(COALESCE(k, '')) ORDER BY v DESC NULLS LAST) AS rn FROM t) "
        "WHERE rn <= 2"
    ),
    # the sort key is not selected by the subquery (a hidden column)
    "hidden_sort_key": (
        "SELECT k, rn FROM (SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC "
        "NULLS LAST) AS rn FROM t) WHERE rn <= 2"
    ),
    # no PARTITION BY: one global top-N
    "global": (
        "SELECT v, rn FROM (SELECT v, ROW_NUMBER() OVER (ORDER BY v DESC NULLS LAST) AS rn "
        "FROM t) WHERE rn <= 5"
    ),
    # the top-N's changelog feeds an aggregation
    "aggregated": (
        "SELECT k, COUNT(*) AS n, SUM(v) AS sv FROM (SELECT k, v, ROW_NUMBER() OVER "
        "(PARTITION BY k ORDER BY v DESC NULLS LAST) AS rn FROM t) WHERE rn <= 3 GROUP BY k"
    ),
    # deduplication on event time: first and last row per key
    "dedup_first": (
        "SELECT k, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts ASC) "
        "AS rn FROM t) WHERE rn = 1"
    ),
    "dedup_last": (
        "SELECT k, g, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k, g ORDER BY ts DESC) "
        "AS rn FROM t) WHERE rn <= 1"
    ),
}

UPDATING = {
    # over an unbounded GROUP BY: rows are retracted and come back with new counts
    "over_group_by": (
        "SELECT k, c, rn FROM (SELECT k, c, ROW_NUMBER() OVER (PARTITION BY k ORDER BY c DESC) "
        "AS rn FROM (SELECT k, g, COUNT(*) AS c FROM t GROUP BY k, g)) WHERE rn <= 2"
    ),
    "over_group_by_unnumbered": (
        "SELECT g, s FROM (SELECT k, g, s, ROW_NUMBER() OVER (PARTITION BY g ORDER BY s ASC "
        "NULLS FIRST) AS rn FROM (SELECT k, g, SUM(v) AS s FROM t GROUP BY k, g)) WHERE rn <= 2"
    ),
}

WINDOWED = {
    # window Top-N over a window TVF: emitted once when the window closes
    "window_top_hop": (
        "SELECT window_start, window_end, v, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        "window_start, window_end ORDER BY v DESC NULLS LAST) AS rn FROM TABLE(HOP(TABLE t, "
        "DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND))) WHERE rn <= 2"
    ),
    "window_top_cumulate_keyed": (
        "SELECT window_start, window_end, g, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        "window_start, window_end, g ORDER BY v ASC NULLS FIRST) AS rn FROM TABLE(CUMULATE("
        "TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND))) WHERE rn <= 2"
    ),
    # window Top-N over a window aggregation
    "window_top_of_aggregate": (
        "SELECT window_start, c, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        "window_start, window_end ORDER BY c DESC) AS rn FROM (SELECT window_start, window_end, "
        "k, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) "
        "GROUP BY window_start, window_end, k)) WHERE rn <= 3"
    ),
    # window deduplication: the last row per key and window
    "window_dedup_last": (
        "SELECT window_start, k, ts FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
        "window_start, window_end, k ORDER BY ts DESC) AS rn FROM TABLE(TUMBLE(TABLE t, "
        "DESCRIPTOR(ts), INTERVAL '5' SECOND))) WHERE rn = 1"
    ),
}

CASES = {**APPEND, **UPDATING, **WINDOWED}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=examples(8))
@given(data=inputs())
def test_top_n(name, data):
    with Differential() as d:
        d.table("t", data)
        d.check(CASES[name])
