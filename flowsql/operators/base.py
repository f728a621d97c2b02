"""The operator contract (see ../shared design: architecture §2).

- ``open(ctx)`` once before any data; ``process_batch(batch, out)`` for every input batch
  (``input_index`` tells which input for two-input operators); ``on_watermark(wm, out)``
  when the combined input watermark advances, returning the watermark to forward (or None
  to hold it back); ``close(out)`` at end of input after the final watermark.
- ``snapshot(checkpoint_id)`` returns the operator's whole state as named Arrow tables;
  ``restore(state)`` on a fresh, opened operator makes it behave exactly as the snapshotted
  one would from that point on. The runtime writes the tables after ``snapshot`` returned,
  while the operator goes on: they must not share memory the operator changes in place
  (copy numpy-backed columns, e.g. by fancy indexing, before wrapping them).
- Operators emit through ``out.emit(batch)``; no per-row Python on the data path.
- Each operator has a stable ``ctx.operator_id`` used in state, metrics, logs and errors.
- Processing-time timers (optional): an operator with ``next_timer()`` (the
  ``ctx.clock`` time in ms at which it wants to be called, or None) gets
  ``on_timer(now_ms, out)`` from the task once ``ctx.clock.now_ms()`` reaches it, even when
  no input arrives (:mod:`flowsql.operators.proctime_window`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from flowsql.messages import Watermark
from flowsql.operators.clock import SYSTEM_CLOCK, Clock

MAX_PARALLELISM = 128


class Collector(Protocol):
    def emit(self, batch: pa.RecordBatch) -> None: ...


class ListCollector:
    """Collects emitted batches in memory (tests, and chained-operator plumbing)."""

    def __init__(self) -> None:
        self.batches: list[pa.RecordBatch] = []

    def emit(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows:
            self.batches.append(batch)

    def table(self, schema: pa.Schema | None = None) -> pa.Table:
        if not self.batches:
            return pa.Table.from_batches([], schema=schema) if schema is not None else pa.table({})
        return pa.Table.from_batches(self.batches)


@dataclass
class OperatorMetrics:
    records_in: int = 0
    records_out: int = 0
    late_records_dropped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class OperatorContext:
    operator_id: str
    subtask_index: int = 0
    parallelism: int = 1
    max_parallelism: int = MAX_PARALLELISM
    config: dict[str, str] = field(default_factory=dict)
    metrics: OperatorMetrics = field(default_factory=OperatorMetrics)
    job_id: str = ""  # the job's id (stable across restarts of the job)
    uid: str = ""  # the operator's stable uid (names its state in checkpoints)
    # the checkpoint this attempt restored from (set before open); 0 for a fresh start
    restored_checkpoint_id: int = 0
    clock: Clock = SYSTEM_CLOCK  # processing time (flowsql.operators.clock; tests pass a fake)

    @property
    def key_group_range(self) -> tuple[int, int]:
        """Half-open range of key groups owned by this subtask (Flink's assignment)."""
        start = (self.subtask_index * self.max_parallelism + self.parallelism - 1) // self.parallelism
        end = ((self.subtask_index + 1) * self.max_parallelism + self.parallelism - 1) // self.parallelism
        return start, end


class Operator(abc.ABC):
    def open(self, ctx: OperatorContext) -> None:
        self.ctx = ctx

    @abc.abstractmethod
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None: ...

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        return wm

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return {}

    def restore(self, state: dict[str, pa.Table]) -> None:
        return None

    def close(self, out: Collector) -> None:
        return None


class Delegating(Operator):
    """An operator wrapping another (``inner``): every call is delegated unchanged unless the
    subclass overrides it (late-data side output, processing-time windows)."""

    def __init__(self, inner: Operator) -> None:
        self.inner = inner

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.inner.open(ctx)

    @property
    def state_keys(self) -> list[str] | None:
        return getattr(self.inner, "state_keys", None)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.inner.process_batch(batch, out, input_index)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        return self.inner.on_watermark(wm, out)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return self.inner.snapshot(checkpoint_id)

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.inner.restore(state)

    def close(self, out: Collector) -> None:
        self.inner.close(out)
