"""Differential tests, cascaded window aggregation (flowsql.planner.cascaded_windows): a
GROUP BY over a window aggregate's output by its window columns under other names runs as a
window aggregate on the same windows; the Nexmark q5 shape (such an aggregate window-joined
with the first one on both window columns and ``num >= maxn``); and GROUP BYs that must stay
ordinary ones. Streaming vs DuckDB at parallelism 1 and 2, inputs out of order within the
watermark bound, NULL keys, duplicated rows (see harness); no row may be late.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

WINDOWS = {
    "tumble": "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND)",
    "hop": "HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)",
    "cumulate": "CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)",
}
# per (k, window): renamed window columns, as in Nexmark q5
COUNTS = ("SELECT k, g, COUNT(*) AS c, SUM(v) AS sv, window_start AS ws, window_end AS we "
          "FROM TABLE({w}) GROUP BY k, g, window_start, window_end")

CASCADED = {
    # per window: NULL keys counted as groups, aggregates of aggregates
    "per_window": ("SELECT we, ws, COUNT(*) AS groups, COUNT(k) AS keyed, SUM(c) AS total, "
                   "MAX(c) AS top, MIN(sv) AS low FROM ({counts}) GROUP BY ws, we"),
    # another key, a filter on the first aggregate's output, HAVING
    "key_filter_having": ("SELECT g, ws, we, SUM(c) AS total, COUNT(DISTINCT k) AS keys "
                          "FROM ({counts}) WHERE c > 1 OR k IS NULL GROUP BY g, we, ws "
                          "HAVING SUM(c) > 1"),
}

Q5 = ("SELECT A.k, A.g, A.c, A.ws FROM ({counts}) AS A JOIN ("
      "SELECT MAX(C.c) AS maxn, C.ws, C.we FROM ({counts}) AS C GROUP BY C.ws, C.we) AS B "
      "ON A.ws = B.ws AND A.we = B.we AND A.c >= B.maxn")
# with a key: the hot groups per (g, window)
Q5_KEYED = ("SELECT A.k, A.g, A.c, A.we FROM ({counts}) AS A JOIN ("
            "SELECT g, MAX(c) AS maxn, ws, we FROM ({counts}) GROUP BY g, ws, we) AS B "
            "ON A.g = B.g AND A.ws = B.ws AND A.we = B.we AND A.c >= B.maxn")

NOT_CASCADED = {
    # only the window start: one group per start, updated as windows fire
    "start_only": "SELECT ws, SUM(c) AS total, MAX(c) AS top FROM ({counts}) GROUP BY ws",
    # an expression of the window end is no window column
    "end_expression": ("SELECT ws, we2, SUM(c) AS total FROM (SELECT ws, we + INTERVAL '1' "
                       "SECOND AS we2, c FROM ({counts})) GROUP BY ws, we2"),
}


def _plan(d: Differential, sql: str) -> str:
    return d.execute("EXPLAIN " + sql).message.split("== Physical Plan ==")[0]


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("name", sorted(CASCADED))
@settings(DIFF_SETTINGS, max_examples=examples(5))
@given(data=inputs())
def test_cascaded_window_aggregate(name, window, data):
    sql = CASCADED[name].format(counts=COUNTS.format(w=WINDOWS[window]))
    with Differential() as d:
        d.table("t", data)
        assert "cascaded=" in _plan(d, sql)
        d.check(sql)
        assert d.late_rows_dropped() == 0


@pytest.mark.parametrize("window", ["hop", "tumble"])
@pytest.mark.parametrize("template", [Q5, Q5_KEYED], ids=["q5", "q5_keyed"])
@settings(DIFF_SETTINGS, max_examples=examples(5))
@given(data=inputs())
def test_q5_shape_window_join(template, window, data):
    sql = template.format(counts=COUNTS.format(w=WINDOWS[window]))
    with Differential() as d:
        d.table("t", data)
        plan = _plan(d, sql)
        assert "WindowJoin(" in plan and "cascaded=" in plan and "GroupAggregate" not in plan
        d.check(sql)
        assert d.late_rows_dropped() == 0


@pytest.mark.parametrize("name", sorted(NOT_CASCADED))
@settings(DIFF_SETTINGS, max_examples=examples(5))
@given(data=inputs())
def test_not_cascaded(name, data):
    sql = NOT_CASCADED[name].format(counts=COUNTS.format(w=WINDOWS["hop"]))
    with Differential() as d:
        d.table("t", data)
        plan = _plan(d, sql)
        assert "cascaded=" not in plan and "GroupAggregate" in plan
        d.check(sql)
