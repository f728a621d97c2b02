"""The window join operator on its own: random windowed streams (out of order within the
watermark bound, NULL keys, duplicates) vs a DuckDB oracle for every join type, with a
snapshot/restore into a fresh operator half-way; windows are emitted only once closed; late
rows are dropped and counted. Also the window table function's window assignment."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.specs import WindowSpec
from flowsql.operators.window_join import WindowJoinOperator, WindowJoinSpec
from flowsql.operators.window_table import assign_windows
from tests.examples import examples

TS = pa.timestamp("ms")
BASE = pa.schema([("k", pa.int64()), ("t", TS), ("v", pa.string())])
W = [("window_start", TS), ("window_end", TS), ("window_time", TS)]
L = pa.schema([*BASE, *W])
R = pa.schema([("k0", pa.int64()), ("t0", TS), ("w", pa.string()),
               ("window_start0", TS), ("window_end0", TS), ("window_time0", TS)])
OUT = pa.schema(list(L) + list(R))
SQL_JOIN = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL JOIN"}
WINDOWS = [WindowSpec("TUMBLE", "t", size_ms=4), WindowSpec("HOP", "t", size_ms=6, slide_ms=2),
           WindowSpec("CUMULATE", "t", size_ms=6, step_ms=3)]


def op(join_type: str) -> WindowJoinOperator:
    spec = WindowJoinSpec(join_type, ("k",), ("k0",), ("window_start", "window_end"),
                          ("window_start0", "window_end0"))
    o = WindowJoinOperator(spec, L, R, OUT)
    o.open(OperatorContext("window-join"))
    return o


def windowed(rows: list[tuple], window: WindowSpec, side: int) -> pa.Table:
    t = pa.table({"k": pa.array([r[0] for r in rows], pa.int64()), "t": pa.array([r[1] for r in rows], TS),
                  "v": [r[2] for r in rows]})
    out = assign_windows(t, window)
    return out.rename_columns(R.names) if side else out


def test_assign_windows_per_kind():
    t = pa.table({"k": [1], "t": pa.array([7], TS), "v": ["a"]})
    ends = {w.kind: assign_windows(t, w).column("window_end").cast(pa.int64()).to_pylist() for w in WINDOWS}
    assert ends == {"TUMBLE": [8], "HOP": [8, 10, 12], "CUMULATE": [9, 12]}
    hop = assign_windows(t, WINDOWS[1])
    assert hop.column("window_start").cast(pa.int64()).to_pylist() == [2, 4, 6]
    assert hop.column("window_time").cast(pa.int64()).to_pylist() == [7, 9, 11]


def test_windows_are_emitted_when_they_close_and_late_rows_dropped():
    o, out = op("LEFT"), ListCollector()
    w = WINDOWS[0]
    o.process_batch(windowed([(1, 1, "a"), (2, 2, "b")], w, 0).to_batches()[0], out, 0)
    o.process_batch(windowed([(1, 3, "x"), (1, 5, "y")], w, 1).to_batches()[0], out, 1)
    o.on_watermark(Watermark(2), out)
    assert not out.batches  # [0, 4) closes at watermark 3
    o.on_watermark(Watermark(3), out)
    got = sorted((r["v"], r["w"]) for r in out.table().to_pylist())
    assert got == [("a", "x"), ("b", None)]
    o.process_batch(windowed([(1, 2, "late")], w, 0).to_batches()[0], out, 0)
    assert o.ctx.metrics.late_records_dropped == 1
    out.batches.clear()
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    assert not out.batches  # 'y' is a right row of an INNER/LEFT join: no output


BOUND = 4


@st.composite
def streams(draw):
    n = draw(st.integers(1, 50))
    events, high = [], 0
    for i in range(n):
        side = draw(st.integers(0, 1))
        high += draw(st.integers(0, 2))
        t = high - draw(st.integers(0, BOUND - 1))
        events.append((side, (draw(st.sampled_from([1, 2, None])), t, f"{'lr'[side]}{i % 5}")))
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=10)))
    return events, cuts


@pytest.mark.parametrize("join_type", ["INNER", "LEFT", "RIGHT", "FULL"])
@settings(max_examples=examples(30), deadline=None)
@given(data=streams(), window=st.sampled_from(WINDOWS), restore=st.one_of(st.none(), st.integers(0, 10)))
def test_random_streams_match_duckdb(join_type, data, window, restore):
    events, cuts = data
    o, out = op(join_type), ListCollector()
    bounds = [0, *cuts, len(events)]
    for b, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if b == restore:
            fresh = op(join_type)
            fresh.restore(o.snapshot(1))
            o = fresh
        for side in (0, 1):
            rows = [r for s, r in events[start:stop] if s == side]
            if rows:
                o.process_batch(windowed(rows, window, side).combine_chunks().to_batches()[0], out, side)
        o.on_watermark(Watermark(max(r[1] for _, r in events[:stop]) - BOUND), out)
    o.on_watermark(Watermark(MAX_WATERMARK), out)
    assert o.ctx.metrics.late_records_dropped == 0
    got = sorted((tuple(r.values()) for r in out.table().to_pylist()), key=repr) if out.batches else []
    con = duckdb.connect()
    con.register("l", windowed([r for s, r in events if s == 0], window, 0))
    con.register("r", windowed([r for s, r in events if s == 1], window, 1))
    want = con.execute(f"SELECT * FROM l {SQL_JOIN[join_type]} r ON l.k = r.k0 AND "
                       "l.window_start = r.window_start0 AND l.window_end = r.window_end0").fetchall()
    assert got == sorted(want, key=repr)
