"""Differential tests, sub-plan reuse: queries that use one aggregate subquery twice (a
self-join of a GROUP BY, Nexmark q5's shape with its HOP count computed twice, a UNION ALL of
the subquery with itself) run the aggregate ONCE, its output fanned out to both consumers
(here even twice into the same join or union); streaming equals DuckDB at parallelism 1 and 2
(forced, not drawn), and EXPLAIN shows a single aggregate operator.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given

GROUP = "SELECT k, COUNT(*) AS c, SUM(v) AS sv FROM t GROUP BY k"
HOP = ("SELECT k, COUNT(*) AS num, window_start AS starttime, window_end AS endtime "
       "FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) "
       "GROUP BY k, window_start, window_end")
CASES = {
    # an updating aggregate joined with itself: both join inputs read the same operator
    "self_join_group_by": (
        f"SELECT a.k, a.c, b.sv FROM ({GROUP}) a JOIN ({GROUP}) b ON a.k = b.k AND a.c = b.c "
        "AND a.sv = b.sv",
        "kind=group-aggregate ",
    ),
    # Nexmark q5: bids per key and HOP window, joined with the per-window maximum of the same
    "q5_shape": (
        f"SELECT A.k, A.num, A.starttime FROM ({HOP}) A JOIN ("
        f"  SELECT MAX(C.num) AS maxn, C.starttime, C.endtime FROM ({HOP}) C"
        "   GROUP BY C.starttime, C.endtime) M "
        "ON A.starttime = M.starttime AND A.endtime = M.endtime AND A.num >= M.maxn",
        "HopWindowAggregate kind=window-aggregate ",
    ),
    # the same updating subquery twice in a UNION ALL, one use filtered after the aggregate
    "union_all_same_subquery": (
        f"SELECT k, c FROM ({GROUP}) WHERE c > 1 UNION ALL SELECT k, c FROM ({GROUP})",
        "kind=group-aggregate ",
    ),
}


@pytest.mark.parametrize("parallelism", [1, 2])
@pytest.mark.parametrize("name", sorted(CASES))
@DIFF_SETTINGS
@given(data=inputs(small_only=True))
def test_subquery_used_twice_runs_once(name, parallelism, data):
    query, aggregate = CASES[name]
    with Differential() as d:
        d.table("t", dataclasses.replace(data, parallelism=parallelism))
        d.mode("streaming")
        explain = d.execute("EXPLAIN " + query).message
        assert explain.count(aggregate) == 1, explain
        d.check(query)


def test_nexmark_q5_plans_one_hop_count():
    """The public suite's q5 (as Flink runs it, on the ``nexmark`` connector): its HOP count,
    written twice, is one operator read by the join and by the per-window maximum."""
    from nexmark_tables import public_suite

    ddl, queries = public_suite()
    q5 = re.sub(r"^\s*INSERT INTO \w+\s*", "", queries["q5"])  # as test_nexmark_shapes
    with Differential() as d:
        for statement in ddl.split(";"):
            if statement.strip():
                d.execute(statement)
        explain = d.execute("EXPLAIN " + q5).message
    assert explain.count("HopWindowAggregate kind=window-aggregate ") == 1, explain
    assert explain.count("kind=window-aggregate ") == 2, explain  # and the maximum's
