"""Window table function without aggregation: ``SELECT * FROM TABLE(TUMBLE|HOP|CUMULATE(...))``
as a stream (Flink's ``WindowTableFunction``).

Contract:
- Stateless, append-only, one input: every row comes out once per window that contains its
  event time (``time_column``, epoch ms; a NULL time is an ExecutionError, as for window
  aggregation), with three columns appended: ``window_start``, ``window_end`` and
  ``window_time`` (``window_end - 1 ms``), all TIMESTAMP(3). TUMBLE gives one window per
  row; HOP up to ``ceil(size / slide)``; CUMULATE up to ``size / step``. Windows follow
  :mod:`.assigners` (the same arithmetic the window aggregation uses), so both agree on
  which windows a row is in.
- The rows of one input batch come out in one batch, grouped by input row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.assigners import assigner_for, event_time_ms
from flowsql.operators.base import Collector, Operator
from flowsql.operators.join_parts import append_rows
from flowsql.operators.specs import WindowSpec

_ALL = 2**62  # expand every window: (−2^62, 2^62] holds every window end


def assign_windows(table: pa.Table, window: WindowSpec) -> pa.Table:
    """``table``'s rows, once per window, with window_start / window_end / window_time."""
    assigner = assigner_for(window)
    slice_end = assigner.slice_end(event_time_ms(table, window.time_column))
    rows, ends = assigner.expand(slice_end, -_ALL, _ALL)
    order = np.lexsort((ends, rows))  # by input row, then window
    rows, ends = rows[order], ends[order]
    out = table.take(pa.array(rows, pa.int64()))
    ts = pa.timestamp("ms")
    out = out.append_column("window_start", pa.array(assigner.window_start(ends), pa.int64()).cast(ts))
    out = out.append_column("window_end", pa.array(ends, pa.int64()).cast(ts))
    return out.append_column("window_time", pa.array(ends - 1, pa.int64()).cast(ts))


class WindowTableOperator(Operator):
    def __init__(self, window: WindowSpec) -> None:
        self.window = window

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if not batch.num_rows:
            return
        result = assign_windows(append_rows(batch), self.window).combine_chunks()
        for b in result.to_batches():
            self.ctx.metrics.records_out += b.num_rows
            out.emit(b)
