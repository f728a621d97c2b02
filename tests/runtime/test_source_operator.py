"""The source operator: split assignment, flushing, per-split watermarks, idleness."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pyarrow as pa

from flowsql.messages import MIN_WATERMARK
from flowsql.operators.base import OperatorContext
from flowsql.operators.source import (
    BoundedOutOfOrderness,
    SourceOperator,
    SourceReader,
    column_timestamps,
)


def _batch(ts: list[int]) -> pa.RecordBatch:
    return pa.record_batch({"ts": pa.array(ts, pa.timestamp("ms")), "v": pa.array(range(len(ts)))})


class ScriptedReader(SourceReader):
    def __init__(self, scripts: dict[str, Callable[[], Iterator[pa.RecordBatch | None]]], bounded=True):
        self.scripts = scripts
        self.bounded = bounded

    def splits(self) -> list[str]:
        return list(self.scripts)

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        return self.scripts[split]()


class Recorder:
    """SourceOutput that records events; ``stop_when`` cancels the run."""

    def __init__(self, cancel: threading.Event, stop_when=lambda rec: False) -> None:
        self.events: list[tuple[str, object]] = []
        self.cancel = cancel
        self.stop_when = stop_when

    def emit(self, batch: pa.RecordBatch) -> None:
        self.events.append(("batch", batch.num_rows))
        self._check()

    def watermark(self, timestamp: int) -> None:
        self.events.append(("wm", timestamp))
        self._check()

    def idle(self, idle: bool) -> None:
        self.events.append(("idle", idle))
        self._check()

    def _check(self) -> None:
        if self.stop_when(self):
            self.cancel.set()

    def of(self, kind: str) -> list:
        return [v for k, v in self.events if k == kind]


def _run(source: SourceOperator, stop_when=lambda rec: False, subtask=0, parallelism=1) -> Recorder:
    cancel = threading.Event()
    rec = Recorder(cancel, stop_when)
    source.open(OperatorContext("1-source", subtask_index=subtask, parallelism=parallelism))
    t = threading.Thread(target=source.run, args=(rec, cancel), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "source did not stop"
    return rec


def test_split_assignment_round_robin():
    reader = ScriptedReader({f"s{i}": (lambda: iter(())) for i in range(5)})
    source = SourceOperator(reader)
    assert source.assigned_splits(OperatorContext("x", subtask_index=1, parallelism=2)) == ["s1", "s3"]
    assert source.assigned_splits(OperatorContext("x", subtask_index=0, parallelism=2)) == ["s0", "s2", "s4"]


def test_small_batches_are_merged_up_to_batch_size():
    reader = ScriptedReader({"s": lambda: iter([_batch([1] * 10) for _ in range(10)])})
    rec = _run(SourceOperator(reader, batch_size=25, allow_latency_ms=60_000))
    assert rec.of("batch") == [30, 30, 30, 10]


def test_slow_source_flushes_on_latency():
    def slow() -> Iterator[pa.RecordBatch | None]:
        for i in range(5):
            yield _batch([i])
            yield from [None] * 20  # the source waits >= 2 ms per None

    rec = _run(SourceOperator(ScriptedReader({"s": slow}), batch_size=1000, allow_latency_ms=10))
    assert rec.of("batch") == [1, 1, 1, 1, 1]
    rec_no_latency = _run(
        SourceOperator(ScriptedReader({"s": slow}), batch_size=1000, allow_latency_ms=60_000)
    )
    assert rec_no_latency.of("batch") == [5]


def test_watermark_is_min_over_splits_and_follows_batches():
    scripts = {
        "fast": lambda: iter([_batch([1000, 5000]), _batch([9000])]),
        "slow": lambda: iter([_batch([2000]), _batch([3000]), _batch([4000])]),
    }
    source = SourceOperator(
        ScriptedReader(scripts), timestamps=column_timestamps(["ts"]), delay_ms=100, batch_size=1
    )
    rec = _run(source)
    wms = rec.of("wm")
    assert wms == sorted(wms)
    # round robin: fast(5000) slow(2000) -> 1899; fast(9000) slow(3000) -> 2899; then slow alone
    assert wms == [2000 - 101, 3000 - 101, 4000 - 101]
    # every watermark comes right after the batch that moved it
    kinds = [k for k, _ in rec.events]
    assert kinds[0] == "batch" and all(
        kinds[i - 1] == "batch" for i, k in enumerate(kinds) if k == "wm"
    )


def test_idle_split_is_excluded_and_all_idle_is_reported():
    def quiet() -> Iterator[pa.RecordBatch | None]:
        yield _batch([1000])
        while True:
            yield None

    def busy() -> Iterator[pa.RecordBatch | None]:
        t = 1000
        while True:
            t += 1000
            yield _batch([t])
            yield None

    source = SourceOperator(
        ScriptedReader({"quiet": quiet, "busy": busy}, bounded=False),
        timestamps=column_timestamps(["ts"]),
        batch_size=1,
        idle_timeout_ms=20,
    )
    rec = _run(source, stop_when=lambda r: any(w > 50_000 for w in r.of("wm")))
    # without idleness the quiet split would pin the watermark at 999
    assert max(rec.of("wm")) > 50_000

    source_alone = SourceOperator(
        ScriptedReader({"quiet": quiet}, bounded=False),
        timestamps=column_timestamps(["ts"]),
        batch_size=1,
        idle_timeout_ms=20,
    )
    rec_alone = _run(source_alone, stop_when=lambda r: r.of("idle") == [True])
    assert rec_alone.of("batch") == [1] and rec_alone.of("wm") == [999]
    assert rec_alone.of("idle") == [True]


def test_unbounded_source_without_splits_goes_idle_until_cancelled():
    source = SourceOperator(ScriptedReader({"only": lambda: iter(())}, bounded=False))
    rec = _run(source, subtask=1, parallelism=2, stop_when=lambda r: r.of("idle") == [True])
    assert rec.of("idle") == [True] and rec.of("batch") == []


def test_bounded_out_of_orderness_generator():
    gen = BoundedOutOfOrderness(column_timestamps(["ts"]), delay_ms=5)
    assert gen.current() == MIN_WATERMARK
    gen.on_batch(_batch([10, 30, 20]))
    assert gen.current() == 30 - 5 - 1
    gen.on_batch(_batch([25]))
    assert gen.current() == 24
    nested = pa.record_batch(
        {
            "a": pa.array([{"t": 5}, None], pa.struct([("t", pa.timestamp("ms"))])),
            "b": pa.array([None, {"t": 70}], pa.struct([("t", pa.timestamp("ms"))])),
        }
    )
    gen2 = BoundedOutOfOrderness(column_timestamps(["a.t", "b.t"]))
    gen2.on_batch(nested)
    assert gen2.current() == 69


class DiscoveringReader(ScriptedReader):
    """Unbounded splits ``s<i>`` that each yield one batch of ``i + 1`` rows; ``later`` splits
    are listed by ``discover`` only (from its second call on), as new partitions would be."""

    def __init__(self, first: list[str], later: list[str]) -> None:
        super().__init__({s: None for s in first}, bounded=False)
        self.later = later
        self.discovery_interval_ms = 1
        self.calls = 0
        self.read_splits: list[str] = []

    def split_owner(self, split: str, parallelism: int) -> int:
        return int(split[1:]) % parallelism

    def discover(self, known: set[str]) -> list[str]:
        self.calls += 1
        listed = list(self.scripts) + (self.later if self.calls >= 2 else [])
        return [s for s in listed if s not in known]

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        self.read_splits.append(split)
        yield _batch([1] * (int(split[1:]) + 1))
        while True:
            yield None

    def position(self, split: str) -> dict:
        return {"at": split}


def test_discovered_splits_are_read_by_their_owner_and_checkpointed():
    reader = DiscoveringReader(["s0", "s1"], ["s2", "s3", "s5"])
    source = SourceOperator(reader, allow_latency_ms=0)
    rec = _run(source, stop_when=lambda r: sum(r.of("batch")) >= 1 + 3, subtask=0,
               parallelism=2)
    assert sorted(reader.read_splits) == ["s0", "s2"]  # s1, s3 and s5 belong to subtask 1
    assert sum(rec.of("batch")) == 1 + 3
    assert source.positions() == {"s0": {"at": "s0"}, "s2": {"at": "s2"}}


def test_subtask_without_splits_waits_for_discovered_ones():
    reader = DiscoveringReader(["s0"], ["s3"])
    source = SourceOperator(reader, allow_latency_ms=0)
    rec = _run(source, stop_when=lambda r: bool(r.of("batch")), subtask=1, parallelism=2)
    assert reader.read_splits == ["s3"]
    assert rec.events[0] == ("idle", True)  # idle while it had no split
    assert ("idle", False) in rec.events and rec.of("batch") == [4]
    assert source.positions() == {"s3": {"at": "s3"}}
