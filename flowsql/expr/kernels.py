"""Small vectorized building blocks shared by the expression modules.

Contract:
- A *value* is what an expression produces for one batch: a ``pa.Array``/``pa.ChunkedArray``
  of the batch's length, or a ``pa.Scalar`` standing for that value on every row.
- :func:`broadcast` turns a value into an array of a given length (``take`` of a one-element
  array, no Python loop); :func:`cast_or_bisect` applies a cast that may fail on a few rows
  and NULLs exactly those rows; :func:`numpy_binary` runs a numpy ufunc with SQL null
  propagation for the few operations Arrow has no kernel for (MOD on floats).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Value = pa.Array | pa.ChunkedArray | pa.Scalar


def broadcast(value: Value, length: int) -> pa.Array | pa.ChunkedArray:
    """``value`` as an array of ``length`` rows."""
    if not isinstance(value, pa.Scalar):
        return value
    if not value.is_valid:
        return pa.nulls(length, type=value.type)
    one = pa.array([value.as_py()], type=value.type) if not pa.types.is_null(value.type) \
        else pa.nulls(1)
    return one.take(pa.array(np.zeros(length, dtype=np.int32)))


def length_of(value: Value) -> int | None:
    return None if isinstance(value, pa.Scalar) else len(value)


def as_array(value: Value) -> pa.Array:
    """A single contiguous array (ChunkedArray combined)."""
    if isinstance(value, pa.ChunkedArray):
        return value.combine_chunks()
    return value


def cast_or_bisect(
    arr: pa.Array | pa.ChunkedArray, cast: Callable[[pa.Array], pa.Array], out_type: pa.DataType
) -> pa.Array:
    """Apply ``cast``; if it raises, split the input in halves until the failing rows are
    isolated and make them NULL. Callers pre-filter obviously bad values (regex checks) so
    this only handles rare cases (overflow, 2020-02-30) at logarithmic cost per bad row."""
    arr = as_array(arr)
    try:
        return as_array(cast(arr))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
        if len(arr) <= 1:
            return pa.nulls(len(arr), type=out_type)
        mid = len(arr) // 2
        left = cast_or_bisect(arr.slice(0, mid), cast, out_type)
        right = cast_or_bisect(arr.slice(mid), cast, out_type)
        return pa.concat_arrays([left, right.cast(left.type)])


def numpy_binary(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray], a: Value, b: Value, out_type: pa.DataType
) -> Value:
    """Apply a numpy ufunc element-wise with SQL NULL propagation."""
    if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
        if not (a.is_valid and b.is_valid):
            return pa.scalar(None, out_type)
        return pa.scalar(fn(np.asarray(a.as_py()), np.asarray(b.as_py())).item(), out_type)
    n = length_of(a) if length_of(a) is not None else length_of(b)
    assert n is not None
    a_arr, b_arr = as_array(broadcast(a, n)), as_array(broadcast(b, n))
    valid = pc.and_(pc.is_valid(a_arr), pc.is_valid(b_arr))
    fill = 1
    a_np = pc.fill_null(a_arr, fill).to_numpy(zero_copy_only=False)
    b_np = pc.fill_null(b_arr, fill).to_numpy(zero_copy_only=False)
    with np.errstate(all="ignore"):
        result = fn(a_np, b_np)
    mask = pc.invert(valid).to_numpy(zero_copy_only=False)
    return pa.array(result, type=out_type, mask=mask)


def first_true(mask: pa.Array | pa.ChunkedArray) -> int | None:
    """Index of the first TRUE in a boolean array (NULL counts as false), or None."""
    filled = pc.fill_null(mask, False)
    if not pc.any(filled).as_py():
        return None
    return int(pc.index(filled, True).as_py())
