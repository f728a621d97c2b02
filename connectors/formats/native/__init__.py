"""Compiled helpers of the formats (C extension modules built by ``setup.py``, optional: a
machine without a C compiler installs FlowSQL without them, and the callers fall back to their
pure-Python/Arrow paths)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa


def arrays(columns: Sequence[tuple], n: int, schema: pa.Schema) -> list[pa.Array]:
    """The scanners' (``_jsonscan``, ``_csvscan``) per-column results, ``(null_count,
    validity or None, values, string data or None)`` buffers of ``n`` rows, as Arrow arrays of
    ``schema``'s types, without a copy."""
    out = []
    for field, (nulls, valid, values, data) in zip(schema, columns, strict=True):
        buffers = [None if valid is None else pa.py_buffer(valid), pa.py_buffer(values)]
        if data is not None:
            buffers.append(pa.py_buffer(data))
        out.append(pa.Array.from_buffers(field.type, n, buffers, null_count=nulls))
    return out
