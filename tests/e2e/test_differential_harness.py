"""The differential harness itself: the comparison catches differences and tolerates only
float rounding and type width; generated inputs are never late."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from harness import BOUND_S, DIFF_SETTINGS, MAX_ROWS, assert_same_rows, inputs, make_on_time
from hypothesis import given
from hypothesis import strategies as st

T0 = dt.datetime(2024, 1, 1)


def _t(rows: list[tuple], types: tuple = (pa.string(), pa.int64(), pa.float64(),
                                          pa.timestamp("ms"))) -> pa.Table:
    names = ["k", "n", "x", "ts"]
    return pa.table({n: pa.array([r[i] for r in rows], t)
                     for i, (n, t) in enumerate(zip(names, types, strict=True))})


BASE = [("a", 1, 0.1, T0), ("a", 1, 0.1, T0), (None, None, None, None), ("b", 2, 2.5, T0)]


def test_equal_in_any_order_with_float_noise_and_wider_types():
    other = list(reversed(BASE))
    other[0] = ("b", 2, 2.5 + 1e-12, T0)
    wide = _t(other, (pa.string(), pa.int32(), pa.float64(), pa.timestamp("ms", tz="UTC")))
    assert_same_rows(_t(BASE), wide)
    dec = pa.table({"x": pa.array([Decimal("0.100")], pa.decimal128(10, 3))})
    assert_same_rows(dec, pa.table({"x": [0.1]}))


@pytest.mark.parametrize("change", [
    lambda rows: rows[:-1],  # a missing row
    lambda rows: [*rows, rows[0]],  # one more duplicate
    lambda rows: [("a", 2, 0.1, T0), *rows[1:]],  # an integer differs
    lambda rows: [("a", 1, 0.1001, T0), *rows[1:]],  # a float differs beyond tolerance
    lambda rows: [("a", 1, 0.1, T0 + dt.timedelta(milliseconds=1)), *rows[1:]],  # a time
    lambda rows: [("a", 1, 0.1, T0), ("a", 1, 0.1, T0), (None, 0, None, None), rows[3]],
])
def test_differences_are_caught(change):
    with pytest.raises(AssertionError, match="differ"):
        assert_same_rows(_t(BASE), _t(change(list(BASE))))


def test_column_names_must_match():
    with pytest.raises(AssertionError, match="columns"):
        assert_same_rows(pa.table({"a": [1]}), pa.table({"b": [1]}))


@given(st.lists(st.integers(-50_000, 50_000), max_size=200))
def test_make_on_time_leaves_no_row_behind_the_watermark(times):
    ts = make_on_time(np.cumsum(np.asarray(times, np.int64)))
    for i in range(1, len(ts)):
        watermark = ts[:i].max() - BOUND_S * 1000 - 1  # after any prefix, at its highest
        assert ts[i] > watermark


@DIFF_SETTINGS
@given(data=inputs())
def test_inputs_are_on_time(data):
    ts = data.table.column("ts").cast(pa.int64()).to_numpy()
    assert data.table.num_rows <= MAX_ROWS + 5  # + the small inputs' duplicates
    assert (ts >= np.concatenate([[ts[0] if len(ts) else 0],
                                  np.maximum.accumulate(ts)[:-1] - BOUND_S * 1000 + 1])).all()
