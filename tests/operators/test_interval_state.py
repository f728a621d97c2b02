"""TimedRows (flowsql.operators.interval_state): eviction chunk by chunk keeps the rows, keys,
times and matched flags of the survivors in order, and returns the evicted ones in order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.operators.interval_state import TimedRows

SCHEMA = pa.schema([("x", pa.int64())])


def _rows(values: list[int]) -> pa.Table:
    return pa.table({"x": pa.array(values, pa.int64())})


def _filled() -> TimedRows:
    rows = TimedRows(SCHEMA)
    for chunk in ([1, 2, 3], [4, 5], [6, 7, 8]):  # three appended chunks
        v = np.array(chunk, dtype=np.int64)
        rows.append(_rows(chunk), v * 10, v * 100, v % 2 == 0)
    return rows


def test_evict_whole_mixed_and_untouched_chunks():
    rows = _filled()
    # chunk 1 wholly dead, chunk 2 untouched, chunk 3 mixed
    dead = np.array([True, True, True, False, False, True, False, True])
    gone, flags = rows.evict(dead)
    assert gone.column("x").to_pylist() == [1, 2, 3, 6, 8]
    assert flags.tolist() == [False, True, False, True, True]
    assert rows.rows().column("x").to_pylist() == [4, 5, 7]
    assert rows.key.tolist() == [40, 50, 70] and rows.time.tolist() == [400, 500, 700]
    assert rows.matched.tolist() == [True, False, False]
    owner, ids = rows.probe(np.array([50], dtype=np.int64), np.array([0]), np.array([1000]))
    assert ids.tolist() == [1]


def test_evict_everything_then_nothing_then_append():
    rows = _filled()
    gone, flags = rows.evict(np.ones(8, dtype=bool))
    assert gone.num_rows == 8 and len(flags) == 8 and len(rows) == 0
    assert rows.rows().num_rows == 0
    gone, _ = rows.evict(np.zeros(0, dtype=bool))
    assert gone.num_rows == 0
    rows.append(_rows([9]), np.array([90]), np.array([900]), np.array([False]))
    assert rows.table().column("x").to_pylist() == [9]
