"""Flink-style ASCII tables built a column at a time: the text of live results.

Contract:
- :class:`Layout` fixes the columns of a live result: their names (a changelog gets a leading
  ``op`` column), widths and alignment. :func:`layout_by_type` derives widths from the Arrow
  types alone, as Flink's tableau mode does (rows are printed as they arrive, so the header
  must be drawn before the values are known): TINYINT 4, SMALLINT 6, INT 11, BIGINT 20,
  DECIMAL(p, s) p + 2, BOOLEAN 5, DATE 10, TIME 8 (+ fraction), TIMESTAMP(p) 19 (+ p + 1),
  anything else ``max_width`` (30, Flink's ``sql-client.display.max-column-width``); never
  narrower than the column name or ``NULL``. :func:`layout_by_values` sizes the columns to
  the rows on screen instead (table and changelog views), capped at ``max_width``.
- Every column is right-aligned in tableau output (Flink's style); the on-screen views
  right-align numbers only, like the shell's other tables.
- :func:`row_lines` turns a batch into ``| v1 | v2 |`` lines with ``pyarrow.compute``:
  text that does not fit its column is cut and ends with ``...``. No Python loop per row
  (nested values excepted, see :func:`flowsql.shell.render.text_array`).
- :func:`border` / :func:`header` are the ``+----+`` and ``| name |`` lines.

Why hand-written: rich lays a table out only once it has every row; a live result needs the
header first and then line after line, so the layout is fixed up front here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import ROW_KIND
from flowsql.shell.render import NULL, text_array

MAX_COLUMN_WIDTH = 30
OP = "op"
ROW_KIND_LABELS = pa.array(["+I", "-U", "+U", "-D"])
_ELLIPSIS = "..."


@dataclass(frozen=True)
class Layout:
    names: tuple[str, ...]  # display names ("op" first for a changelog)
    widths: tuple[int, ...]
    right: tuple[bool, ...]  # right-aligned columns
    changelog: bool


def _type_width(typ: pa.DataType, max_width: int) -> int:
    if pa.types.is_int8(typ) or pa.types.is_uint8(typ):
        return 4
    if pa.types.is_int16(typ) or pa.types.is_uint16(typ):
        return 6
    if pa.types.is_int32(typ) or pa.types.is_uint32(typ):
        return 11
    if pa.types.is_int64(typ) or pa.types.is_uint64(typ):
        return 20
    if pa.types.is_decimal(typ):
        return typ.precision + 2
    if pa.types.is_boolean(typ):
        return 5
    if pa.types.is_date(typ):
        return 10
    if pa.types.is_time(typ) or pa.types.is_timestamp(typ):
        digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[typ.unit]
        base = 8 if pa.types.is_time(typ) else 19
        return base + (digits + 1 if digits else 0)
    return max_width


def _is_numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def layout_by_type(
    schema: pa.Schema, changelog: bool, *, max_width: int = MAX_COLUMN_WIDTH
) -> Layout:
    """Widths from the types (tableau mode: the header is printed before any row)."""
    fields = [f for f in schema if f.name != ROW_KIND]
    names = [OP] * changelog + [f.name for f in fields]
    widths = [2] * changelog + [
        max(len(f.name), len(NULL), _type_width(f.type, max_width)) for f in fields
    ]
    return Layout(tuple(names), tuple(widths), (True,) * len(names), changelog)


def _texts(data: pa.Table | pa.RecordBatch, layout: Layout, time_zone: str) -> list[pa.Array]:
    """The display text of every column of ``data`` in ``layout`` order."""
    texts: list[pa.Array] = []
    if layout.changelog:
        if ROW_KIND in data.schema.names:
            kinds = data.column(ROW_KIND)
            if isinstance(kinds, pa.ChunkedArray):
                kinds = kinds.combine_chunks() if kinds.num_chunks else pa.array([], pa.int8())
            texts.append(pc.fill_null(ROW_KIND_LABELS.take(kinds), "+I"))
        else:
            texts.append(pa.array(["+I"] * data.num_rows, pa.string()))
    for name in layout.names[int(layout.changelog):]:
        texts.append(text_array(data.column(name), time_zone))
    return texts


def layout_by_values(
    data: pa.Table,
    schema: pa.Schema,
    changelog: bool,
    *,
    time_zone: str = "UTC",
    max_width: int = MAX_COLUMN_WIDTH,
) -> tuple[Layout, list[pa.Array]]:
    """Widths fitted to ``data`` (the rows on screen); also returns their texts."""
    fields = [f for f in schema if f.name != ROW_KIND]
    names = tuple([OP] * changelog + [f.name for f in fields])
    right = tuple([False] * changelog + [_is_numeric(f.type) for f in fields])
    probe = Layout(names, (0,) * len(names), right, changelog)
    texts = _texts(data, probe, time_zone)
    widths = []
    for name, text in zip(names, texts, strict=True):
        longest = pc.max(pc.utf8_length(text)).as_py() if len(text) else 0
        widths.append(max(len(name), min(longest or 0, max_width)))
    return Layout(names, tuple(widths), right, changelog), texts


def border(layout: Layout) -> str:
    return "+" + "+".join("-" * (w + 2) for w in layout.widths) + "+"


def header(layout: Layout) -> str:
    cells = [
        (name.rjust(w) if r else name.ljust(w))[: max(w, 0)]
        for name, w, r in zip(layout.names, layout.widths, layout.right, strict=True)
    ]
    return "| " + " | ".join(cells) + " |"


def _fit(text: pa.Array, width: int, right: bool) -> pa.Array:
    """Cut to ``width`` (ending with '...') and pad to it."""
    if len(text) == 0:
        return text
    text = pc.replace_substring_regex(text, r"[\r\n\t]", " ")  # one line per row
    too_long = pc.greater(pc.utf8_length(text), width)
    if width > len(_ELLIPSIS):
        cut = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(text, 0, width - len(_ELLIPSIS)), _ELLIPSIS, ""
        )
    else:
        cut = pc.utf8_slice_codeunits(text, 0, width)
    fitted = pc.if_else(too_long, cut, text)
    pad = pc.utf8_lpad if right else pc.utf8_rpad
    return pad(fitted, width=width, padding=" ")


def row_lines(
    data: pa.Table | pa.RecordBatch,
    layout: Layout,
    *,
    time_zone: str = "UTC",
    texts: list[pa.Array] | None = None,
) -> list[str]:
    """One ``| ... |`` line per row of ``data`` (see module contract)."""
    if data.num_rows == 0:
        return []
    if texts is None:
        texts = _texts(data, layout, time_zone)
    cells = [
        _fit(text, w, r)
        for text, w, r in zip(texts, layout.widths, layout.right, strict=True)
    ]
    joined = pc.binary_join_element_wise(*cells, " | ") if len(cells) > 1 else cells[0]
    return pc.binary_join_element_wise("| ", joined, " |", "").to_pylist()
