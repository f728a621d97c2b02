"""The C writer of JSON object rows (``connectors/formats/native/_jsonwrite.c``), wrapped: Arrow
columns in, one ``{"name":value,...}`` text per row out, or None when the writer does not take
the columns.

Contract: :func:`json_rows` ``(prefixes, arrays)`` returns a ``pa.BinaryArray`` whose row i is
``prefixes[0] + text(arrays[0][i]) + prefixes[1] + ... + prefixes[-1]``, where text is the one
the Arrow-kernel path of :func:`connectors.kafka.encode._json_concat` writes for the column's
Arrow type (see the C file's header): int8..int64, bool, decimal128 of precision 19..38 and
scale 1..6, tz-naive timestamp in s/ms/us, string; NULL as ``null``. None, not a guess, for any
other Arrow type, a string value needing JSON escaping, a timestamp outside years 1..9999, a
text over 2 GiB, or when the module is not built (optional, ``setup.py``) or
``FLOWSQL_JSON_NATIVE=0`` (the A/B switch it shares with the scanner); the caller then takes
the Arrow-kernel path. The arrays' Arrow buffers are read in place (offsets honoured).

Why hand-written: Arrow's string kernels (a cast per column, two rtrims for timestamps, one
element-wise join) cost 0.45-0.53 us of CPU per row for the Kafka benchmark's q1 output row
(BIGINT, BIGINT, DECIMAL(23,3), TIMESTAMP(3)) through ``encode``, each kernel materializing an
intermediate string array; no library formats Arrow rows as JSON text in one pass. This
writer formats every value straight into the output with the GIL released: 0.10-0.13 us per
row, 4-5x less (``taskset -c 1 .venv/bin/python bench/json_write.py``, 10 K and 40 K rows,
best of 9; the spread is the shared 2-core machine's load).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from types import ModuleType

import pyarrow as pa

try:
    _native: ModuleType | None = importlib.import_module("connectors.formats.native._jsonwrite")
except ImportError:  # not built: the callers use Arrow's kernels
    _native = None


def available() -> bool:
    """Whether the writer is built and switched on."""
    return _native is not None and os.environ.get("FLOWSQL_JSON_NATIVE", "1") != "0"


def _kind(t: pa.DataType) -> tuple[int, int] | None:
    """(kind, parameter) of an Arrow type the writer takes, else None."""
    assert _native is not None
    simple = {pa.int8(): _native.INT8, pa.int16(): _native.INT16, pa.int32(): _native.INT32,
              pa.int64(): _native.INT64, pa.bool_(): _native.BOOL, pa.string(): _native.STRING}
    if t in simple:
        return simple[t], 0
    if pa.types.is_decimal128(t) and 19 <= t.precision and 0 < t.scale <= 6:
        return _native.DECIMAL128, t.scale
    if pa.types.is_timestamp(t) and t.tz is None and t.unit != "ns":
        return _native.TIMESTAMP, {"s": 1, "ms": 1_000, "us": 1_000_000}[t.unit]
    return None


def json_rows(prefixes: Sequence[str], arrays: Sequence[pa.Array]) -> pa.BinaryArray | None:
    """One JSON text per row (module note); ``len(prefixes) == len(arrays) + 1``."""
    if not available() or not arrays:
        return None
    n = len(arrays[0])
    if n == 0:
        return pa.array([], pa.binary())
    specs = []
    for a in arrays:
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        kind = _kind(a.type)
        if kind is None or len(a) != n:
            return None
        bufs = a.buffers()
        if bufs[1] is None or (len(bufs) > 2 and bufs[2] is None):
            return None  # (Arrow allocates these for every non-empty array of these types)
        validity = bufs[0] if a.null_count else None
        data = bufs[2] if len(bufs) > 2 else None
        specs.append((kind[0], kind[1], a.offset, validity, bufs[1], data))
    out = _native.write(n, [p.encode() for p in prefixes], specs)
    if out is None:
        return None
    offsets, data, size = out
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)[:size]])
