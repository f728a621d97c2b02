"""The C scanner of flat JSON records (``connectors/formats/native/_jsonscan.c``), wrapped:
records in, Arrow columns out, or None when the scanner does not take the records.

Contract: :func:`scan_values` (an array of records, Arrow binary/string layout, read through
its own offsets) and :func:`scan_joined` (records joined by single newlines) read each record
as one JSON object into columns of the fast types (int8..int64, float32/64, bool, string):
a missing field or JSON null is NULL, other fields are validated and skipped. They return
None, not a guess, for any batch holding a record that the Arrow reader path of
:func:`connectors.formats.json_format.decode_joined_json` might convert differently or
refuse (the C file's header lists the cases: invalid JSON or UTF-8, a non-object or blank
record, a newline in a record, a duplicate wanted key, a value of the wrong JSON type for its
column, an integer out of range, a float overflowing, underflowing or subnormal, NaN, \\u0000,
escaped keys …); the caller then takes that path. None too when the module is not built
(optional, ``setup.py``) or ``FLOWSQL_JSON_NATIVE=0`` (the A/B switch).

Why hand-written: Arrow's JSON reader (explicit schema) costs 1.1-1.7 us of CPU per bid record
(~126 bytes, 6 fields) on the 2-core development machine, and the fast path around it (UTF-8
cast, newline join, conform) 1.3-1.9 us (polars measured 1.0, DuckDB's json_transform 0.8);
those readers build a generic parse of every value before converting it. This scanner
converts in the one pass that validates, straight into the column buffers, with the GIL
released: 0.16-0.34 us per record for the same records through ``decode_json_values`` or
the scanner alone (``taskset -c 1 .venv/bin/python bench/json_scan.py``, 10 K and 100 K
records, best of 9; the spread is the shared machine's load), 5-8x less than Arrow's path.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pyarrow as pa

try:
    _native: ModuleType | None = importlib.import_module("connectors.formats.native._jsonscan")
except ImportError:  # not built: the callers use Arrow's reader
    _native = None


def _kind(t: pa.DataType) -> int | None:
    assert _native is not None
    return {pa.int8(): _native.INT8, pa.int16(): _native.INT16, pa.int32(): _native.INT32,
            pa.int64(): _native.INT64, pa.float32(): _native.FLOAT32,
            pa.float64(): _native.FLOAT64, pa.bool_(): _native.BOOL,
            pa.string(): _native.STRING}.get(t)


def available() -> bool:
    """Whether the scanner is built and switched on."""
    return _native is not None and os.environ.get("FLOWSQL_JSON_NATIVE", "1") != "0"


def _fields(schema: pa.Schema) -> list[tuple[bytes, int]] | None:
    fields = []
    for field in schema:
        kind = _kind(field.type)
        if kind is None:
            return None
        fields.append((field.name.encode(), kind))
    return fields


def _table(result: list | None, n: int, schema: pa.Schema) -> pa.Table | None:
    if result is None:
        return None
    arrays = []
    for field, (nulls, valid, values, data) in zip(schema, result, strict=True):
        buffers = [None if valid is None else pa.py_buffer(valid), pa.py_buffer(values)]
        if data is not None:
            buffers.append(pa.py_buffer(data))
        arrays.append(pa.Array.from_buffers(field.type, n, buffers, null_count=nulls))
    return pa.Table.from_arrays(arrays, schema=schema)


def scan_values(values: pa.Array, schema: pa.Schema) -> pa.Table | None:
    """One JSON object per element of ``values`` (binary, large_binary, string or
    large_string; no NULLs) into ``schema`` (fast types only), or None (module docstring)."""
    fields = _fields(schema) if available() else None
    if fields is None or values.null_count or not len(values):
        return None
    t = values.type
    if pa.types.is_binary(t) or pa.types.is_string(t):
        width = 4
    elif pa.types.is_large_binary(t) or pa.types.is_large_string(t):
        width = 8
    else:
        return None
    _, offsets, data = values.buffers()
    if data is None:  # all records empty
        return None
    result = _native.scan(data, offsets, width, values.offset, len(values), fields)
    return _table(result, len(values), schema)


def scan_joined(data: bytes | pa.Buffer, n: int, schema: pa.Schema) -> pa.Table | None:
    """``n`` JSON objects joined by single newlines (one more may end the last) into
    ``schema`` (fast types only), or None (module docstring)."""
    fields = _fields(schema) if available() else None
    if fields is None or n <= 0:
        return None
    return _table(_native.scan(data, None, 0, 0, n, fields), n, schema)

