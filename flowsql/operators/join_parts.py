"""Pieces the time-bounded join operators share (:mod:`.interval_join`, :mod:`.window_join`,
and :mod:`.window_table` for its input): append-only input rows, the residual as a mask,
emitting (left, right) parts as one batch, and snapshots (key columns for rescaling, the
watermark in ``meta``); :mod:`.temporal_join` uses them too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import ROW_KIND
from flowsql.operators.base import Collector, OperatorContext
from flowsql.operators.join import assemble

Residual = Callable[[pa.RecordBatch], pa.Array]
Part = tuple[pa.Table | None, pa.Table | None]


def outer_sides(join_type: str) -> tuple[bool, bool]:
    """Whether the left / right rows without a match come out NULL-padded."""
    return join_type in ("LEFT", "FULL"), join_type in ("RIGHT", "FULL")


def append_rows(batch: pa.RecordBatch, schema: pa.Schema | None = None) -> pa.Table:
    """An append-only input batch as a table (a ``$row_kind`` column, all +I, dropped),
    with ``schema``'s columns when given."""
    table = pa.Table.from_batches([batch])
    if ROW_KIND in table.column_names:
        table = table.drop_columns([ROW_KIND])
    return table.select(schema.names) if schema is not None else table


def residual_mask(residual: Residual, batch: pa.RecordBatch) -> np.ndarray:
    """Where the residual predicate is TRUE (NULL counts as FALSE)."""
    return pc.fill_null(residual(batch), False).to_numpy(zero_copy_only=False).astype(bool)


def emit_parts(schemas: tuple[pa.Schema, pa.Schema], output: pa.Schema, parts: list[Part],
               out: Collector, ctx: OperatorContext) -> None:
    """Every (left, right) part (``None``: NULL-padded) as output rows, in one batch."""
    batches = []
    for left, right in parts:
        n = (left if left is not None else right).num_rows  # type: ignore[union-attr]
        if n:
            batches.append(assemble(schemas, output, left, right, n))
    if not batches:
        return
    for b in pa.Table.from_batches(batches).combine_chunks().to_batches():
        ctx.metrics.records_out += b.num_rows
        out.emit(b)


def keyed_snapshot(sides: list[tuple[str, pa.Table, tuple[str, ...]]], key_names: list[str],
                   watermark: int) -> dict[str, pa.Table]:
    """A two-input operator's snapshot: each ``(name, state table, key columns)`` side's table
    with its key columns copied as ``key_names`` (the operator's ``state_keys``, so the state
    rescales by key group), and ``meta`` (the watermark)."""
    snap = {}
    for name, table, keys in sides:
        for k, column in zip(key_names, keys, strict=True):
            table = table.append_column(k, table.column(column))
        snap[name] = table
    snap["meta"] = watermark_meta(watermark)
    return snap


def watermark_meta(watermark: int) -> pa.Table:
    return pa.table({"watermark": pa.array([watermark], pa.int64())})


def restored_watermark(state: dict[str, pa.Table], default: int) -> int:
    meta = state.get("meta")
    if meta is None or not meta.num_rows:
        return default
    return int(meta.column("watermark")[0].as_py())
