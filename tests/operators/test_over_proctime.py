"""OVER aggregation on processing time with a controlled clock: rows stamped on arrival,
emitted once the clock passes their millisecond (by the next batch or a timer), RANGE peers
within one millisecond, upstream watermarks forwarded, end of input, snapshot/restore."""

from __future__ import annotations

import pyarrow as pa

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.clock import ManualClock
from flowsql.operators.over_aggregate import OverSpec
from flowsql.operators.over_proctime import ProcessingTimeOver
from flowsql.operators.registry import BuildEnv, default_registry

LTZ = pa.timestamp("ms", tz="UTC")
IN = [["k", "STRING"], ["v", "BIGINT"], ["p", "TIMESTAMP_LTZ(3)"]]
OUT = IN + [["n", "BIGINT NOT NULL"], ["s", "BIGINT"]]
CALLS = (("COUNT_STAR", None, "n"), ("SUM", "v", "s"))


def build(rows: bool, preceding: int | None, clock: ManualClock) -> ProcessingTimeOver:
    spec = OverSpec(("k",), "p", rows, preceding, CALLS, proctime=True)
    op = default_registry().build("over-aggregate", {"spec": spec.to_dict(), "input": IN,
                                                     "output": OUT}, BuildEnv("o"))
    assert isinstance(op, ProcessingTimeOver)
    op.open(OperatorContext("o", clock=clock))
    return op


def batch(keys: list[str | None], values: list[int | None]) -> pa.RecordBatch:
    n = len(keys)  # the upstream PROCTIME() value (0) is replaced on arrival
    return pa.RecordBatch.from_pydict({"k": pa.array(keys, pa.string()),
                                       "v": pa.array(values, pa.int64()),
                                       "p": pa.array([0] * n, pa.int64()).cast(LTZ)})


def taken(out: ListCollector) -> list[tuple]:
    t = out.table()
    out.batches.clear()
    if t.num_rows == 0:
        return []
    ms = t.column("p").cast(pa.int64()).to_pylist()
    got = [(r["k"], r["v"], p, r["n"], r["s"]) for r, p in zip(t.to_pylist(), ms, strict=True)]
    # rows of one key come in arrival order (values grow with it here); keys in no fixed order
    return sorted(got, key=lambda r: (str(r[0]), r[2], r[1]))


def test_rows_frame_in_arrival_order_emitted_when_the_clock_passes():
    clock = ManualClock(1_000)
    op, out = build(True, 1, clock), ListCollector()
    op.process_batch(batch(["a", "b", "a"], [1, 2, 3]), out)
    assert taken(out) == [] and op.next_timer() is not None
    clock.set(1_001)
    op.on_timer(clock.now_ms(), out)
    assert taken(out) == [("a", 1, 1000, 1, 1), ("a", 3, 1000, 2, 4), ("b", 2, 1000, 1, 2)]
    assert op.next_timer() is None  # nothing buffered
    clock.set(1_005)
    op.process_batch(batch(["a"], [10]), out)  # ROWS 1 PRECEDING: the row and the one before
    clock.set(1_006)
    op.process_batch(batch(["a"], [20]), out)  # the next batch emits the earlier millisecond
    assert taken(out) == [("a", 10, 1005, 2, 13)]
    op.on_watermark(Watermark(MAX_WATERMARK), out)  # end of input
    assert taken(out) == [("a", 20, 1006, 2, 30)]


def test_range_frame_rows_of_one_millisecond_are_peers_and_old_rows_leave():
    clock = ManualClock(5_000)
    op, out = build(False, 100, clock), ListCollector()  # RANGE 100 ms PRECEDING
    op.process_batch(batch(["a", "a"], [1, 2]), out)
    op.process_batch(batch(["a"], [4]), out)  # same millisecond: a peer of both
    clock.set(5_050)
    op.process_batch(batch(["a", None], [8, 16]), out)
    assert taken(out) == [("a", 1, 5000, 3, 7), ("a", 2, 5000, 3, 7), ("a", 4, 5000, 3, 7)]
    clock.set(5_120)  # 5_000 is now more than 100 ms back
    op.process_batch(batch(["a"], [32]), out)
    op.on_timer(5_121, out)
    assert taken(out) == [(None, 16, 5050, 1, 16), ("a", 8, 5050, 4, 15), ("a", 32, 5120, 2, 40)]


def test_upstream_watermarks_are_forwarded_and_fire_nothing():
    clock = ManualClock(100)
    op, out = build(True, None, clock), ListCollector()
    op.process_batch(batch(["a"], [1]), out)
    assert op.on_watermark(Watermark(50_000), out) == Watermark(50_000)
    assert taken(out) == []
    op.on_timer(101, out)
    assert taken(out) == [("a", 1, 100, 1, 1)]


def test_snapshot_and_restore_continue_like_the_uninterrupted_operator():
    def run(cut: bool) -> list[tuple]:
        clock = ManualClock(1_000)
        op, out = build(True, 2, clock), ListCollector()
        for i, (keys, values) in enumerate([(["a", "b"], [1, 2]), (["a"], [3]), (["a", "b"], [4, 5])]):
            clock.set(1_000 + 10 * i)
            op.process_batch(batch(keys, values), out)
            if cut and i == 1:
                state = op.snapshot(1)
                op = build(True, 2, clock)
                op.restore(state)
        clock.set(2_000)
        op.on_timer(2_000, out)
        return taken(out)

    assert run(cut=True) == run(cut=False)
    assert [r[-1] for r in run(cut=False) if r[0] == "a"] == [1, 4, 8]
