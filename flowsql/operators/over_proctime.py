"""OVER aggregation on processing time: the event-time OVER operator fed by the clock.

``f(x) OVER (PARTITION BY … ORDER BY p ROWS | RANGE BETWEEN … PRECEDING AND CURRENT ROW)``
where ``p AS PROCTIME()`` orders rows by when the OVER operator sees them (Flink's
``ProcTimeRowsBoundedPrecedingFunction``, ``ProcTimeRangeBoundedPrecedingFunction`` and their
UNBOUNDED siblings). :class:`ProcessingTimeOver` wraps
:class:`~flowsql.operators.over_aggregate.OverAggregateOperator` and only changes where time
comes from, as :mod:`flowsql.operators.proctime_window` does for windows.

Contract:
- ``process_batch``: the spec's time column of the whole batch is overwritten with one
  reading ``t`` of ``ctx.clock.now_ms()`` (vectorized), so the row's frame and its output
  ``p`` are its arrival time here. Rows of earlier milliseconds are emitted first
  (``Watermark(t - 1)`` to the wrapped operator), then the batch is buffered.
- Rows of millisecond ``t`` are emitted once the clock has passed ``t``: by the next batch or
  by the timer at ``t + 1`` (``next_timer`` / ``on_timer``), so every row of one
  millisecond is a peer of the others in a RANGE frame, as in Flink. The wrapped operator's
  watermark stays below the clock, so no row is ever late.
- Watermarks from upstream (event time of another column) are forwarded unchanged; the
  final ``Watermark(MAX)`` of a bounded input emits every buffered row.
- ``snapshot``/``restore`` are the wrapped operator's.
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import Collector, Delegating
from flowsql.operators.clock import stamped


class ProcessingTimeOver(Delegating):
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        now = self.ctx.clock.now_ms()
        self._fire(now, out)
        column = self.inner.spec.time_column  # type: ignore[attr-defined]
        self.inner.process_batch(stamped(batch, column, now), out, input_index)

    def _fire(self, now_ms: int, out: Collector) -> None:
        """Emit every buffered row stamped before ``now_ms``."""
        if now_ms - 1 > self.inner.watermark:  # type: ignore[attr-defined]
            self.inner.on_watermark(Watermark(now_ms - 1), out)

    def next_timer(self) -> int | None:
        if not self.inner.pending:  # type: ignore[attr-defined]
            return None
        return int(self.inner.watermark) + 2 if self.inner.watermark < MAX_WATERMARK else None  # type: ignore[attr-defined]

    def on_timer(self, now_ms: int, out: Collector) -> None:
        self._fire(now_ms, out)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp >= MAX_WATERMARK:  # end of input: every buffered row is emitted
            self.inner.on_watermark(wm, out)
        return wm
