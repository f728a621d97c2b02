"""The in-memory state backend: named tables, snapshot isolation, rescaled restore."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.state.keygroups import key_group_range
from flowsql.state.memory import MemoryStateBackend


def test_put_get_delete_snapshot_restore():
    s = MemoryStateBackend()
    assert s.get("x") is None
    s.put("x", pa.table({"k": [1, 2]}))
    s.put("meta", pa.table({"wm": [5]}))
    snap = s.snapshot()
    s.put("x", pa.table({"k": [3]}))  # later updates do not change the snapshot
    assert snap["x"].column("k").to_pylist() == [1, 2]
    s.delete("x")
    assert s.names() == ["meta"]
    other = MemoryStateBackend()
    other.restore(snap)
    assert other.names() == ["meta", "x"] and other.num_rows() == 3


def test_restore_with_key_group_range_splits_state():
    table = pa.table({"k": np.arange(500), "v": np.arange(500)})
    parts = []
    for i in range(2):
        s = MemoryStateBackend()
        s.restore({"t": table, "meta": pa.table({"wm": [1]})},
                  key_group_range=key_group_range(i, 2), key_columns=["k"])
        parts.append(s.get("t"))
        assert s.get("meta").num_rows == 1  # tables without the key columns are kept whole
    assert sorted(parts[0]["k"].to_pylist() + parts[1]["k"].to_pylist()) == list(range(500))
