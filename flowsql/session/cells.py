"""Flink's text of a value — what ``CAST(x AS STRING)`` prints — a column at a time.

Contract: :func:`text_array` gives the text of every value of an Arrow column as a string
array without nulls (a NULL is ``NULL``): timestamps as ``2024-01-01 12:00:00.000`` with as
many fraction digits as the column's unit, TIMESTAMP_LTZ in the given time zone, booleans as
``TRUE``/``FALSE``, bytes as ``x'0a1b'``, ARRAY ``[1, 2]``, ROW ``(1, a)``, MAP ``{k=v}``.
Computed with ``pyarrow.compute``; only nested and binary values are formatted one by one.
The faces share it: the shell draws it in tables, the gateway sends it as Flink's
``PLAIN_TEXT`` row format.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

NULL = "NULL"


def _nested_text(value: Any) -> str:
    """Flink's text for nested values: ARRAY [1, 2], ROW (1, a), MAP {k=v}."""
    if value is None:
        return NULL
    if isinstance(value, dict):
        return "(" + ", ".join(_nested_text(v) for v in value.values()) + ")"
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):  # a map
            return "{" + ", ".join(f"{_nested_text(k)}={_nested_text(v)}" for k, v in value) + "}"
        return "[" + ", ".join(_nested_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, bytes):
        return "x'" + value.hex() + "'"
    return str(value)


def column_text(column: pa.Array | pa.ChunkedArray, time_zone: str = "UTC") -> list[str]:
    """The display text of every value of one column."""
    return text_array(column, time_zone).to_pylist()


def text_array(column: pa.Array | pa.ChunkedArray, time_zone: str = "UTC") -> pa.Array:
    """The display text of every value of one column, as a string array without nulls."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    typ = column.type
    if pa.types.is_dictionary(typ):
        column = column.dictionary_decode()
        typ = column.type
    if pa.types.is_timestamp(typ):
        if typ.tz is not None:
            column = pc.cast(column, pa.timestamp(typ.unit, tz=time_zone or "UTC"))
        text = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
    elif pa.types.is_boolean(typ):
        text = pc.if_else(column, "TRUE", "FALSE")
    elif pa.types.is_null(typ):
        return pa.array([NULL] * len(column), pa.string())
    elif (
        pa.types.is_nested(typ)
        or pa.types.is_binary(typ)
        or pa.types.is_large_binary(typ)
        or pa.types.is_fixed_size_binary(typ)
        or pa.types.is_binary_view(typ)
    ):
        return pa.array([_nested_text(v) for v in column.to_pylist()], pa.string())
    else:
        try:
            text = pc.cast(column, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return pa.array(
                [NULL if v is None else str(v) for v in column.to_pylist()], pa.string()
            )
    return pc.fill_null(text, NULL)
