"""Two-phase (local → global) window aggregation for TUMBLE / HOP / CUMULATE.

Contract:
- :class:`LocalWindowAggregateOperator` runs chained after the source side, before the hash
  exchange: for every input batch it assigns each row its slice (vectorized, as the window
  operator does) and emits ONE partial-state row per (keys, slice) —
  :meth:`Accumulators.partial` over the batch — so the exchange ships partial states instead
  of raw rows. It holds no state and forwards watermarks unchanged.
- :class:`GlobalWindowAggregateOperator` is the keyed window operator fed with those partial
  states: it merges them into its slice state instead of aggregating raw rows; firing,
  eviction, snapshots are the window operator's own; the partials pending at a watermark
  advance that can fire a window (or at a snapshot) are merged into one table (one row per
  keys and slice) before they are folded in — also when they are one batch: a received
  batch may hold the partials of several local batches (the TaskManagers' channels coalesce
  small batches), hence several rows of one key and slice. A partial
  whose slice's last window has already fired is late: it is dropped and counted (one count
  per partial row).
- Used only for aggregates whose partial states merge exactly across subtasks (no DISTINCT,
  no FIRST_VALUE / LAST_VALUE, which depend on one global arrival order); the planner's
  ``two_phase_aggregate`` rule checks this.
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.errors import NotSupportedError
from flowsql.messages import MIN_WATERMARK, ROW_KIND
from flowsql.operators.accumulators import Accumulators
from flowsql.operators.assigners import assigner_for, event_time_ms
from flowsql.operators.base import Collector, Operator
from flowsql.operators.specs import WindowAggregateSpec
from flowsql.operators.window_aggregate import SLICE_END, WindowAggregateOperator

MERGEABLE = ("COUNT", "COUNT_STAR", "SUM", "MIN", "MAX", "AVG")


def two_phase_possible(spec: WindowAggregateSpec) -> bool:
    return spec.window.kind != "SESSION" and all(
        a.function in MERGEABLE and not a.distinct for a in spec.aggs
    )


class LocalWindowAggregateOperator(Operator):
    def __init__(self, spec: WindowAggregateSpec, input_schema: pa.Schema) -> None:
        if not two_phase_possible(spec):
            raise NotSupportedError("two-phase aggregation of DISTINCT / FIRST_VALUE / LAST_VALUE")
        self.spec = spec
        self.assigner = assigner_for(spec.window)
        self.accs = Accumulators(spec.aggs)
        self.accs.bind(input_schema)
        self.group = [*spec.keys, SLICE_END]

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        if ROW_KIND in batch.schema.names:
            raise NotSupportedError("window aggregation over an updating (changelog) input")
        slice_end = self.assigner.slice_end(event_time_ms(batch, self.spec.window.time_column))
        table = pa.Table.from_batches([batch]).append_column(SLICE_END, pa.array(slice_end))
        partial = self.accs.partial(table, self.group)
        for b in partial.combine_chunks().to_batches():
            out.emit(b)


class GlobalWindowAggregateOperator(WindowAggregateOperator):
    def __init__(self, spec: WindowAggregateSpec, input_schema: pa.Schema, **kwargs: object) -> None:
        super().__init__(spec, **kwargs)  # type: ignore[arg-type]
        self.accs.bind(input_schema)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch])
        if self.watermark > MIN_WATERMARK:
            slice_end = table.column(SLICE_END).to_numpy()
            late = self.assigner.last_window_end(slice_end) - 1 <= self.watermark
            if late.any():
                self.ctx.metrics.late_records_dropped += int(late.sum())
                table = table.filter(pa.array(~late))
                if table.num_rows == 0:
                    return
        self._pending.append(table)

    def _compact(self) -> None:
        # One merge (group by keys and slice) first, then one key lookup and one fold per
        # slice. Also for a single pending table: one received batch may carry several
        # partials of one key and slice (a coalescing Flight channel sends consecutive
        # partial batches of one local subtask as one batch), and the slice cells take one
        # row per key id (SliceCells.merge).
        if self._pending:
            self._pending = [self.accs.merge(self._pending, [*self.keys, SLICE_END])]
        super()._compact()
