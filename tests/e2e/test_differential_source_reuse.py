"""Differential tests, source reuse: queries that read one table twice (self-joins, a table
joined with its own windowed aggregate as in Nexmark q7, a UNION ALL of two filtered scans)
run with ONE shared source whose output fans out to both consumers; streaming equals DuckDB
at parallelism 1 and 2 (forced, not drawn), and EXPLAIN shows a single source operator.
"""

from __future__ import annotations

import dataclasses

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given

CASES = {
    # append-only self-join on a key, with a residual over both sides
    "self_join": "SELECT a.k, a.v, b.g AS bg FROM t AS a JOIN t AS b ON a.k = b.k AND a.v < b.v",
    # Nexmark q7's shape: rows joined with the maximum of their own tumbling window
    "q7_shape": (
        "SELECT B.k, B.v, B.ts FROM t B JOIN ("
        "  SELECT MAX(v) AS maxv, window_end AS wend"
        "  FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))"
        "  GROUP BY window_start, window_end) B1 "
        "ON B.v = B1.maxv WHERE B.ts BETWEEN B1.wend - INTERVAL '10' SECOND AND B1.wend"
    ),
    # an updating side (GROUP BY) joined with the same table's rows, outer
    "left_join_own_aggregate": (
        "SELECT a.k, a.v, b.c FROM t AS a LEFT JOIN "
        "(SELECT k, COUNT(*) AS c FROM t WHERE g > 0 GROUP BY k) AS b ON a.k = b.k"
    ),
    # two differently filtered and projected scans of one table, unioned
    "union_two_scans": "SELECT k, v FROM t WHERE g > 0 UNION ALL SELECT s AS k, v2 AS v FROM t WHERE v < 0",
}


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
@DIFF_SETTINGS
@given(data=inputs(small_only=True))
def test_two_scans_share_one_source(name, parallelism, data):
    with Differential() as d:
        d.table("t", dataclasses.replace(data, parallelism=parallelism))
        d.mode("streaming")
        explain = d.execute("EXPLAIN " + CASES[name]).message
        assert explain.count("kind=source ") == 1, explain
        d.check(CASES[name])
