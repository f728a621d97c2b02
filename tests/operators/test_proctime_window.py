"""Processing-time windows with a controlled clock: exact window contents, timers that fire
without input, end of input, snapshot/restore, and the task chain driving the timers."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.clock import ManualClock, SystemClock
from flowsql.operators.proctime_window import ProcessingTimeWindow
from flowsql.operators.registry import BuildEnv, default_registry
from flowsql.operators.specs import AggCall, WindowAggregateSpec, WindowSpec

AGGS = (AggCall("COUNT_STAR", None, "c"), AggCall("SUM", "v", "s"))
LTZ = pa.timestamp("ms", tz="UTC")


def build(window: WindowSpec, clock: ManualClock, keys: tuple[str, ...] = ("k",)) -> ProcessingTimeWindow:
    spec = WindowAggregateSpec(window, keys, AGGS, ("window_start", "window_end"))
    kind = "session-window" if window.kind == "SESSION" else "window-aggregate"
    op = default_registry().build(kind, {"spec": spec.to_dict()}, BuildEnv("w"))
    assert isinstance(op, ProcessingTimeWindow)
    op.open(OperatorContext("w", clock=clock))
    return op


def batch(keys: list[str | None], values: list[int | None], p_ms: int = 0) -> pa.RecordBatch:
    """Rows whose PROCTIME() column holds ``p_ms`` (the upstream value, replaced on arrival)."""
    n = len(keys)
    return pa.RecordBatch.from_pydict({
        "k": pa.array(keys, pa.string()), "v": pa.array(values, pa.int64()),
        "p": pa.array([p_ms] * n, pa.int64()).cast(LTZ)})


def rows(out: ListCollector) -> list[tuple]:
    t = out.table()
    out.batches.clear()
    if t.num_rows == 0:
        return []
    ms = {c: t.column(c).cast(pa.int64()).to_pylist() for c in ("window_start", "window_end")}
    keys = t.column("k").to_pylist() if "k" in t.schema.names else [None] * t.num_rows
    return sorted(zip(keys, ms["window_start"], ms["window_end"],
                      t.column("c").to_pylist(), t.column("s").to_pylist(), strict=True),
                  key=lambda r: (r[1], r[2], str(r[0])))


def test_tumble_fires_on_the_clock_without_input():
    clock = ManualClock(10_500)
    op = build(WindowSpec("TUMBLE", "p", size_ms=1000, proctime=True), clock)
    out = ListCollector()
    op.on_timer(clock.now_ms(), out)  # the first timer: nothing open yet
    assert op.next_timer() == 11_000
    op.process_batch(batch(["a", "b", "a"], [1, 2, 3], p_ms=0), out)  # stamped 10_500
    clock.set(10_999)
    op.process_batch(batch(["a", None], [4, None]), out)  # stamped 10_999: same window
    # an upstream (event-time) watermark fires nothing and is forwarded
    assert op.on_watermark(Watermark(99_999_999), out) == Watermark(99_999_999)
    assert rows(out) == []
    clock.set(11_000)
    op.process_batch(batch(["b"], [5]), out)  # stamped 11_000: the next window
    op.on_timer(clock.now_ms(), out)  # the timer, no new input needed
    assert rows(out) == [(None, 10_000, 11_000, 1, None), ("a", 10_000, 11_000, 3, 8),
                         ("b", 10_000, 11_000, 1, 2)]
    assert op.next_timer() == 12_000
    clock.set(11_700)
    op.on_timer(clock.now_ms(), out)
    assert rows(out) == []
    op.on_watermark(Watermark(MAX_WATERMARK), out)  # end of input: the open window fires
    assert rows(out) == [("b", 11_000, 12_000, 1, 5)]
    assert op.next_timer() is None
    assert op.ctx.metrics.late_records_dropped == 0


def test_window_columns_are_timestamp_ltz():
    clock = ManualClock(5_000)
    op = build(WindowSpec("TUMBLE", "p", size_ms=1000, proctime=True), clock)
    out = ListCollector()
    op.process_batch(batch(["a"], [1]), out)
    op.on_watermark(Watermark(MAX_WATERMARK), out)
    t = out.table()
    assert t.schema.field("window_start").type == LTZ
    assert t.column("window_end").to_pylist() == [dt.datetime(1970, 1, 1, 0, 0, 6, tzinfo=dt.UTC)]


def test_hop_and_cumulate_windows_share_the_stamped_rows():
    clock = ManualClock(1_000)
    hop = build(WindowSpec("HOP", "p", size_ms=2000, slide_ms=1000, proctime=True), clock, ())
    cum = build(WindowSpec("CUMULATE", "p", size_ms=2000, step_ms=1000, proctime=True), clock, ())
    out_h, out_c = ListCollector(), ListCollector()
    for at, values in ((1_000, [1, 2]), (1_999, [3]), (2_500, [4])):
        clock.set(at)
        for op, out in ((hop, out_h), (cum, out_c)):
            op.on_timer(clock.now_ms(), out)
            op.process_batch(batch(["x"] * len(values), values), out)
    clock.set(3_000)
    for op, out in ((hop, out_h), (cum, out_c)):
        op.on_timer(clock.now_ms(), out)
    hop_rows = [r[1:] for r in rows(out_h)]
    cum_rows = [r[1:] for r in rows(out_c)]
    # HOP 2 s every 1 s: [0,2) ← rows at 1000, 1999; [1,3) ← all
    assert hop_rows == [(0, 2_000, 3, 6), (1_000, 3_000, 4, 10)]
    # CUMULATE step 1 s, max 2 s: [0,2) at 2 s; [2,3) at 3 s
    assert cum_rows == [(0, 2_000, 3, 6), (2_000, 3_000, 1, 4)]


def test_session_fires_when_the_gap_has_passed():
    clock = ManualClock(0)
    op = build(WindowSpec("SESSION", "p", gap_ms=100, proctime=True), clock)
    out = ListCollector()
    assert op.next_timer() is None  # no open session
    clock.set(1_000)
    op.process_batch(batch(["a", "b"], [1, 2]), out)
    clock.set(1_050)
    op.process_batch(batch(["a"], [3]), out)  # extends a's session to 1_150
    assert op.next_timer() == 1_100  # b's session ends first
    clock.set(1_100)
    op.on_timer(clock.now_ms(), out)
    assert rows(out) == [("b", 1_000, 1_100, 1, 2)]
    clock.set(1_150)
    op.on_timer(clock.now_ms(), out)
    assert rows(out) == [("a", 1_000, 1_150, 2, 4)]
    assert op.next_timer() is None


def test_snapshot_restore_fires_windows_that_ended_meanwhile():
    clock = ManualClock(20_000)
    window = WindowSpec("TUMBLE", "p", size_ms=1000, proctime=True)
    op = build(window, clock)
    out = ListCollector()
    op.on_timer(clock.now_ms(), out)
    op.process_batch(batch(["a", "a"], [1, 2]), out)
    state = op.snapshot(1)
    clock.set(25_000)  # the job was down while the window ended
    fresh = build(window, clock)
    fresh.restore(state)
    assert fresh.next_timer() == 21_000
    fresh.on_timer(clock.now_ms(), out)
    assert rows(out) == [("a", 20_000, 21_000, 2, 3)]
    fresh.process_batch(batch(["a"], [7]), out)  # stamped 25_000
    fresh.on_watermark(Watermark(MAX_WATERMARK), out)
    assert rows(out) == [("a", 25_000, 26_000, 1, 7)]


def test_task_chain_drives_the_timers():
    from flowsql.runtime.taskmanager.task import OperatorChain

    class Output:
        def __init__(self) -> None:
            self.out = ListCollector()

        def emit(self, b: pa.RecordBatch) -> None:
            self.out.emit(b)

        def broadcast(self, message: object) -> None:
            pass

    clock = ManualClock(7_250)
    op = build(WindowSpec("TUMBLE", "p", size_ms=500, proctime=True), clock)
    output = Output()
    chain = OperatorChain(["w"], [op], [op.ctx.metrics], output, clock)  # type: ignore[arg-type]
    chain.fire_timers()
    assert chain.next_timer() == 7_500
    assert chain.timer_wait() == pytest.approx(0.1)  # capped
    chain.process(batch(["z"], [9]))
    clock.set(7_499)
    chain.fire_timers()
    assert rows(output.out) == []
    clock.set(7_500)
    assert chain.timer_wait() == 0.0
    chain.fire_timers()
    assert rows(output.out) == [("z", 7_000, 7_500, 1, 9)]


def test_system_clock_never_goes_back(monkeypatch):
    import flowsql.operators.clock as clock_module

    clock = SystemClock()
    readings = iter([5.0, 4.0, 6.0])
    monkeypatch.setattr(clock_module.time, "time", lambda: next(readings))
    assert [clock.now_ms(), clock.now_ms(), clock.now_ms()] == [5000, 5000, 6000]
    with pytest.raises(ValueError):
        ManualClock(10).set(9)
