"""Differential tests, windows: TUMBLE / HOP / CUMULATE / SESSION table functions (with and
without PARTITION BY), legacy GROUP BY TUMBLE / HOP / SESSION, window aggregates (COUNT,
COUNT(DISTINCT), SUM, MIN, MAX, AVG, FILTER), windows over views and over UNION ALL —
streaming (final watermark fires every window at end of input) vs batch (see harness)."""

from __future__ import annotations

import pytest
from harness import DIFF_SETTINGS, Differential, inputs
from hypothesis import given

from flowsql.operators import slice_state

AGGS = (
    "COUNT(*) AS c, COUNT(v) AS cv, SUM(v) AS sv, MIN(v) AS mn, MAX(p) AS mx, AVG(p) AS ap, "
    "COUNT(DISTINCT g) AS dg, MIN(s) AS ms, COUNT(*) FILTER (WHERE v > 10) AS big, "
    "SUM(v2) FILTER (WHERE g = 1) AS s1"
)
# SESSION windows do not support DISTINCT aggregates yet (NotSupportedError at job start)
SESSION_AGGS = AGGS.replace("COUNT(DISTINCT g) AS dg, ", "")


def tvf(call: str, keys: str = "k, ", extra: str = "", aggs: str = AGGS) -> str:
    return (f"SELECT {keys}window_start, window_end{extra}, {aggs} FROM TABLE({call}) "
            f"GROUP BY {keys}window_start, window_end{extra}")


WINDOWS = {
    "tumble_keyed": tvf("TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)"),
    "tumble_global_window_time": tvf(
        "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '3' SECOND)", keys="", extra=", window_time"),
    "tumble_nested_key": tvf(
        "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND)", keys="r.b AS rb, ", extra=""
    ).replace("GROUP BY r.b AS rb, ", "GROUP BY r.b, "),
    "hop": tvf("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)",
               keys="g, "),
    "hop_global": tvf("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
                      keys=""),
    "cumulate": tvf(
        "CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '10' SECOND)"),
    "session": tvf("SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '3' SECOND)", keys="",
                   aggs=SESSION_AGGS),
    "session_partitioned": tvf(
        "SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND)",
        aggs=SESSION_AGGS),
    "legacy_tumble": (
        "SELECT k, TUMBLE_START(ts, INTERVAL '10' SECOND) AS ws, "
        f"TUMBLE_END(ts, INTERVAL '10' SECOND) AS we, {AGGS} FROM t "
        "GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND)"
    ),
    "legacy_hop": (
        "SELECT g, HOP_START(ts, INTERVAL '2' SECOND, INTERVAL '6' SECOND) AS ws, "
        f"HOP_END(ts, INTERVAL '2' SECOND, INTERVAL '6' SECOND) AS we, {AGGS} FROM t "
        "GROUP BY g, HOP(ts, INTERVAL '2' SECOND, INTERVAL '6' SECOND)"
    ),
    "legacy_session": (
        "SELECT k, SESSION_START(ts, INTERVAL '2' SECOND) AS ws, "
        f"SESSION_END(ts, INTERVAL '2' SECOND) AS we, {SESSION_AGGS} FROM t "
        "GROUP BY k, SESSION(ts, INTERVAL '2' SECOND)"
    ),
    "tumble_then_filter": (
        "SELECT * FROM (" + tvf("TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)")
        + ") WHERE c > 1"
    ),
}


@pytest.mark.parametrize("name", sorted(WINDOWS))
@DIFF_SETTINGS
@given(data=inputs())
def test_window_aggregate(name, data):
    with Differential() as d:
        d.table("t", data)
        d.check(WINDOWS[name])


# all-numeric aggregates: HOP / CUMULATE windows merge their slices in numpy
# (slice_state.merge_windows), on a dense (window, key id) grid or by sorting the cells
NUMERIC_AGGS = "COUNT(*) AS c, COUNT(v) AS cv, SUM(v) AS sv, MIN(v) AS mn, MAX(p) AS mx, AVG(p) AS ap"
NUMERIC = {
    "hop": tvf("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)",
               aggs=NUMERIC_AGGS),
    "cumulate": tvf("CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '8' SECOND)",
                    keys="g, ", aggs=NUMERIC_AGGS),
}


@pytest.mark.parametrize("merge", ["grid", "sort"])
@pytest.mark.parametrize("name", sorted(NUMERIC))
@DIFF_SETTINGS
@given(data=inputs())
def test_numeric_slice_merge(name, merge, data):
    with pytest.MonkeyPatch.context() as mp:
        if merge == "sort":  # never dense enough for the grid
            mp.setattr(slice_state, "_DENSE_SLACK", -(1 << 62))
        with Differential() as d:
            d.table("t", data)
            d.check(NUMERIC[name])


@DIFF_SETTINGS
@given(data=inputs())
def test_window_over_view(data):
    with Differential() as d:
        d.table("t", data)
        d.execute("CREATE VIEW vt AS SELECT k, r.a AS ra, v2, ts FROM t WHERE v IS NOT NULL")
        d.check("SELECT ra, window_start, window_end, COUNT(*) AS c, SUM(v2) AS s "
                "FROM TABLE(TUMBLE(TABLE vt, DESCRIPTOR(ts), INTERVAL '4' SECOND)) "
                "GROUP BY ra, window_start, window_end")


@DIFF_SETTINGS
@given(data=inputs(), other=inputs())
def test_window_over_union_all(data, other):
    with Differential() as d:
        d.table("t", data)
        d.table("t2", other)
        d.execute("CREATE VIEW u AS SELECT k, v, ts FROM t UNION ALL "
                  "SELECT k, v + 1000 AS v, ts FROM t2 WHERE g <> 2")
        d.check("SELECT k, window_start, window_end, COUNT(*) AS c, MAX(v) AS m "
                "FROM TABLE(HOP(TABLE u, DESCRIPTOR(ts), INTERVAL '3' SECOND, "
                "INTERVAL '9' SECOND)) GROUP BY k, window_start, window_end")


@DIFF_SETTINGS
@given(data=inputs(small_only=True))
def test_legacy_tumble_rowtime(data):
    with Differential() as d:
        d.table("t", data)
        d.check("SELECT k, TUMBLE_ROWTIME(ts, INTERVAL '10' SECOND) AS rt, COUNT(*) AS c "
                "FROM t GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND)")
