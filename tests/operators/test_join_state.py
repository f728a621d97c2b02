"""JoinSide (the state of one join / rank input): row values kept in merged pieces, fetched in
any id order; append-only sides give every row its own id and refuse retractions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from flowsql.operators.join_state import JoinSide

SCHEMA = pa.schema([("k", pa.int64()), ("s", pa.string())])


def _batch(start: int, n: int) -> pa.Table:
    ks = np.arange(start, start + n)
    return pa.table({"k": ks, "s": [f"v{i}" for i in ks]}, schema=SCHEMA)


@pytest.mark.parametrize("append_only", [False, True])
def test_values_in_any_order_across_pieces(append_only):
    side = JoinSide(SCHEMA, append_only=append_only)
    total = 0
    for n in [5, 3, 7, 1, 1, 9, 2, 4, 4, 4, 11, 1]:
        ids = side.row_ids(_batch(total, n))
        assert list(ids) == list(range(total, total + n))
        total += n
    assert len(side._values) > 1  # several pieces (merged geometrically)
    rng = np.random.default_rng(3)
    for ids in [np.arange(total), rng.integers(0, total, 40), np.array([total - 1, 0, 0, 5]),
                np.zeros(0, dtype=np.int64)]:
        got = side.values(ids)
        assert got.schema == SCHEMA
        assert got.column("k").to_pylist() == ids.tolist()
        assert got.column("s").to_pylist() == [f"v{i}" for i in ids]


def test_identical_rows_share_an_id_unless_append_only():
    rows = pa.table({"k": [1, 1, 2], "s": ["a", "a", "b"]}, schema=SCHEMA)
    keyed = JoinSide(SCHEMA)
    ids, delta = keyed.net_change(rows, np.ones(3, dtype=np.int64))
    assert ids.tolist() == [0, 1] and delta.tolist() == [2, 1]
    plain = JoinSide(SCHEMA, append_only=True)
    ids, delta = plain.net_change(rows, np.ones(3, dtype=np.int64))
    assert ids.tolist() == [0, 1, 2] and delta.tolist() == [1, 1, 1]
    with pytest.raises(RuntimeError, match="append-only"):
        plain.net_change(rows.slice(0, 1), np.array([-1]))


@pytest.mark.parametrize("append_only", [False, True])
def test_compact_keeps_values_aligned(append_only):
    side = JoinSide(SCHEMA, append_only=append_only)
    ids = side.row_ids(_batch(0, 10_000))
    side.add(ids, np.ones(len(ids), dtype=np.int64), ids % 7, 0.0)
    side.add(ids[:9_000], -np.ones(9_000, dtype=np.int64), ids[:9_000] % 7, 0.0)
    assert side.compact()
    live = side.live_ids()
    assert side.values(live).column("k").to_pylist() == list(range(9_000, 10_000))
    more = side.row_ids(_batch(10_000, 5))
    assert side.values(more).column("k").to_pylist() == list(range(10_000, 10_005))
