"""The output row of a fired window, shared by the window and session aggregate operators.

Contract: key columns first, then the window columns the spec asks for (``window_start``,
``window_end``, ``window_time`` = end - 1 ms, as ``timestamp[ms]``, or ``timestamp[ms, UTC]``
for a processing-time window, in that order), then one
column per aggregate call, computed from the merged accumulator state of each fired window.
:func:`end_key_order` orders fired rows by (window end, key) with one sort, when one integer
or timestamp key column without NULLs makes that pair unique.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from flowsql.operators.acc_store import as_array


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


def end_key_order(ends: np.ndarray, key: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Row order by (``ends``, ``key``) for rows whose (end, key) pairs are unique (one row
    per key and window / session end): one default (SIMD) argsort of a combined int64 code,
    several times faster than ``np.lexsort`` or a multi-key Arrow sort. None when ``key`` is
    not a NULL-free signed / small integer or timestamp column, or the code would overflow."""
    t = key.type
    if key.null_count or pa.types.is_uint64(t) or not (
            pa.types.is_integer(t) or pa.types.is_timestamp(t)):
        return None
    if len(ends) == 0:
        return np.empty(0, dtype=np.int64)
    arr = as_array(key)
    k = (arr.view(pa.int64()) if pa.types.is_timestamp(t) else arr).to_numpy()
    k = k.astype(np.int64, copy=False)
    e0, k0 = int(ends.min()), int(k.min())
    kspan = int(k.max()) - k0 + 1
    if (int(ends.max()) - e0 + 1) * kspan >= 2**62:
        return None
    return np.argsort((ends - e0) * kspan + (k - k0))
