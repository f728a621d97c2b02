"""Differential tests, OVER aggregation over an *updating* input (a GROUP BY or a Top-N
upstream; Flink refuses these) in streaming mode — the changelog applied to a final table —
vs DuckDB, at parallelism 1 and 2 (see harness): ROWS ``N PRECEDING`` and ``UNBOUNDED
PRECEDING`` frames, RANGE from UNBOUNDED PRECEDING (the default frame) and bounded RANGE
frames (an integer key with a number, a timestamp with an INTERVAL), SUM / COUNT / AVG / MIN /
MAX, NULL partition and sort keys, identical
rows, ASC / DESC, expressions as keys, no PARTITION BY.

A ROWS frame depends on the order of rows tied on every sort key, which neither engine fixes.
Every ROWS query is therefore tie-free (ordered by a GROUP BY key within the other key) or selects
only what ties cannot change: the partition and sort keys and aggregates of the sort keys
themselves (tied rows carry equal values, so any order of them gives the same rows).
"""

from __future__ import annotations

import dataclasses

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

GROUPED = "(SELECT k, g, COUNT(*) AS c, SUM(v) AS sv, SUM(p) AS sp, MAX(ts) AS mt FROM t GROUP BY k, g)"
TOP3 = ("(SELECT k, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC NULLS LAST) "
        "AS rn FROM t) WHERE rn <= 3)")

CASES = {
    # tie-free: g is unique within k (NULL g first, NULL k a partition of its own)
    "group_by_rows_all_functions": (
        "SELECT k, g, c, SUM(c) OVER w AS s, COUNT(sv) OVER w AS n, AVG(sv) OVER w AS a, "
        "MIN(sv) OVER w AS mn, MAX(sp) OVER w AS mx, AVG(sp) OVER w AS ap, MIN(mt) OVER w AS first_mt "
        f"FROM {GROUPED} WINDOW w AS (PARTITION BY k ORDER BY g ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)"
    ),
    "group_by_unbounded_desc": (
        "SELECT k, g, SUM(sv) OVER w AS s, COUNT(*) OVER w AS n, MAX(c) OVER w AS mx, "
        "MIN(sp) OVER w AS mn "
        f"FROM {GROUPED} WINDOW w AS (PARTITION BY k ORDER BY g DESC NULLS LAST ROWS BETWEEN "
        "UNBOUNDED PRECEDING AND CURRENT ROW)"
    ),
    # ordered by an aggregate (ties among groups): only the sort key and aggregates of it
    "ordered_by_count": (
        "SELECT g, c, SUM(c) OVER (PARTITION BY g ORDER BY c DESC ROWS BETWEEN 2 PRECEDING AND "
        "CURRENT ROW) AS s, COUNT(*) OVER (PARTITION BY g ORDER BY c DESC ROWS BETWEEN 2 PRECEDING "
        f"AND CURRENT ROW) AS n FROM {GROUPED}"
    ),
    # identical rows (g projected away), no PARTITION BY
    "identical_rows_global": (
        "SELECT c, COUNT(*) OVER (ORDER BY c ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS n, "
        "MIN(c) OVER (ORDER BY c ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS mn "
        "FROM (SELECT k, c FROM (SELECT k, g, COUNT(*) AS c FROM t GROUP BY k, g))"
    ),
    # over a Top-N (rows leave and enter the top 3), NULL sort keys last
    "over_top_n": (
        "SELECT k, v, SUM(v) OVER (PARTITION BY k ORDER BY v DESC NULLS LAST ROWS BETWEEN 1 "
        "PRECEDING AND CURRENT ROW) AS s, AVG(v) OVER (PARTITION BY k ORDER BY v DESC NULLS LAST "
        f"ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS a FROM {TOP3}"
    ),
    # no frame: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW — peers (rows tied on the
    # sort keys) share a result, so ties do not matter and any column can be selected
    "range_default_frame_ties": (
        "SELECT k, g, c, sv, SUM(sv) OVER (PARTITION BY g ORDER BY c) AS s, COUNT(*) OVER "
        "(PARTITION BY g ORDER BY c) AS n, MAX(sp) OVER (PARTITION BY g ORDER BY c) AS mx, "
        f"AVG(sv) OVER (PARTITION BY g ORDER BY c) AS a FROM {GROUPED}"
    ),
    "range_unbounded_over_top_n": (
        f"SELECT k, v, MIN(v) OVER w AS mn, COUNT(v) OVER w AS n FROM {TOP3} "
        "WINDOW w AS (ORDER BY v DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    ),
    # bounded RANGE: rows whose key is within N of the row's (peers included; NULL keys: the
    # NULL rows), also deterministic under ties
    "range_bounded_integer": (
        "SELECT k, g, c, SUM(sv) OVER (PARTITION BY g ORDER BY c RANGE BETWEEN 2 PRECEDING AND "
        "CURRENT ROW) AS s, COUNT(*) OVER (PARTITION BY g ORDER BY c RANGE BETWEEN 2 PRECEDING AND "
        f"CURRENT ROW) AS n FROM {GROUPED}"
    ),
    "range_bounded_desc_nulls": (
        "SELECT k, v, MAX(v) OVER w AS mx, COUNT(*) OVER w AS n, AVG(v) OVER w AS a FROM "
        f"{TOP3} WINDOW w AS (PARTITION BY k ORDER BY v DESC NULLS FIRST RANGE BETWEEN 10 "
        "PRECEDING AND CURRENT ROW)"
    ),
    "range_bounded_timestamp": (
        "SELECT k, g, mt, SUM(c) OVER (PARTITION BY k ORDER BY mt RANGE BETWEEN INTERVAL '2' "
        "SECOND PRECEDING AND CURRENT ROW) AS s, MIN(mt) OVER (PARTITION BY k ORDER BY mt RANGE "
        f"BETWEEN INTERVAL '2' SECOND PRECEDING AND CURRENT ROW) AS first_mt FROM {GROUPED}"
    ),
    # expressions as partition and sort keys, an expression around the call
    "expression_keys": (
        "SELECT UPPER(k) AS uk, g, sv, sv - MAX(sv) OVER (PARTITION BY UPPER(k) ORDER BY "
        "COALESCE(g, -1) * -1, g ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS d "
        f"FROM {GROUPED} WHERE k IS NOT NULL"
    ),
}


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=examples(5))
@given(data=inputs())
def test_over_updating(name, parallelism, data):
    with Differential() as d:
        d.table("t", dataclasses.replace(data, parallelism=parallelism))
        d.check(CASES[name])
