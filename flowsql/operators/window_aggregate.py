"""TUMBLE / HOP / CUMULATE window aggregation over slices (Flink's slicing window operator).

Contract:
- Input: append-only batches (a ``$row_kind`` column is refused: windows over an updating
  input are not supported yet) with the spec's time column (``timestamp[ms]`` or int64 ms).
- Output: when the watermark reaches ``window_end - 1``, ONE row per (key, window) with the
  key columns, the requested window columns (``timestamp[ms]``; window_time = end - 1) and
  the aggregates; the windows fired by one watermark go out ordered by window_end then
  keys, in one batch per step of at most ``_FIRE_CELLS`` (key, slice) cells (one step
  unless a watermark closes that many at once, e.g. the final one). Windows without rows
  emit nothing.
- Late rows (every window of the row has already fired) are counted in
  ``ctx.metrics.late_records_dropped`` and emitted unchanged to ``late_out`` when set.
- ``snapshot()`` returns tables ``slices`` (keys, ``$slice_end``, accumulator state),
  ``distinct.<i>`` (the distinct (keys, slice, value) sets) and ``meta`` (watermark, seq);
  ``restore()`` on a fresh, opened operator continues exactly as the snapshotted one.

State layout (a batch costs O(batch), whatever the number of keys): a :class:`KeyIndex`
gives every key a dense id; each live slice is a :class:`SliceCells` (key id → accumulator
cell, numpy columns). Firing touches only the slices of the fired windows; evicting a slice
drops it whole; the key index drops keys of evicted slices once they dominate.

Steps of ``process_batch``:
  1. slice_end per row (vectorized arithmetic); 2. split off late rows;
  3. one vectorized partial aggregate per (keys, slice_end); 4. key ids of the partial rows,
  then fold each slice's rows into its cells (``_pending`` partial tables — e.g. from
  :class:`GlobalWindowAggregateOperator` — are folded the same way, at the next watermark).
Steps of ``on_watermark`` (skipped, but for the new watermark, when no window can end in
the advanced range — window ends lie on a grid):
  1. fold pending partials; 2. pair the live slices with the windows ending in
  (previous watermark + 1, watermark + 1] (``SliceAssigner.expand``) and, for all those
  windows at once (per bounded step), take the cells of every (window, slice) pair into one table and merge it
  by (window_end, key id) with one group-by (skipped when no window spans several slices,
  e.g. TUMBLE); with DISTINCT aggregates, window by window instead; 3. emit the step's
  rows, sorted by window_end then keys; 4. evict slices whose last window has fired.
  The cost of a watermark step is a fixed number of Arrow/numpy calls plus O(fired cells),
  not a fixed cost per fired window.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError
from flowsql.messages import MIN_WATERMARK, ROW_KIND, Watermark
from flowsql.operators.acc_store import AccumulatorStore, as_array
from flowsql.operators.accumulators import SEQ, VALUE, Accumulators
from flowsql.operators.assigners import assigner_for
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.late_data import clamp_ms, on_time_slices
from flowsql.operators.slice_state import KID, SliceCells, merge_windows
from flowsql.operators.snapshots import seal, unseal
from flowsql.operators.specs import WindowAggregateSpec
from flowsql.operators.window_output import end_key_order, window_rows
from flowsql.state.backend import StateBackend
from flowsql.state.keyindex import KeyIndex
from flowsql.state.memory import MemoryStateBackend

SLICE_END = "$slice_end"
WINDOW_END = "$window_end"
_FIRE_CELLS = 1 << 20  # (key, slice) cells merged per firing step (see _fire_steps)
_SLACK = 4096  # dead key ids tolerated before compaction (besides as many as live cells)


def _concat(tables: list[pa.Table]) -> pa.Table:
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables,
                                                                promote_options="permissive")


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
        self.index = KeyIndex(self.keys)
        self.slices: dict[int, SliceCells] = {}
        self._pending: list[pa.Table] = []

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)

    # -- data --------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        if ROW_KIND in batch.schema.names:
            raise NotSupportedError("window aggregation over an updating (changelog) input")
        # 1-2. slice of every row; late rows (their last window has fired) split off
        batch, slice_end = on_time_slices(batch, self.assigner, self.spec.window.time_column,
                                          self.watermark, self.ctx, self.late_out)
        if batch.num_rows == 0:
            return
        # 3. partial aggregate per (keys, slice)
        table = pa.Table.from_batches([batch]).append_column(SLICE_END, pa.array(slice_end))
        if self.accs.needs_seq:
            seq = np.arange(self.seq, self.seq + table.num_rows, dtype=np.int64)
            table = table.append_column(SEQ, pa.array(seq))
        self.seq += table.num_rows
        group = [*self.keys, SLICE_END]
        # 4. fold into the slices
        self._ingest(self.accs.partial(table, group))
        for i in self.accs.distinct:
            values = self.accs.distinct_values(table, i, group)
            values = values.group_by([*group, VALUE], use_threads=False).aggregate([])
            for end, rows, _ in self._by_slice(values):
                self._slice(end).add_distinct(i, rows.drop_columns([SLICE_END]))

    def _slice(self, end: int) -> SliceCells:
        cells = self.slices.get(end)
        if cells is None:
            cells = self.slices[end] = SliceCells(self.accs, self.keys)
        return cells

    @staticmethod
    def _by_slice(table: pa.Table):
        """``(slice_end, rows of that slice)`` for every slice present in ``table``."""
        se = table.column(SLICE_END).to_numpy()
        if len(se) == 0:
            return
        if (se == se[0]).all():
            yield int(se[0]), table, None
            return
        order = np.argsort(se, kind="stable")
        ordered = table.take(pa.array(order))  # one take; each slice is a zero-copy slice of it
        bounds = np.flatnonzero(np.diff(se[order])) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(se)], strict=True):
            idx = order[lo:hi]
            yield int(se[idx[0]]), ordered.slice(lo, hi - lo), idx

    def _ingest(self, partial: pa.Table) -> None:
        """Fold partial rows (keys, ``$slice_end``, state) into the slice cells."""
        if partial.num_rows == 0:
            return
        kids = self.index.lookup(partial)
        for end, rows, idx in self._by_slice(partial):
            self._slice(end).merge(kids if idx is None else kids[idx], rows)

    def _compact(self) -> None:
        for part in self._pending:
            self._ingest(part)
        self._pending = []

    # -- time --------------------------------------------------------------------------
    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp <= self.watermark:
            return wm
        lo, hi = clamp_ms(self.watermark) + 1, clamp_ms(wm.timestamp) + 1
        if not self.assigner.ends_between(lo, hi):
            # no window ends in (lo, hi]: nothing fires and no slice expires; pending
            # partials are folded at the next advance that can fire
            self.watermark = wm.timestamp
            return wm
        # 1. fold pending partials
        self._compact()
        # 2.-3. fire every window ending in (lo, hi], in steps of bounded size
        for step_lo, step_hi in self._fire_steps(lo, hi):
            fired = self._fire(step_lo, step_hi)
            if fired is not None:
                self.ctx.metrics.records_out += fired.num_rows
                for b in fired.to_batches():
                    out.emit(b)
        self.watermark = wm.timestamp
        # 4. evict slices whose last window has fired
        ends = np.array(list(self.slices), dtype=np.int64)
        if len(ends):
            gone = ends[self.assigner.last_window_end(ends) - 1 <= self.watermark]
            for end in gone.tolist():
                del self.slices[end]
            if len(gone):
                self._drop_dead_keys()
        return wm

    def _drop_dead_keys(self) -> None:
        cells = sum(s.n for s in self.slices.values())
        if self.index.size <= 2 * cells + _SLACK:
            return
        alive = np.zeros(self.index.size, dtype=bool)
        for s in self.slices.values():
            alive[s.kids[: s.n]] = True
        remap = self.index.retain(alive)
        for s in self.slices.values():
            s.remap(remap)

    def _fire_steps(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """``(lo, hi]`` cut at window ends into steps of at most :data:`_FIRE_CELLS` cells
        (a step holds one window at least), oldest first: a watermark that closes many
        windows at once (the final one) merges and emits them a bounded part at a time,
        in the same order as one step would."""
        if not self.slices:
            return []
        ends = np.array(sorted(self.slices), dtype=np.int64)
        rows, wends = self.assigner.expand(ends, lo, hi)
        if len(rows) == 0:
            return []
        sizes = np.array([self.slices[e].n for e in ends.tolist()], dtype=np.int64)
        windows, inverse = np.unique(wends, return_inverse=True)
        cells = np.bincount(inverse.reshape(-1), weights=sizes[rows], minlength=len(windows))
        if cells.sum() <= _FIRE_CELLS:
            return [(lo, hi)]
        steps, start, acc, prev = [], lo, 0.0, lo
        for w, c in zip(windows.tolist(), cells.tolist(), strict=True):  # per window, not row
            if acc and acc + c > _FIRE_CELLS:
                steps.append((start, prev))
                start, acc = prev, 0.0
            acc += c
            prev = w
        steps.append((start, hi))
        return steps

    def _fire(self, lo: int, hi: int) -> pa.Table | None:
        ends = np.array(sorted(self.slices), dtype=np.int64)
        rows, wends = self.assigner.expand(ends, lo, hi)
        if len(rows) == 0:
            return None
        if self.accs.distinct:
            return self._fire_each(ends, rows, wends)
        # Every window of the step at once: the cells of each (window, member slice) pair,
        # ONE merge by (window, key id) when a window spans several slices (numpy reduceat
        # for numeric sum/min/max states, else one group-by), ONE sort by (window_end, keys),
        # ONE output build.
        if len(rows) == 1:  # one window of one slice (TUMBLE, mostly)
            cells = self.slices[int(ends[rows[0]])].table()
            we = np.full(cells.num_rows, wends[0], dtype=np.int64)
        else:
            used, pair_slice = np.unique(rows, return_inverse=True)
            members = [self.slices[int(e)] for e in ends[used].tolist()]
            merged = None
            if len(np.unique(wends)) < len(wends):  # windows of several slices (HOP, ...)
                merged = merge_windows(members, pair_slice.reshape(-1), wends)
            if merged is not None:
                we, kids, state = merged
                cells = state.add_column(0, KID, pa.array(kids))
            else:
                cells, we = self._pair_cells(members, pair_slice.reshape(-1), rows, wends)
        if cells.num_rows == 0:
            return None
        kids = as_array(cells.column(KID)).to_numpy()
        keys = self.index.keys(kids) if self.keys else None
        order = self._order(we, keys)
        if order is not None:
            cells, we = cells.take(pa.array(order)), we[order]
            keys = keys.take(pa.array(order)) if keys is not None else None
        cols = {k: keys.column(k) for k in self.keys} if keys is not None else {}
        return window_rows(cols, self.assigner.window_start(we), we, self.spec, self.accs, cells)

    def _pair_cells(self, members: list[SliceCells], pair_slice: np.ndarray, rows: np.ndarray,
                    wends: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        """Cells of every (window, member slice) pair in one table, merged by (window_end,
        key id) with ``Accumulators.merge`` when a window spans several slices."""
        parts = [m.table() for m in members]
        sizes = np.array([t.num_rows for t in parts], dtype=np.int64)
        cells = _concat(parts)
        counts = sizes[pair_slice]
        we = np.repeat(wends, counts)
        if len(members) < len(rows) or (np.diff(rows) <= 0).any():
            # a slice in several windows: repeat its cells, in pair order
            starts = np.cumsum(sizes) - sizes
            pair_starts = np.cumsum(counts) - counts
            idx = np.repeat(starts[pair_slice] - pair_starts, counts) + np.arange(
                len(we), dtype=np.int64)
            cells = cells.take(pa.array(idx))
        if len(np.unique(wends)) < len(wends):  # a window of several slices: merge
            cells = self.accs.merge([cells.append_column(WINDOW_END, pa.array(we))],
                                    [WINDOW_END, KID])
            we = cells.column(WINDOW_END).to_numpy()
        return cells, we

    def _order(self, we: np.ndarray, keys: pa.Table | None) -> np.ndarray | None:
        """Row order of the fired rows: by window_end, then keys (nulls last); None when the
        rows are in that order already."""
        if keys is not None:
            col = keys.column(0)
            order = end_key_order(we, col) if len(self.keys) == 1 else None
            if order is None and len(self.keys) == 1 and col.null_count == 0 and (
                pa.types.is_integer(col.type) or pa.types.is_temporal(col.type)
            ):
                order = np.lexsort((as_array(col).to_numpy(zero_copy_only=False), we))
            elif order is None:
                t = keys.append_column(WINDOW_END, pa.array(we))
                order = pc.sort_indices(
                    t, sort_keys=[(WINDOW_END, "ascending"),
                                  *((k, "ascending") for k in self.keys)]).to_numpy()
        else:
            order = np.argsort(we, kind="stable")
        return None if (np.diff(order) == 1).all() else order

    def _fire_each(self, ends: np.ndarray, rows: np.ndarray, wends: np.ndarray) -> pa.Table:
        """Window by window (DISTINCT aggregates: each window merges its value sets)."""
        out = []
        for we in np.unique(wends).tolist():
            members = [self.slices[int(e)] for e in ends[rows[wends == we]]]
            t = self._window(members)
            t = t.take(pa.array(self._key_order(t)))
            out.append(self._output(t, we))
        return _concat(out)

    def _window(self, members: list[SliceCells]) -> pa.Table:
        """``$kid`` + merged accumulator state of one window made of ``members`` slices."""
        if len(members) == 1 and not self.accs.distinct:
            return members[0].table()  # TUMBLE: a slice is a window, nothing to merge
        # the window's key ids, sorted, and a dense kid → local slot map
        seen = np.zeros(self.index.size, dtype=bool)
        for s in members:
            seen[s.kids[: s.n]] = True
        kids = np.flatnonzero(seen)
        local = np.zeros(self.index.size, dtype=np.int64)
        local[kids] = np.arange(len(kids))
        acc = AccumulatorStore(self.accs)
        acc.resize(len(kids))
        for s in members:
            acc.merge(local[s.kids[: s.n]], s.store.table(np.arange(s.n)))
        for i in self.accs.distinct:
            values = [d for s in members if (d := s.distinct_values(i)) is not None]
            if not values:
                continue
            d = _concat(values)
            if len(values) > 1:
                d = d.group_by([*self.keys, VALUE], use_threads=False).aggregate([])
            part = self.accs.distinct_partial(d, i, self.keys)
            acc.merge(local[self.index.lookup(part, insert=False)], part)
        return acc.table(np.arange(len(kids))).add_column(0, KID, pa.array(kids))

    def _key_order(self, t: pa.Table) -> np.ndarray:
        """Row order of one window's output: by keys, nulls last (key ids are unique)."""
        kids = t.column(KID).to_numpy()
        if not self.keys:
            return np.arange(len(kids))
        keys = self.index.keys(kids)
        col = keys.column(0)
        if len(self.keys) == 1 and col.null_count == 0 and (
            pa.types.is_integer(col.type) or pa.types.is_temporal(col.type)
        ):
            return np.argsort(as_array(col).to_numpy(zero_copy_only=False), kind="stable")
        return pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in self.keys]).to_numpy()

    def _output(self, merged: pa.Table, window_end: int) -> pa.Table:
        ends = np.full(merged.num_rows, window_end, dtype=np.int64)
        keys = self.index.keys(merged.column(KID).to_numpy())
        cols = {k: keys.column(k) for k in self.keys}
        return window_rows(cols, self.assigner.window_start(ends), ends, self.spec, self.accs, merged)

    # -- checkpoints -------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        """The key columns of every keyed state table (they rescale by key group)."""
        return list(self.keys)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        self._compact()
        slices = []
        distinct: dict[int, list[pa.Table]] = {i: [] for i in self.accs.distinct}
        for end in sorted(self.slices):
            s = self.slices[end]
            t = s.table()
            keys = self.index.keys(t.column(KID).to_numpy())
            t = t.drop_columns([KID])
            for k, col in zip(self.keys, keys.columns, strict=True):
                t = t.append_column(k, col)
            slices.append(t.append_column(SLICE_END, pa.array(np.full(t.num_rows, end))))
            for i in self.accs.distinct:
                d = s.distinct_values(i)
                if d is not None:
                    distinct[i].append(
                        d.append_column(SLICE_END, pa.array(np.full(d.num_rows, end))))
        if slices:
            self.state.put("slices", _concat(slices))
        else:
            self.state.delete("slices")
        for i, parts in distinct.items():
            if parts:
                self.state.put(f"distinct.{i}", _concat(parts))
            else:
                self.state.delete(f"distinct.{i}")
        return seal(self.state.snapshot(), self.accs, watermark=self.watermark, seq=self.seq)

    def restore(self, state: dict[str, pa.Table]) -> None:
        meta, state = unseal(state, self.accs)
        self.watermark = meta["watermark"]
        self.seq = meta["seq"]
        self.state.restore(state)
        self.index = KeyIndex(self.keys)
        self.slices = {}
        self._pending = []
        slices = self.state.get("slices")
        if slices is not None and slices.num_rows:
            self._ingest(slices)
        for i in self.accs.distinct:
            d = self.state.get(f"distinct.{i}")
            if d is not None and d.num_rows:
                for end, rows, _ in self._by_slice(d):
                    self._slice(end).add_distinct(i, rows.drop_columns([SLICE_END]))
