"""The OVER aggregate operator on its own: rows wait for the watermark, late rows are dropped,
frames (ROWS / RANGE, bounded / UNBOUNDED) against a plain Python oracle, and snapshot/restore
continuing like the uninterrupted operator."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from operators_harness import route, split_state

from flowsql.messages import Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.over_aggregate import OverAggregateOperator, OverSpec, range_extreme
from tests.examples import examples

S = pa.schema([("k", pa.string()), ("ts", pa.timestamp("ms")), ("v", pa.int64())])
CALLS = (("COUNT_STAR", None, "n"), ("SUM", "v", "s"), ("MIN", "v", "mn"), ("MAX", "v", "mx"))
OUT = pa.schema(list(S) + [pa.field("n", pa.int64()), pa.field("s", pa.int64()),
                           pa.field("mn", pa.int64()), pa.field("mx", pa.int64())])


def op(rows: bool, preceding: int | None) -> OverAggregateOperator:
    o = OverAggregateOperator(OverSpec(("k",), "ts", rows, preceding, CALLS), S, OUT)
    o.open(OperatorContext("over"))
    return o


def batch(data: list[tuple]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([r[i] for r in data], f.type) for i, f in enumerate(S)],
                                      schema=S)


def test_rows_wait_for_the_watermark_and_late_rows_are_dropped():
    o, out = op(True, 1), ListCollector()
    o.process_batch(batch([("a", 5, 1), ("a", 3, 2)]), out)
    o.on_watermark(Watermark(4), out)
    assert [r["s"] for r in out.table().to_pylist()] == [2]  # only ts 3 is ready
    o.on_watermark(Watermark(10), out)
    assert [r["s"] for r in out.table().to_pylist()] == [2, 3]
    o.process_batch(batch([("a", 9, 7)]), out)
    assert o.ctx.metrics.late_records_dropped == 1


def test_range_extreme():
    import numpy as np

    x = np.array([5, 1, 4, 9, 2, 8])
    lo, hi = np.array([0, 1, 2, 0, 5]), np.array([0, 3, 5, 5, 5])
    assert range_extreme(x, lo, hi, np.minimum).tolist() == [5, 1, 2, 1, 8]
    assert range_extreme(x, lo, hi, np.maximum).tolist() == [5, 9, 9, 9, 8]


def _oracle(rows: bool, preceding: int | None, data: list[tuple]) -> list[tuple]:
    """Per row (in arrival order within equal times): its frame's count, sum, min, max."""
    out = []
    for k in {r[0] for r in data}:
        part = sorted((r for r in data if r[0] == k), key=lambda r: r[1])  # stable: arrival
        for i, r in enumerate(part):
            if rows:
                frame = part[max(0, i - preceding) if preceding is not None else 0: i + 1]
            else:
                low = r[1] - preceding if preceding is not None else -10**9
                frame = [x for x in part if low <= x[1] <= r[1]]
            vs = [x[2] for x in frame if x[2] is not None]
            out.append((*r, len(frame), sum(vs) if vs else None, min(vs) if vs else None,
                        max(vs) if vs else None))
    return sorted(out, key=str)


@st.composite
def stream(draw):
    steps, wm = [], 0
    for _ in range(draw(st.integers(1, 8))):
        data = draw(st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(wm + 1, wm + 20),
                                       st.one_of(st.none(), st.integers(-5, 9))), max_size=8))
        wm += draw(st.integers(0, 12))
        steps.append((data, wm))
    return [*steps, ([], 10_000)]


def _run(o, steps, out) -> None:
    for data, wm in steps:
        if data:
            o.process_batch(batch(data), out)
        o.on_watermark(Watermark(wm), out)


def _rows(out: ListCollector) -> list[tuple]:
    """Emitted rows as (k, ts in epoch ms, v, n, s, mn, mx), sorted."""
    if not out.batches:
        return []
    t = out.table()
    t = t.set_column(1, "ts", t.column("ts").cast(pa.int64()))
    return sorted((tuple(r.values()) for r in t.to_pylist()), key=str)


@pytest.mark.parametrize("rows, preceding", [(True, 2), (True, None), (False, 5), (False, None)])
@settings(max_examples=examples(30), deadline=None)
@given(steps=stream(), cut=st.integers(0, 8))
def test_frames_and_restore(rows, preceding, steps, cut):
    whole, expected = op(rows, preceding), ListCollector()
    _run(whole, steps, expected)
    data = [r for d, _ in steps for r in d]  # arrival order: ROWS peers keep it
    assert _rows(expected) == _oracle(rows, preceding, data)
    a, before = op(rows, preceding), ListCollector()
    _run(a, steps[:cut], before)
    snap = a.snapshot(1)
    b, after = op(rows, preceding), ListCollector()
    b.restore(snap)
    _run(b, steps[cut:], after)
    assert sorted(_rows(before) + _rows(after), key=str) == _rows(expected)
    # restored at parallelism 2: state and rows split by key group, as a rescale does
    two, after2 = [op(rows, preceding) for _ in range(2)], ListCollector()
    for o, part in zip(two, split_state(snap, ["k"], 2), strict=True):
        o.restore(part)
    for data_, wm in steps[cut:]:
        if data_:
            for o, part in zip(two, route(batch(data_), ["k"], 2), strict=True):
                o.process_batch(part, after2)
        for o in two:
            o.on_watermark(Watermark(wm), after2)
    assert sorted(_rows(before) + _rows(after2), key=str) == _rows(expected)
