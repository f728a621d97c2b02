"""The output row of a fired window, shared by the window and session aggregate operators.

Contract: key columns first, then the window columns the spec asks for (``window_start``,
``window_end``, ``window_time`` = end - 1 ms, as ``timestamp[ms]``, or ``timestamp[ms, UTC]``
for a processing-time window, in that order), then one
column per aggregate call, computed from the merged accumulator state of each fired window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa


def window_type(spec: Any) -> pa.DataType:
    """Arrow type of the window columns: TIMESTAMP(3), or TIMESTAMP_LTZ(3) for a
    processing-time window (as in Flink)."""
    return pa.timestamp("ms", tz="UTC") if spec.window.proctime else pa.timestamp("ms")


def window_rows(
    keys: dict[str, Any],
    starts: np.ndarray,
    ends: np.ndarray,
    spec: Any,
    accs: Any,
    state: pa.Table,
) -> pa.Table:
    """Rows for fired windows ``[starts, ends)``; ``state`` holds their merged accumulators."""
    cols: dict[str, Any] = dict(keys)
    window = {"window_start": starts, "window_end": ends, "window_time": ends - 1}
    t = window_type(spec)
    for name in spec.window_columns:
        cols[name] = pa.array(window[name], type=t)
    for a, r in zip(spec.aggs, accs.results(state), strict=True):
        cols[a.output] = r
    return pa.table(cols)
