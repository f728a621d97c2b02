"""SESSION(gap) window aggregation, per key (or global when there is no key).

Contract:
- A row at ``ts`` opens the window ``[ts, ts + gap)``; windows of one key that intersect or
  touch (Flink's ``TimeWindow.intersects``: ``start <= other.end``) merge. So a session is
  ``[first ts, last ts + gap)``; it fires when the watermark reaches ``end - 1`` and emits
  ONE row: keys, window columns (``timestamp[ms]``; window_end = last ts + gap,
  window_time = window_end - 1), aggregates. All sessions fired by one watermark go out in
  one batch ordered by window_end, then keys.
- Late rows: after merging a batch into the open sessions, a session made only of new rows
  whose end has already passed the watermark (``end - 1 <= watermark``) is late — its rows
  are counted in ``ctx.metrics.late_records_dropped`` and emitted unchanged to ``late_out``.
  A row older than the watermark that falls into (or bridges) an open session is NOT late:
  it extends that session, as in Flink's merging window operator.
- Input must be append-only (a ``$row_kind`` column is refused).
- ``snapshot()``: ``sessions`` (keys, ``$start``, ``$end``, accumulator state) and ``meta``.

Steps of ``process_batch`` (vectorized; Python iterates over nothing per row):
  1. sort rows by (keys, ts); a new batch-session starts where the key changes or the gap
     to the previous row exceeds ``gap`` (numpy diff); 2. one partial aggregate per
     batch-session; 3. sort batch-sessions with the open sessions by (keys, start) and
     merge intervals that intersect (segmented running max of ends); 4. merge accumulators
     per merged session; 5. split off late sessions' rows; 6. keep the rest as open sessions.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError
from flowsql.operators.accumulators import SEQ, Accumulators, concat
from flowsql.operators.assigners import event_time_ms
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.late_data import split_late
from flowsql.operators.specs import WindowAggregateSpec
from flowsql.runtime.messages import MIN_WATERMARK, ROW_KIND, Watermark
from flowsql.state.backend import StateBackend
from flowsql.state.memory import MemoryStateBackend

START, END, TS, SID, GID, OLD = "$start", "$end", "$ts", "$sid", "$gid", "$old"


def key_changes(table: pa.Table, keys: list[str], n: int) -> np.ndarray:
    """``flags[i]`` is True when row i's key differs from row i-1's (NULL equals NULL);
    ``n`` is the row count (a table selected down to zero key columns has no rows)."""
    flags = np.zeros(n, dtype=bool)
    if n:
        flags[0] = True
    if n < 2:
        return flags
    for k in keys:
        col = table.column(k)
        a, b = col.slice(1), col.slice(0, n - 1)
        ne = pc.or_(pc.fill_null(pc.not_equal(a, b), False), pc.xor(pc.is_null(a), pc.is_null(b)))
        flags[1:] |= ne.to_numpy(zero_copy_only=False)
    return flags


def segmented_cummax(values: np.ndarray, new_segment: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting wherever ``new_segment`` is True."""
    if len(values) == 0:
        return values
    seg = np.cumsum(new_segment) - 1
    shifted = values - values.min()
    span = int(shifted.max()) + 1
    if int(seg[-1]) * span < 2**62:
        base = seg.astype(np.int64) * span
        return np.maximum.accumulate(base + shifted) - base + values.min()
    out = np.empty_like(values)  # huge key x time spans: per-segment (O(segments) calls)
    starts = np.flatnonzero(new_segment).tolist() + [len(values)]
    for s, e in zip(starts[:-1], starts[1:], strict=True):
        out[s:e] = np.maximum.accumulate(values[s:e])
    return out


class SessionWindowOperator(Operator):
    def __init__(
        self,
        spec: WindowAggregateSpec,
        *,
        late_out: Collector | None = None,
        state: StateBackend | None = None,
    ) -> None:
        if spec.window.kind != "SESSION":
            raise ValueError("SessionWindowOperator runs SESSION windows only")
        self.spec = spec
        self.keys = list(spec.keys)
        self.gap = int(spec.window.gap_ms)
        self.late_out = late_out
        self.accs = Accumulators(spec.aggs)
        if self.accs.distinct:
            raise NotSupportedError("DISTINCT aggregates in SESSION windows")
        self.state = state if state is not None else MemoryStateBackend()
        self.watermark = MIN_WATERMARK
        self.seq = 0

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        if ROW_KIND in batch.schema.names:
            raise NotSupportedError("SESSION window aggregation over an updating (changelog) input")
        keys, n = self.keys, batch.num_rows
        ts = event_time_ms(batch, self.spec.window.time_column)
        table = pa.Table.from_batches([batch]).append_column(TS, pa.array(ts))
        if self.accs.needs_seq:
            table = table.append_column(SEQ, pa.array(np.arange(self.seq, self.seq + n)))
        self.seq += n
        # 1. batch-sessions: sort by (keys, ts), split on key change or gap
        order = pc.sort_indices(
            table, sort_keys=[(k, "ascending") for k in keys] + [(TS, "ascending")]
        ).to_numpy()
        sorted_keys = table.select(keys).take(pa.array(order))
        ts_sorted = ts[order]
        new = key_changes(sorted_keys, keys, n)
        new[1:] |= np.diff(ts_sorted) > self.gap
        sid = np.empty(n, dtype=np.int64)
        sid[order] = np.cumsum(new) - 1
        table = table.append_column(SID, pa.array(sid))
        # 2. one partial per batch-session
        part = self.accs.partial(
            table, [*keys, SID], extra=[(TS, "min", START), (TS, "max", END)]
        )
        part = part.set_column(
            part.schema.get_field_index(END), END, pc.add(part.column(END), self.gap)
        )
        # 3. merge intervals with the open sessions
        part = part.append_column(OLD, pa.array(np.zeros(part.num_rows, dtype=np.int8)))
        open_ = self.state.get("sessions")
        if open_ is not None and open_.num_rows:
            old = open_.append_column(OLD, pa.array(np.ones(open_.num_rows, dtype=np.int8)))
            old = old.append_column(SID, pa.nulls(old.num_rows, pa.int64()))
            combined = concat([old, part])
        else:
            combined = part
        gid = self._merge_groups(combined)
        combined = combined.append_column(GID, pa.array(gid))
        # 4. merge accumulators per merged session
        merged = self.accs.merge(
            [combined], [*keys, GID], extra=[(START, "min"), (END, "max"), (OLD, "max")]
        )
        # 5. late: sessions made only of new rows that the watermark has passed
        if self.watermark > MIN_WATERMARK:
            late = pc.and_(
                pc.equal(merged.column(OLD), 0),
                pc.less_equal(pc.subtract(merged.column(END), 1), self.watermark),
            )
            if pc.any(late).as_py():
                late_gids = merged.column(GID).filter(late)
                late_sids = combined.column(SID).filter(pc.is_in(combined.column(GID), late_gids))
                late_rows = pc.is_in(table.column(SID), late_sids).to_numpy(zero_copy_only=False)
                split_late(batch, late_rows, self.ctx, self.late_out)
                merged = merged.filter(pc.invert(late))
        # 6. keep as open sessions
        self.state.put("sessions", merged.drop_columns([GID, OLD]))

    def _merge_groups(self, combined: pa.Table) -> np.ndarray:
        keys = self.keys
        order = pc.sort_indices(
            combined, sort_keys=[(k, "ascending") for k in keys] + [(START, "ascending")]
        ).to_numpy()
        starts = combined.column(START).to_numpy()[order]
        ends = combined.column(END).to_numpy()[order]
        seg = key_changes(combined.select(keys).take(pa.array(order)), keys, len(order))
        run_end = segmented_cummax(ends, seg)
        new = seg.copy()
        new[1:] |= starts[1:] > run_end[:-1]
        gid = np.empty(len(order), dtype=np.int64)
        gid[order] = np.cumsum(new) - 1
        return gid

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp <= self.watermark:
            return wm
        self.watermark = wm.timestamp
        sessions = self.state.get("sessions")
        if sessions is None or sessions.num_rows == 0:
            return wm
        ends = sessions.column(END).to_numpy()
        fire = ends - 1 <= self.watermark
        if fire.any():
            fired = sessions.filter(pa.array(fire)).sort_by(
                [(END, "ascending")] + [(k, "ascending") for k in self.keys] + [(START, "ascending")]
            )
            self.state.put("sessions", sessions.filter(pa.array(~fire)))
            result = self._output(fired)
            self.ctx.metrics.records_out += result.num_rows
            for b in result.to_batches():
                out.emit(b)
        return wm

    def _output(self, fired: pa.Table) -> pa.Table:
        cols: dict[str, pa.Array] = {k: fired.column(k) for k in self.keys}
        end = fired.column(END).to_numpy()
        window = {
            "window_start": fired.column(START).to_numpy(),
            "window_end": end,
            "window_time": end - 1,
        }
        for name in self.spec.window_columns:
            cols[name] = pa.array(window[name], type=pa.timestamp("ms"))
        for a, r in zip(self.spec.aggs, self.accs.results(fired), strict=True):
            cols[a.output] = r
        return pa.table(cols)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
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
