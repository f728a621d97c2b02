"""window_output.end_key_order: one argsort of a combined (end, key) code."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from flowsql.operators.window_output import end_key_order


@pytest.mark.parametrize("typ", [pa.int64(), pa.int16(), pa.uint32(), pa.timestamp("ms")])
def test_orders_unique_end_key_pairs_like_lexsort(typ):
    rng = np.random.default_rng(2)
    ends = rng.integers(0, 5, 400) * 1000 + 10_000
    keys = rng.permutation(4000)[:400] - 2000 * (not pa.types.is_unsigned_integer(typ))
    col = pa.chunked_array([pa.array(keys[:150]).cast(typ), pa.array(keys[150:]).cast(typ)])
    order = end_key_order(ends, col)
    assert order.tolist() == np.lexsort((keys, ends)).tolist()


def test_declines_what_it_cannot_code():
    ends = np.array([3, 1, 2])
    assert end_key_order(ends, pa.array([1, None, 3])) is None  # NULLs sort last elsewhere
    assert end_key_order(ends, pa.array(["b", "a", "c"])) is None
    assert end_key_order(ends, pa.array([1, 2, 3], pa.uint64())) is None
    assert end_key_order(ends, pa.array([-(2**62), 0, 2**62])) is None  # code would overflow
    assert end_key_order(np.empty(0, np.int64), pa.array([], pa.int64())).tolist() == []
