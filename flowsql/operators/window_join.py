"""Window join: INNER, LEFT, RIGHT and FULL OUTER joins of two windowed inputs on the same
windows (Flink's ``WindowJoinOperator``), emitted when the window closes.

Contract:
- Two append-only inputs (0 = left, 1 = right) whose rows carry their window's start and end
  (TIMESTAMP(3) columns ``left_window`` / ``right_window``: (start, end) names, made by a
  window table function or a window aggregate, with the same window on both sides). Rows match when their
  windows are equal, their join keys (``left_keys`` / ``right_keys``, same Arrow types) are
  equal and none is NULL, and the ``residual`` (over the output columns) is TRUE. Windows
  are equal when their ends are (both sides have the same window kind and sizes), so
  without join keys the window end is the key id; with keys, a key index over keys and
  window gives it.
- Rows wait in state until the watermark reaches ``window_end - 1``; then, per watermark
  advance, one output batch holds every closed window's pairs and, for an outer side, its
  rows without a match NULL-padded. Output is append-only (no ``$row_kind``): the left
  columns, then the right ones under the ``output`` names. The watermark is forwarded
  unchanged after that batch.
- A row whose window has already closed when it arrives is late: dropped and counted in
  ``late_records_dropped`` (as Flink's window join drops it).
- ``snapshot()``: tables ``left`` and ``right`` (the side's columns, ``$time`` = window end,
  ``$matched``, and the join keys as ``$k<i>``, the operator's ``state_keys``, so state
  rescales by key group) and ``meta`` (the watermark).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from flowsql.messages import MIN_WATERMARK, Watermark
from flowsql.operators.base import Collector, Operator
from flowsql.operators.interval_join import epoch_ms
from flowsql.operators.interval_state import TimedRows, forget_unused_keys
from flowsql.operators.join import assemble, key_ids
from flowsql.operators.join_parts import (
    Part,
    Residual,
    append_rows,
    emit_parts,
    keyed_snapshot,
    outer_sides,
    residual_mask,
    restored_watermark,
)
from flowsql.operators.join_state import expand
from flowsql.state.keyindex import KeyIndex

_END_ID = 1 << 62  # key id of a window without join keys: its end (ms) + this, never < 0


@dataclass(frozen=True)
class WindowJoinSpec:
    join_type: str
    left_keys: tuple[str, ...]
    right_keys: tuple[str, ...]
    left_window: tuple[str, str]  # (window_start, window_end) columns of the left input
    right_window: tuple[str, str]

    @property
    def outer(self) -> tuple[bool, bool]:
        return outer_sides(self.join_type)


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left index, right index) of every pair with equal key ids (-1 never matches)."""
    order = np.argsort(right, kind="stable")
    sorted_keys = right[order]
    lo = np.searchsorted(sorted_keys, left, "left")
    hi = np.where(left >= 0, np.searchsorted(sorted_keys, left, "right"), lo)
    owner, pos = expand(lo, hi)
    return owner, order[pos]


class WindowJoinOperator(Operator):
    def __init__(self, spec: WindowJoinSpec, left: pa.Schema, right: pa.Schema,
                 output: pa.Schema, *, residual: Residual | None = None) -> None:
        self.spec = spec
        self.schemas = (left, right)
        self.output = output
        self.residual = residual
        self.sides = (TimedRows(left), TimedRows(right))
        self.key_names = [f"$k{i}" for i in range(len(spec.left_keys))]
        self.keys = KeyIndex([*self.key_names, "$ws", "$we"])
        self.watermark = MIN_WATERMARK

    def _key_ids(self, table: pa.Table, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(key id over join keys + window, window end ms) of every row."""
        keys = (self.spec.left_keys, self.spec.right_keys)[index]
        start, end = (self.spec.left_window, self.spec.right_window)[index]
        ends, valid = epoch_ms(table.column(end))
        if not keys:  # equal windows end alike: the window end itself is the key id
            if table.column(start).null_count:
                valid &= table.column(start).is_valid().to_numpy(zero_copy_only=False)
            return np.where(valid, ends + _END_ID, -1), ends
        cols = [table.column(n) for n in (*keys, start, end)]
        return key_ids(self.keys, [*self.key_names, "$ws", "$we"], cols), ends

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        table = append_rows(batch, self.schemas[input_index])
        keys, ends = self._key_ids(table, input_index)
        late = ends - 1 <= self.watermark
        if late.any():
            self.ctx.metrics.late_records_dropped += int(late.sum())
            table, keys, ends = table.filter(pa.array(~late)), keys[~late], ends[~late]
        self.sides[input_index].append(table, keys, ends, np.zeros(len(keys), dtype=bool))

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        """Join and emit every window that closes (``window_end - 1 <= wm``), then free it."""
        if wm.timestamp <= self.watermark:
            return wm
        self.watermark = wm.timestamp
        closed = []
        for side in self.sides:
            done = side.time - 1 <= wm.timestamp
            keys = side.key[done]
            rows, _ = side.evict(done)
            closed.append((rows, keys))
        (lrows, lkeys), (rrows, rkeys) = closed
        if not lrows.num_rows and not rrows.num_rows:
            return wm
        li, ri = _pairs(lkeys, rkeys)
        left, right = lrows.take(pa.array(li, pa.int64())), rrows.take(pa.array(ri, pa.int64()))
        if self.residual is not None and len(li):
            pairs = assemble(self.schemas, self.output, left, right, len(li))
            ok = residual_mask(self.residual, pairs)
            li, ri = li[ok], ri[ok]
            left, right = left.filter(pa.array(ok)), right.filter(pa.array(ok))
        parts: list[Part] = [(left, right)]
        for index, (rows, _), hit in ((0, closed[0], li), (1, closed[1], ri)):
            if self.spec.outer[index] and rows.num_rows:
                alone = np.ones(rows.num_rows, dtype=bool)
                alone[hit] = False
                if alone.any():
                    lonely = rows.filter(pa.array(alone))
                    parts.append((lonely, None) if index == 0 else (None, lonely))
        emit_parts(self.schemas, self.output, parts, out, self.ctx)
        forget_unused_keys(self.keys, self.sides)
        return wm

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.key_names)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return keyed_snapshot([("left", self.sides[0].table(), self.spec.left_keys),
                               ("right", self.sides[1].table(), self.spec.right_keys)],
                              self.key_names, self.watermark)

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.watermark = restored_watermark(state, self.watermark)
        for index, name in enumerate(("left", "right")):
            table = state.get(name)
            if table is None or not table.num_rows:
                continue
            keys, _ = self._key_ids(table, index)
            self.sides[index].restore(table, keys)
