"""Processing-time windows: an event-time window operator fed by the processing-time clock.

A processing-time window (``TUMBLE(TABLE t, DESCRIPTOR(p), ...)`` where ``p AS PROCTIME()``)
is, as in Flink, the event-time window over the time at which the window operator sees each
row, fired by a timer when the clock passes the window end. So :class:`ProcessingTimeWindow`
wraps one of the event-time window operators (TUMBLE/HOP/CUMULATE:
:class:`~flowsql.operators.window_aggregate.WindowAggregateOperator`, SESSION:
:class:`~flowsql.operators.session_window.SessionWindowOperator`, Python aggregates:
:class:`~flowsql.operators.python_window_aggregate.PythonWindowAggregateOperator`) and only
changes where time comes from.

Contract:
- ``process_batch``: the spec's time column of the whole batch is overwritten with one
  reading of ``ctx.clock.now_ms()`` (vectorized; the value the ``PROCTIME()`` expression
  computed upstream is replaced, so a row is windowed by its arrival here), then the batch
  goes to the wrapped operator. The clock is monotone and the wrapped operator's watermark is
  always below the current reading, so no row is ever late.
- Timers (:mod:`flowsql.operators.base`): ``next_timer()`` is the next time at which a window
  can end — the next window-end grid point after the fired range (TUMBLE/HOP/CUMULATE), or
  the earliest open session's end (SESSION; None without one). ``on_timer(now)`` gives the
  wrapped operator ``Watermark(now - 1)``: every window with ``window_end <= now`` fires.
- Watermarks from upstream (event time of another column) do not fire anything and are
  forwarded unchanged; the final ``Watermark(MAX)`` of a bounded input fires every open
  window, as in Flink at end of input.
- Output: the wrapped operator's rows; window columns are ``timestamp[ms, UTC]``
  (TIMESTAMP_LTZ(3)). ``snapshot``/``restore`` are the wrapped operator's (its state holds the
  fired range, so windows that ended while the job was down fire at the first timer).
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.assigners import assigner_for
from flowsql.operators.base import Collector, Delegating, Operator
from flowsql.operators.clock import stamped
from flowsql.operators.specs import WindowSpec


class ProcessingTimeWindow(Delegating):
    def __init__(self, inner: Operator, window: WindowSpec) -> None:
        super().__init__(inner)
        self.window = window
        self.assigner = assigner_for(window) if window.kind != "SESSION" else None

    # -- data --------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        batch = stamped(batch, self.window.time_column, self.ctx.clock.now_ms())
        self.inner.process_batch(batch, out, input_index)

    # -- time --------------------------------------------------------------------------
    @property
    def _fired(self) -> int:
        """The processing-time watermark given to the wrapped operator so far."""
        return int(self.inner.watermark)  # type: ignore[attr-defined]

    def next_timer(self) -> int | None:
        fired = self._fired
        if fired >= MAX_WATERMARK:
            return None
        if self.assigner is None:  # SESSION: the earliest open session's end
            return self.inner.next_window_end()  # type: ignore[attr-defined]
        # the first window end E not fired yet (E - 1 > fired); it fires at now >= E
        return self.assigner.next_end(max(fired, -(2**62)) + 1)

    def on_timer(self, now_ms: int, out: Collector) -> None:
        if now_ms - 1 > self._fired:
            self.inner.on_watermark(Watermark(now_ms - 1), out)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp >= MAX_WATERMARK:  # end of input: every open window fires
            self.inner.on_watermark(wm, out)
        return wm
