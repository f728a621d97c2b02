"""The window Top-N operator on its own: rows fire when the watermark closes their window,
late rows are counted and dropped, pruning keeps the result, and snapshot/restore continues
like the uninterrupted operator; the window table function's rows per window."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_harness import route, split_state

from flowsql.messages import Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.rank import RankSpec
from flowsql.operators.specs import WindowSpec
from flowsql.operators.window_rank import WindowAssignOperator, WindowRankOperator
from tests.examples import examples

S = pa.schema([("window_end", pa.timestamp("ms")), ("k", pa.string()), ("v", pa.int64())])


def op(n: int = 2) -> WindowRankOperator:
    spec = RankSpec(("window_end", "k"), (("v", True, False),), 1, n, "rn")
    o = WindowRankOperator(spec, S, "window_end")
    o.open(OperatorContext("window-rank"))
    return o


def batch(rows: list[tuple]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([r[i] for r in rows], f.type) for i, f in enumerate(S)], schema=S)


def rows(out: ListCollector) -> list[tuple]:
    return sorted((tuple(r.values()) for r in out.table().to_pylist()), key=str) if out.batches else []


def test_fires_when_the_window_closes_and_drops_late_rows():
    o, out = op(), ListCollector()
    o.process_batch(batch([(10, "a", 1), (10, "a", 5), (10, "a", 3), (20, "a", 9)]), out)
    o.on_watermark(Watermark(8), out)
    assert rows(out) == []
    o.on_watermark(Watermark(9), out)  # window_end - 1 reached
    assert [(r[1], r[2], r[3]) for r in rows(out)] == [("a", 3, 2), ("a", 5, 1)]
    o.process_batch(batch([(10, "a", 100)]), out)  # its window has fired: late
    assert o.ctx.metrics.late_records_dropped == 1
    assert o.snapshot(1)["rows"].num_rows == 1  # the (20, a, 9) row


@st.composite
def stream(draw):
    steps = []
    wm = 0
    for _ in range(draw(st.integers(1, 8))):
        data = draw(st.lists(st.tuples(st.integers(wm + 1, wm + 30), st.sampled_from(["a", "b", None]),
                                       st.one_of(st.none(), st.integers(0, 5))), max_size=8))
        wm += draw(st.integers(0, 15))
        steps.append((data, wm))
    return steps


def _run(o: WindowRankOperator, steps, out: ListCollector) -> None:
    for data, wm in steps:
        if data:
            o.process_batch(batch(data), out)
        o.on_watermark(Watermark(wm), out)


@settings(max_examples=examples(40), deadline=None)
@given(steps=stream(), cut=st.integers(0, 8))
def test_restore_continues_like_the_uninterrupted_operator(steps, cut):
    steps = [*steps, ([], 10_000)]
    whole, expected = op(), ListCollector()
    _run(whole, steps, expected)
    a, before = op(), ListCollector()
    _run(a, steps[:cut], before)
    snap = a.snapshot(1)
    b, after = op(), ListCollector()
    b.restore(snap)
    _run(b, steps[cut:], after)
    assert sorted(rows(before) + rows(after), key=str) == rows(expected)
    # restored at parallelism 2: state and rows split by key group, as a rescale does
    keys = ["window_end", "k"]
    two, after2 = [op() for _ in range(2)], ListCollector()
    for o, part in zip(two, split_state(snap, keys, 2), strict=True):
        o.restore(part)
    for data, wm in steps[cut:]:
        if data:
            for o, part in zip(two, route(batch(data), keys, 2), strict=True):
                o.process_batch(part, after2)
        for o in two:
            o.on_watermark(Watermark(wm), after2)
    assert sorted(rows(before) + rows(after2), key=str) == rows(expected)


def test_window_table_function_rows_per_window():
    o, out = WindowAssignOperator(WindowSpec("HOP", "ts", size_ms=10, slide_ms=5)), ListCollector()
    o.open(OperatorContext("window-assign"))
    o.process_batch(pa.RecordBatch.from_pydict({"ts": pa.array([7], pa.timestamp("ms"))}), out)
    t = out.table()
    as_ms = [np.datetime64(x, "ms").astype(np.int64) for x in t.column("window_start").to_pylist()]
    assert sorted(as_ms) == [0, 5]
    assert t.num_rows == 2
