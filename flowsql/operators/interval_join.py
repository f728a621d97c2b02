"""Event-time interval join: INNER, LEFT, RIGHT and FULL OUTER joins whose condition bounds
the left row's time against the right row's (Flink's ``RowTimeIntervalJoin``).

Contract:
- Two append-only inputs: ``input_index`` 0 is the left input, 1 the right. Rows match when
  their join keys (``left_keys`` / ``right_keys``, same Arrow types; none NULL; no keys at
  all: every row has the same key) are equal, ``right_time + lower_ms <= left_time <=
  right_time + upper_ms`` (event times in epoch ms; strict bounds are turned into inclusive
  ones by the planner) and the ``residual`` predicate (over the output columns; the planner
  puts the whole non-equi condition there, time bounds included) is TRUE.
- Output: append-only (no ``$row_kind``): the left columns, then the right ones (under the
  ``output`` names). Per input batch, one output batch of the batch's rows joined with the
  other side's state (a pair is emitted when its second row arrives). An outer side's row
  that never matched is emitted NULL-padded when the watermark passes the last time a match
  could arrive (it leaves the state then), or at once when its key or time is NULL.
- State: each side's rows (:class:`~.interval_state.TimedRows`). A left row at ``t`` can
  only match right rows up to ``t - lower_ms``, a right row at ``r`` left rows up to ``r +
  upper_ms``; rows arriving later have times above the watermark, so a left row leaves the
  state once ``t - lower_ms <= watermark`` and a right row once ``r + upper_ms <= watermark``.
- Watermark: forwarded held back by ``max(upper_ms, -lower_ms)`` (Flink's output delay), so
  every row the join emits — its two time columns stay time attributes — is behind no
  watermark it forwarded.
- ``snapshot()``: tables ``left`` and ``right`` (the side's columns, ``$time``,
  ``$matched`` and the key columns as ``$k<i>``, the operator's ``state_keys``, so state
  rescales by key group) and ``meta`` (the watermark).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import MAX_WATERMARK, MIN_WATERMARK, Watermark
from flowsql.operators.base import Collector, Operator
from flowsql.operators.interval_state import TimedRows, forget_unused_keys
from flowsql.operators.join import assemble, key_ids
from flowsql.operators.join_parts import (
    Part,
    Residual,
    append_rows,
    emit_parts,
    outer_sides,
    residual_mask,
    restored_watermark,
    watermark_meta,
)
from flowsql.state.keyindex import KeyIndex


@dataclass(frozen=True)
class IntervalJoinSpec:
    join_type: str
    left_keys: tuple[str, ...]
    right_keys: tuple[str, ...]
    left_time: str
    right_time: str
    lower_ms: int
    upper_ms: int

    @property
    def outer(self) -> tuple[bool, bool]:
        return outer_sides(self.join_type)

    @property
    def delay_ms(self) -> int:
        return max(self.upper_ms, -self.lower_ms, 0)


def epoch_ms(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(epoch milliseconds, valid) of a timestamp column."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_timestamp(col.type) and col.type.unit != "ms":
        col = pc.cast(col, pa.timestamp("ms", col.type.tz), safe=False)
    valid = col.is_valid().to_numpy(zero_copy_only=False) if col.null_count else np.ones(len(col), bool)
    ms = pc.fill_null(col.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return ms, valid


class IntervalJoinOperator(Operator):
    def __init__(self, spec: IntervalJoinSpec, left: pa.Schema, right: pa.Schema,
                 output: pa.Schema, *, residual: Residual | None = None) -> None:
        self.spec = spec
        self.schemas = (left, right)
        self.output = output
        self.residual = residual
        self.sides = (TimedRows(left), TimedRows(right))
        self.key_names = [f"$k{i}" for i in range(len(spec.left_keys))]
        self.keys = KeyIndex(self.key_names) if self.key_names else None
        self.watermark = MIN_WATERMARK

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        this, other = input_index, 1 - input_index
        spec = self.spec
        table = append_rows(batch, self.schemas[this])
        names = (spec.left_keys, spec.right_keys)[this]
        time, valid = epoch_ms(table.column((spec.left_time, spec.right_time)[this]))
        keys = key_ids(self.keys, self.key_names, [table.column(n) for n in names], valid)
        # 1. pairs with the other side's rows in the time range
        if this == 0:  # right.time in [t - upper, t - lower]
            lo, hi = time - spec.upper_ms, time - spec.lower_ms
        else:  # left.time in [r + lower, r + upper]
            lo, hi = time + spec.lower_ms, time + spec.upper_ms
        opp = self.sides[other]
        mine, theirs = opp.probe(keys, lo, hi)
        left, right = self._sides(this, table.take(pa.array(mine, pa.int64())), opp.rows(theirs))
        if self.residual is not None and len(mine):
            batch_out = assemble(self.schemas, self.output, left, right, len(mine))
            ok = residual_mask(self.residual, batch_out)
            mine, theirs = mine[ok], theirs[ok]
            keep = pa.array(ok)
            left, right = left.filter(keep), right.filter(keep)
        parts = [(left, right)]
        # 2. matched flags; the other side's rows keep theirs until they leave the state
        matched = np.zeros(table.num_rows, dtype=bool)
        matched[mine] = True
        opp.matched[theirs] = True
        # 3. rows that can never match: NULL-padded at once (outer side), else dropped
        never = keys < 0
        if spec.outer[this] and never.any():
            alone = table.filter(pa.array(never))
            parts.append(self._sides(this, alone, None))
        # 4. the other rows enter this side's state
        stored = ~never
        self.sides[this].append(table.filter(pa.array(stored)), keys[stored], time[stored],
                                matched[stored])
        self._emit(parts, out)

    @staticmethod
    def _sides(this: int, mine: pa.Table | None, theirs: pa.Table | None) -> tuple:
        return (mine, theirs) if this == 0 else (theirs, mine)

    def _emit(self, parts: list[Part], out: Collector) -> None:
        emit_parts(self.schemas, self.output, parts, out, self.ctx)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        """Evict the rows no later row can match (NULL-padding an outer side's unmatched
        ones), then forward the watermark held back by the output delay."""
        if wm.timestamp > self.watermark:
            self.watermark = wm.timestamp
            spec = self.spec
            parts: list[Part] = []
            for index, side in enumerate(self.sides):
                if not len(side):
                    continue
                reach = side.time - spec.lower_ms if index == 0 else side.time + spec.upper_ms
                gone, flags = side.evict(reach <= wm.timestamp)
                if spec.outer[index] and len(flags) and not flags.all():
                    parts.append(self._sides(index, gone.filter(pa.array(~flags)), None))
            self._emit(parts, out)
            forget_unused_keys(self.keys, self.sides)
        if wm.timestamp >= MAX_WATERMARK:  # end of input
            return wm
        return Watermark(max(wm.timestamp - self.spec.delay_ms, MIN_WATERMARK))

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.key_names)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        snap = {}
        for name, side in zip(("left", "right"), self.sides, strict=True):
            table = side.table()
            if self.keys is not None:
                keys = self.keys.keys(side.key)
                for k in self.key_names:
                    table = table.append_column(k, keys.column(k))
            snap[name] = table
        snap["meta"] = watermark_meta(self.watermark)
        return snap

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.watermark = restored_watermark(state, self.watermark)
        for name, side in zip(("left", "right"), self.sides, strict=True):
            table = state.get(name)
            if table is None or not table.num_rows:
                continue
            if self.keys is not None:
                keys = self.keys.lookup(table.select(self.key_names))
            else:
                keys = np.zeros(table.num_rows, dtype=np.int64)
            side.restore(table, keys)
