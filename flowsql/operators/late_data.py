"""Late rows: counted in ``ctx.metrics.late_records_dropped`` and sent, unchanged, to an
optional side output (the runtime wires it to the ``late-data.sink`` table) — never lost
silently.

Contract: :func:`split_late` returns the on-time rows of ``batch``; the late rows (original
schema, original order) go to ``late_out.emit`` when a side output is set.
:func:`on_time_slices` is the window operators' use of it: slice ends, late rows split off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from flowsql.messages import MIN_WATERMARK
from flowsql.operators.assigners import event_time_ms
from flowsql.operators.base import Collector, OperatorContext


def split_late(
    batch: pa.RecordBatch,
    late: np.ndarray,
    ctx: OperatorContext,
    late_out: Collector | None,
) -> pa.RecordBatch:
    n_late = int(np.count_nonzero(late))
    if n_late == 0:
        return batch
    ctx.metrics.late_records_dropped += n_late
    mask = pa.array(late)
    if late_out is not None:
        late_out.emit(batch.filter(mask))
    return batch.filter(pa.array(~late))


def on_time_slices(
    batch: pa.RecordBatch,
    assigner: Any,
    time_column: str,
    watermark: int,
    ctx: OperatorContext,
    late_out: Collector | None,
) -> tuple[pa.RecordBatch, np.ndarray]:
    """A window operator's first step: every row's slice end (``assigner.slice_end`` of its
    event time), with the late rows (the last window holding them ends at or before
    ``watermark``) split off by :func:`split_late`. Returns the on-time rows and their slice
    ends (an empty batch when all were late)."""
    ends = assigner.slice_end(event_time_ms(batch, time_column))
    if watermark > MIN_WATERMARK:
        late = assigner.last_window_end(ends) - 1 <= watermark
        if late.any():
            batch = split_late(batch, late, ctx, late_out)
            ends = ends[~late]
    return batch, ends


def clamp_ms(value: int) -> int:
    """Clamp a Python int into int64 range minus one (so ``value + 1`` stays representable)."""
    return max(min(int(value), 2**63 - 2), -(2**63) + 1)
