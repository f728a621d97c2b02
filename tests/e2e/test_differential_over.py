"""Differential tests, OVER aggregation on event time (ROWS / RANGE frames ending at the
current row, bounded and UNBOUNDED PRECEDING) in streaming mode vs DuckDB, at parallelism 1
and 2 (see harness).

A ROWS frame depends on the order of rows with equal time (peers), which neither engine
fixes; ROWS cases therefore use COUNT(*) (a function of the row's position only), whose
multiset of (partition, time, count) is the same whatever order the peers take. RANGE frames
include all peers, so every function is deterministic there.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

CASES = {
    "rows_bounded_count": (
        "SELECT k, ts, COUNT(*) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 2 PRECEDING AND "
        "CURRENT ROW) AS c FROM t"
    ),
    "rows_unbounded_count": (
        "SELECT k, g, ts, COUNT(*) OVER (PARTITION BY k, g ORDER BY ts ROWS BETWEEN UNBOUNDED "
        "PRECEDING AND CURRENT ROW) AS c FROM t WHERE v > 0"
    ),
    "range_interval": (
        "SELECT k, v, ts, SUM(v) OVER w AS s FROM t "
        "WINDOW w AS (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING "
        "AND CURRENT ROW)"
    ),
    "range_interval_all_functions": (
        "SELECT k, v, p, ts, SUM(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' "
        "SECOND PRECEDING AND CURRENT ROW) AS s, COUNT(v) OVER (PARTITION BY k ORDER BY ts RANGE "
        "BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW) AS cv, AVG(p) OVER (PARTITION BY "
        "k ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW) AS ap, "
        "MIN(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND "
        "CURRENT ROW) AS mn, MAX(p) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' "
        "SECOND PRECEDING AND CURRENT ROW) AS mx FROM t"
    ),
    # no frame: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW; MIN/MAX of a timestamp
    "range_unbounded_default": (
        "SELECT k, g, v, ts, SUM(v) OVER (PARTITION BY k, g ORDER BY ts) AS s, MIN(ts) OVER "
        "(PARTITION BY k, g ORDER BY ts) AS first_ts, MAX(v) OVER (PARTITION BY k, g ORDER BY ts) "
        "AS mx FROM t"
    ),
    # no PARTITION BY; a named window, expressions as arguments and around the call
    "global_named_expressions": (
        "SELECT v, ts, v - AVG(v) OVER w AS d, SUM(v * 2) OVER w AS s2, COUNT(*) OVER w AS c "
        "FROM t WINDOW w AS (ORDER BY ts RANGE BETWEEN INTERVAL '1' SECOND PRECEDING AND "
        "CURRENT ROW)"
    ),
    # a NOT NULL expression as the partition key (batches may lack the not-null flag)
    "not_null_partition": (
        "SELECT g, ts, COUNT(*) OVER (PARTITION BY COALESCE(g, -1) ORDER BY ts RANGE BETWEEN "
        "INTERVAL '2' SECOND PRECEDING AND CURRENT ROW) AS c FROM t"
    ),
    # an expression as the partition key
    "expression_partition": (
        "SELECT UPPER(k) AS uk, ts, MAX(v) OVER (PARTITION BY UPPER(k) ORDER BY ts RANGE BETWEEN "
        "INTERVAL '2' SECOND PRECEDING AND CURRENT ROW) AS mx FROM t"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=examples(8))
@given(data=inputs())
def test_over(name, data):
    with Differential() as d:
        d.table("t", data)
        d.check(CASES[name])
