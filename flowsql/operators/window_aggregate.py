"""TUMBLE / HOP / CUMULATE window aggregation over slices (Flink's slicing window operator).

Contract:
- Input: append-only batches (a ``$row_kind`` column is refused: windows over an updating
  input are not supported yet) with the spec's time column (``timestamp[ms]`` or int64 ms).
- Output: when the watermark reaches ``window_end - 1``, ONE row per (key, window) with the
  key columns, the requested window columns (``timestamp[ms]``; window_time = end - 1) and
  the aggregates; every window fired by one watermark goes out in one batch, ordered by
  window_end then keys. Windows without rows emit nothing.
- Late rows (every window of the row has already fired) are counted in
  ``ctx.metrics.late_records_dropped`` and emitted unchanged to ``late_out`` when set.
- ``snapshot()`` returns tables ``slices`` (keys, ``$slice_end``, accumulator state),
  ``distinct.<i>`` (the distinct (keys, slice, value) sets) and ``meta`` (watermark, seq);
  ``restore()`` on a fresh, opened operator continues exactly as the snapshotted one.

Steps of ``process_batch``:
  1. slice_end per row (vectorized arithmetic); 2. split off late rows;
  3. one vectorized partial aggregate per (keys, slice_end) appended to a pending list
     (merged into the slice state lazily, once per watermark).
Steps of ``on_watermark``:
  1. merge pending partials into the slice state; 2. expand the slices to the windows ending
  in (previous watermark + 1, watermark + 1] and merge per (keys, window_end);
  3. emit; 4. evict slices whose last window has fired.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.errors import NotSupportedError
from flowsql.operators.accumulators import SEQ, VALUE, Accumulators, concat
from flowsql.operators.assigners import assigner_for, event_time_ms
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.late_data import clamp_ms, split_late
from flowsql.operators.specs import WindowAggregateSpec
from flowsql.runtime.messages import MIN_WATERMARK, ROW_KIND, Watermark
from flowsql.state.backend import StateBackend
from flowsql.state.memory import MemoryStateBackend

SLICE_END = "$slice_end"
WINDOW_END = "$window_end"


class WindowAggregateOperator(Operator):
    def __init__(
        self,
        spec: WindowAggregateSpec,
        *,
        late_out: Collector | None = None,
        state: StateBackend | None = None,
    ) -> None:
        if spec.window.kind == "SESSION":
            raise ValueError("SESSION windows run in SessionWindowOperator")
        self.spec = spec
        self.keys = list(spec.keys)
        self.late_out = late_out
        self.assigner = assigner_for(spec.window)
        self.accs = Accumulators(spec.aggs)
        self.state = state if state is not None else MemoryStateBackend()
        self.watermark = MIN_WATERMARK
        self.seq = 0
        self._pending: list[pa.Table] = []
        self._pending_distinct: dict[int, list[pa.Table]] = {i: [] for i in self.accs.distinct}

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)

    # -- data --------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        if ROW_KIND in batch.schema.names:
            raise NotSupportedError("window aggregation over an updating (changelog) input")
        # 1. slice of every row
        ts = event_time_ms(batch, self.spec.window.time_column)
        slice_end = self.assigner.slice_end(ts)
        # 2. late rows: the last window containing the row has fired already
        if self.watermark > MIN_WATERMARK:
            late = self.assigner.last_window_end(slice_end) - 1 <= self.watermark
            if late.any():
                batch = split_late(batch, late, self.ctx, self.late_out)
                slice_end = slice_end[~late]
                if batch.num_rows == 0:
                    return
        # 3. partial aggregate per (keys, slice)
        table = pa.Table.from_batches([batch]).append_column(SLICE_END, pa.array(slice_end))
        if self.accs.needs_seq:
            seq = np.arange(self.seq, self.seq + table.num_rows, dtype=np.int64)
            table = table.append_column(SEQ, pa.array(seq))
        self.seq += table.num_rows
        group = [*self.keys, SLICE_END]
        self._pending.append(self.accs.partial(table, group))
        for i in self.accs.distinct:
            values = self.accs.distinct_values(table, i, group)
            self._pending_distinct[i].append(values.group_by([*group, VALUE]).aggregate([]))

    def _compact(self) -> None:
        group = [*self.keys, SLICE_END]
        if self._pending:
            old = self.state.get("slices")
            parts = ([old] if old is not None else []) + self._pending
            self.state.put("slices", self.accs.merge(parts, group))
            self._pending = []
        for i, pending in self._pending_distinct.items():
            if pending:
                old = self.state.get(f"distinct.{i}")
                parts = ([old] if old is not None else []) + pending
                merged = concat(parts).group_by([*group, VALUE]).aggregate([])
                self.state.put(f"distinct.{i}", merged)
                self._pending_distinct[i] = []

    # -- time --------------------------------------------------------------------------
    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp <= self.watermark:
            return wm
        lo, hi = clamp_ms(self.watermark) + 1, clamp_ms(wm.timestamp) + 1
        # 1. merge pending partials
        self._compact()
        slices = self.state.get("slices")
        if slices is not None and slices.num_rows:
            # 2.-3. fire every window ending in (lo, hi]
            fired = self._fire(slices, lo, hi)
            if fired is not None:
                self.ctx.metrics.records_out += fired.num_rows
                for b in fired.to_batches():
                    out.emit(b)
        self.watermark = wm.timestamp
        # 4. evict slices whose last window has fired
        for name in ["slices", *(f"distinct.{i}" for i in self.accs.distinct)]:
            t = self.state.get(name)
            if t is not None and t.num_rows:
                se = t.column(SLICE_END).to_numpy()
                keep = self.assigner.last_window_end(se) - 1 > self.watermark
                if not keep.all():
                    self.state.put(name, t.filter(pa.array(keep)))
        return wm

    def _fire(self, slices: pa.Table, lo: int, hi: int) -> pa.Table | None:
        keys = self.keys
        group = [*keys, WINDOW_END]
        se = slices.column(SLICE_END).to_numpy()
        rows, ends = self.assigner.expand(se, lo, hi)
        if len(rows) == 0:
            return None
        expanded = slices.take(pa.array(rows)).drop_columns([SLICE_END])
        expanded = expanded.append_column(WINDOW_END, pa.array(ends))
        parts = [expanded]
        for i in self.accs.distinct:
            dist = self.state.get(f"distinct.{i}")
            if dist is None or dist.num_rows == 0:
                continue
            drows, dends = self.assigner.expand(dist.column(SLICE_END).to_numpy(), lo, hi)
            if len(drows) == 0:
                continue
            d = dist.take(pa.array(drows)).drop_columns([SLICE_END])
            d = d.append_column(WINDOW_END, pa.array(dends))
            if not self.assigner.one_slice_per_window:
                d = d.group_by([*group, VALUE]).aggregate([])
            parts.append(self.accs.distinct_partial(d, i, group))
        if len(parts) == 1 and self.assigner.one_slice_per_window:
            merged = expanded  # TUMBLE: a slice is a window, nothing to merge
        else:
            merged = self.accs.merge(parts, group)
        # deterministic order: by window end, then keys (nulls last)
        merged = merged.sort_by([(WINDOW_END, "ascending")] + [(k, "ascending") for k in keys])
        return self._output(merged)

    def _output(self, merged: pa.Table) -> pa.Table:
        ends = merged.column(WINDOW_END).to_numpy()
        cols: dict[str, pa.Array] = {k: merged.column(k) for k in self.keys}
        window = {
            "window_start": self.assigner.window_start(ends),
            "window_end": ends,
            "window_time": ends - 1,
        }
        for name in self.spec.window_columns:
            cols[name] = pa.array(window[name], type=pa.timestamp("ms"))
        for a, r in zip(self.spec.aggs, self.accs.results(merged), strict=True):
            cols[a.output] = r
        return pa.table(cols)

    # -- checkpoints -------------------------------------------------------------------
    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        self._compact()
        snap = self.state.snapshot()
        snap["meta"] = pa.table({"watermark": [self.watermark], "seq": [self.seq]})
        if self.accs.input_schema is not None:
            snap["input_schema"] = self.accs.input_schema.empty_table()
        return snap

    def restore(self, state: dict[str, pa.Table]) -> None:
        state = dict(state)
        meta = state.pop("meta")
        schema = state.pop("input_schema", None)
        if schema is not None:
            self.accs.input_schema = schema.schema
        self.watermark = meta.column("watermark")[0].as_py()
        self.seq = meta.column("seq")[0].as_py()
        self.state.restore(state)
        self._pending = []
        self._pending_distinct = {i: [] for i in self.accs.distinct}
