"""Render Arrow rows as Flink's print-sink text: ``+I[1, foo, 2024-01-01 00:00:00.000]``.

Contract of :func:`render_lines`: one string per row, ``<prefix><kind>[v1, v2, ...]`` where
``kind`` is the row kind (``+I`` / ``-U`` / ``+U`` / ``-D`` from the :data:`ROW_KIND` column,
``+I`` without it; that column is not printed), NULL prints as :data:`NULL_TEXT`, booleans as
TRUE/FALSE, timestamps as ``yyyy-MM-dd HH:mm:ss.SSS`` (more digits for higher precision),
DOUBLE/FLOAT always with a decimal point. Scalar columns are rendered with pyarrow compute
kernels; only BYTES and nested (ARRAY / MAP / ROW) values fall back to per-row Python.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import ROW_KIND

NULL_TEXT = "NULL"
_KINDS = pa.array(["+I", "-U", "+U", "-D"])


def _python_text(value: object) -> str:
    if value is None:
        return NULL_TEXT
    if isinstance(value, bytes):
        return "x'" + value.hex() + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dict):
        return "(" + ", ".join(_python_text(v) for v in value.values()) + ")"
    if isinstance(value, list):
        if value and isinstance(value[0], tuple):  # map entries
            return "{" + ", ".join(f"{_python_text(k)}={_python_text(v)}" for k, v in value) + "}"
        return "[" + ", ".join(_python_text(v) for v in value) + "]"
    return str(value)


def column_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """String rendering of one column (NULL stays null; the caller substitutes NULL_TEXT)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_timestamp(t):
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
    if pa.types.is_boolean(t):
        return pc.if_else(col, pa.scalar("TRUE"), pa.scalar("FALSE"))
    if pa.types.is_floating(t):
        text = col.cast(pa.string())
        plain = pc.invert(pc.match_substring_regex(text, "[.eEnN]"))
        return pc.if_else(plain, pc.binary_join_element_wise(text, ".0", ""), text)
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    if (
        pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_date(t)
        or pa.types.is_time(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
    ):
        return col.cast(pa.string())
    # slow path: bytes and nested values
    return pa.array(
        [None if v is None else _python_text(v) for v in col.to_pylist()], pa.string()
    )


def render_lines(data: pa.RecordBatch | pa.Table, prefix: str = "") -> pa.Array:
    """One text line per row (see the module docstring)."""
    names = [n for n in data.schema.names if n != ROW_KIND]
    n = data.num_rows
    if ROW_KIND in data.schema.names:
        kinds = pc.take(_KINDS, data.column(ROW_KIND).cast(pa.int8()))
    else:
        kinds = pa.scalar("+I")
    texts = [column_text(data.column(name)) for name in names]
    if texts:
        body = pc.binary_join_element_wise(
            *texts, ", ", null_handling="replace", null_replacement=NULL_TEXT
        )
    else:
        body = pa.array([""] * n, pa.string())  # a table without columns: rare edge case
    return pc.binary_join_element_wise(pa.scalar(prefix), kinds, "[", body, "]", "")
