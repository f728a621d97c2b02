"""Differential tests, window joins and window table functions: two window TVFs with the
same TUMBLE / HOP / CUMULATE windows joined on window_start, window_end and keys (INNER /
LEFT / RIGHT / FULL OUTER, emitted when the watermark closes the window), and a window TVF
without aggregation, in streaming mode vs DuckDB, at parallelism 1 and 2 (see harness).
Inputs are out of order within the watermark bound, with NULL keys and duplicated rows.
"""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given, settings

from tests.examples import examples

SIDES = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL OUTER JOIN"}
WINDOWS = {
    "tumble": "TUMBLE(TABLE {t}, DESCRIPTOR(ts), INTERVAL '2' SECOND)",
    "hop": "HOP(TABLE {t}, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)",
    "cumulate": "CUMULATE(TABLE {t}, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND)",
}

CASES = {
    # Flink's documented shape: subqueries over the TVFs, COALESCE of the window columns
    "keys": (
        "SELECT L.k, L.v, R.v AS rv, COALESCE(L.window_start, R.window_start) AS window_start, "
        "COALESCE(L.window_end, R.window_end) AS window_end "
        "FROM (SELECT * FROM TABLE({lw})) L {join} (SELECT * FROM TABLE({rw})) R "
        "ON L.k = R.k AND L.window_start = R.window_start AND L.window_end = R.window_end"
    ),
    # projected and filtered inputs, two keys (one compared in the common type), a residual
    "residual": (
        "SELECT L.g, L.s, R.s AS rs, L.window_end, R.window_end AS rwe "
        "FROM (SELECT g, s, p, window_start, window_end FROM TABLE({lw}) WHERE v IS NOT NULL) L "
        "{join} (SELECT k, g, s, p, window_start, window_end FROM TABLE({rw})) R "
        "ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.g = R.g "
        "AND L.p < R.p"
    ),
}

NO_KEY = ("SELECT L.k, R.k AS rk, L.window_start FROM (SELECT * FROM TABLE({lw})) L {join} "
          "(SELECT * FROM TABLE({rw})) R ON L.window_start = R.window_start "
          "AND L.window_end = R.window_end")


def _sql(template: str, window: str, side: str) -> str:
    w = WINDOWS[window]
    return template.format(lw=w.format(t="t"), rw=w.format(t="u"), join=SIDES[side])


@pytest.mark.parametrize("window", sorted(WINDOWS))
@pytest.mark.parametrize("side", sorted(SIDES))
@pytest.mark.parametrize("name", sorted(CASES))
@settings(DIFF_SETTINGS, max_examples=examples(4))
@given(left=inputs(), right=inputs(small_only=True))
def test_window_join(name, side, window, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(_sql(CASES[name], window, side))
        assert d.late_rows_dropped() == 0


@pytest.mark.parametrize("side", sorted(SIDES))
@settings(DIFF_SETTINGS, max_examples=examples(4))
@given(left=inputs(small_only=True), right=inputs(small_only=True))
def test_window_join_without_keys(side, left, right):
    with Differential() as d:
        d.table("t", left)
        d.table("u", right)
        d.check(_sql(NO_KEY, "tumble", side))


@pytest.mark.parametrize("window", sorted(WINDOWS))
@settings(DIFF_SETTINGS, max_examples=examples(5))
@given(data=inputs())
def test_window_tvf_without_aggregation(window, data):
    with Differential() as d:
        d.table("t", data)
        d.check(f"SELECT k, v, ts, window_start, window_end, window_time "
                f"FROM TABLE({WINDOWS[window].format(t='t')}) WHERE v > 0 OR k IS NULL")
