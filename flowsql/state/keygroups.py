"""Key groups: the unit in which keyed state is partitioned, shipped and rescaled.

Contract:
- :func:`key_groups` maps every row of a batch to a key group in ``[0, max_parallelism)``
  from its key columns, vectorized (numpy over the Arrow buffers), deterministic across
  processes, platforms and runs — Python's ``hash()`` is salted per process, so it is never
  used. NULL keys hash to a fixed value; ``-0.0`` and ``0.0`` hash alike.
- A subtask owns the half-open range :func:`key_group_range` (Flink's assignment, the same as
  ``OperatorContext.key_group_range``); :func:`subtask_for_key_group` is its inverse, used by
  hash exchanges to route rows.

Hand-written because pyarrow exposes no stable hash kernel to Python: integers, temporals
and floats hash their 64-bit pattern, strings and binaries a polynomial over their bytes,
everything goes through the splitmix64 finalizer; other types hash their string form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MAX_PARALLELISM = 128  # the same as flowsql.operators.base.MAX_PARALLELISM

_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
_POLY = np.uint64(0x100000001B3)


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer (wrapping uint64 arithmetic): every input bit reaches every output bit."""
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _bytes_hash(arr: pa.Array) -> np.ndarray:
    """Polynomial hash of each string/binary value, from the offsets and data buffers."""
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        off_t = np.int64
    else:
        arr = arr.cast(pa.binary()) if pa.types.is_string(arr.type) else arr
        off_t = np.int32
    bufs = arr.buffers()
    n = len(arr)
    offsets = np.frombuffer(bufs[1], dtype=off_t)[arr.offset : arr.offset + n + 1].astype(np.int64)
    lengths = np.diff(offsets)
    h = np.zeros(n, dtype=np.uint64)
    total = int(offsets[-1] - offsets[0]) if n else 0
    if total:
        data = np.frombuffer(bufs[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        pos = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1] - offsets[0], lengths)
        powers = np.cumprod(np.full(int(lengths.max()), _POLY, dtype=np.uint64))
        contrib = (data.astype(np.uint64) + np.uint64(1)) * powers[pos]
        nonempty = np.flatnonzero(lengths > 0)
        h[nonempty] = np.add.reduceat(contrib, (offsets[:-1] - offsets[0])[nonempty])
    return h + lengths.astype(np.uint64)


def bytes_hash(arr: pa.Array) -> np.ndarray:
    """Unmixed polynomial hash of each string/binary value (uint64; NULL slots undefined)."""
    return _bytes_hash(arr)


def _column_hash(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.cast(t.value_type)
        t = arr.type
    if pa.types.is_null(t):
        return np.full(len(arr), _NULL_HASH, dtype=np.uint64)
    if pa.types.is_floating(t):
        f = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False) + 0.0
        h = f.view(np.uint64).copy()
    elif pa.types.is_boolean(t) or pa.types.is_integer(t):
        h = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).view(np.uint64)
    elif pa.types.is_temporal(t):
        width = t.bit_width
        ints = arr.view(pa.int64() if width == 64 else pa.int32())
        h = pc.fill_null(ints.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).view(np.uint64)
    elif pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) or (
        pa.types.is_large_binary(t)
    ):
        h = _bytes_hash(arr)
    else:
        h = _bytes_hash(arr.cast(pa.string()))
    h = mix64(h)
    if arr.null_count:
        h = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL_HASH, h)
    return h


def key_hash(table: pa.Table | pa.RecordBatch, keys: Sequence[str]) -> np.ndarray:
    """A stable uint64 hash of each row's key tuple (all rows equal when ``keys`` is empty)."""
    h = np.zeros(table.num_rows, dtype=np.uint64)
    for k in keys:
        h = mix64(h * np.uint64(31) + _column_hash(table.column(k)))
    return h


def key_groups(
    table: pa.Table | pa.RecordBatch, keys: Sequence[str], max_parallelism: int = MAX_PARALLELISM
) -> np.ndarray:
    """Key group (int32 in ``[0, max_parallelism)``) of every row."""
    return (key_hash(table, keys) % np.uint64(max_parallelism)).astype(np.int32)


def key_group_range(
    subtask_index: int, parallelism: int, max_parallelism: int = MAX_PARALLELISM
) -> tuple[int, int]:
    """Half-open key-group range owned by a subtask (Flink's KeyGroupRangeAssignment)."""
    start = (subtask_index * max_parallelism + parallelism - 1) // parallelism
    end = ((subtask_index + 1) * max_parallelism + parallelism - 1) // parallelism
    return start, end


def subtask_for_key_group(
    key_group: np.ndarray | int, parallelism: int, max_parallelism: int = MAX_PARALLELISM
) -> np.ndarray | int:
    """The subtask that owns ``key_group`` (inverse of :func:`key_group_range`)."""
    return key_group * parallelism // max_parallelism


def filter_key_groups(
    table: pa.Table,
    keys: Sequence[str],
    key_group_range: tuple[int, int],
    max_parallelism: int = MAX_PARALLELISM,
) -> pa.Table:
    """Rows of ``table`` whose key group lies in ``key_group_range`` (rescaled restore)."""
    kg = key_groups(table, keys, max_parallelism)
    lo, hi = key_group_range
    return table.filter(pa.array((kg >= lo) & (kg < hi)))
