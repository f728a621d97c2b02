"""Late rows: counted in ``ctx.metrics.late_records_dropped`` and sent, unchanged, to an
optional side output (the runtime wires it to the ``late-data.sink`` table) — never lost
silently.

Contract: :func:`split_late` returns the on-time rows of ``batch``; the late rows (original
schema, original order) go to ``late_out.emit`` when a side output is set.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

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


def clamp_ms(value: int) -> int:
    """Clamp a Python int into int64 range minus one (so ``value + 1`` stays representable)."""
    return max(min(int(value), 2**63 - 2), -(2**63) + 1)
