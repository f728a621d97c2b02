"""Window Top-N and window deduplication (Flink's ``WindowRankOperator`` /
``WindowDeduplicate``), and the window table function that feeds them.

Contract:
- ``window-assign`` (:class:`WindowAssignOperator`, stateless): the rows of a TUMBLE / HOP /
  CUMULATE window TVF — every input row once per window containing it (vectorized with the
  slice assigners of :mod:`.assigners`), with ``window_start``, ``window_end`` and
  ``window_time`` (= end - 1 ms) appended as ``timestamp[ms]``. Append-only input only.
- ``window-rank`` (:class:`WindowRankOperator`): rows carrying a window end column (from
  ``window-assign`` or a window aggregation) are buffered until the watermark reaches
  ``window_end - 1``; then each fired partition (the :class:`~.rank.RankSpec` partition
  columns, which include the window columns) is ranked once (:func:`~.rank.row_numbers`,
  ties in arrival order, latest first with ``keep_last``) and the rows ranked in
  ``[rank_start, rank_end]`` are emitted, append-only (+I, no ``$row_kind``), with the row
  number when ``rank_column`` is set. A row whose window has already fired is late: it is
  counted in ``late_records_dropped`` and dropped.
- The buffer is pruned to the rows ranked ≤ ``rank_end`` of their partition whenever it has
  doubled since the last pruning (a row pushed below rank_end never comes back).
- ``snapshot()``: ``rows`` (the buffered rows and their arrival number ``$seq``) and
  ``meta`` (watermark, next arrival number); keyed by the partition columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from flowsql.messages import MIN_WATERMARK, ROW_KIND, Watermark
from flowsql.operators.assigners import assigner_for, event_time_ms
from flowsql.operators.base import Collector, Operator
from flowsql.operators.late_data import split_late
from flowsql.operators.rank import RankSpec, conform, nullable, row_numbers
from flowsql.operators.snapshots import clock_meta, read_clock_meta
from flowsql.operators.specs import WindowSpec
from flowsql.state.keyindex import KeyIndex

SEQ = "$seq"
_I64 = np.iinfo(np.int64)


class WindowAssignOperator(Operator):
    def __init__(self, window: WindowSpec) -> None:
        self.window = window
        self.assigner = assigner_for(window)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        if ROW_KIND in batch.schema.names:
            from flowsql.errors import NotSupportedError

            raise NotSupportedError("a window table function over an updating (changelog) input")
        ts = event_time_ms(batch, self.window.time_column)
        rows, ends = self.assigner.expand(self.assigner.slice_end(ts), _I64.min, _I64.max)
        picked = batch.take(pa.array(rows, pa.int64()))
        cols = {"window_start": self.assigner.window_start(ends), "window_end": ends,
                "window_time": ends - 1}
        for name, values in cols.items():
            picked = picked.append_column(name, pa.array(values, pa.int64()).cast(pa.timestamp("ms")))
        self.ctx.metrics.records_out += picked.num_rows
        out.emit(picked)


class WindowRankOperator(Operator):
    def __init__(self, spec: RankSpec, schema: pa.Schema, window_end: str) -> None:
        self.spec = spec
        self.schema = nullable(schema)
        self.window_end = window_end
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.pruned = 0  # buffer size after the last pruning
        self.seq = 0
        self.watermark = MIN_WATERMARK

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        late = event_time_ms(batch, self.window_end) - 1 <= self.watermark
        batch = split_late(batch, late, self.ctx, None)
        if batch.num_rows == 0:
            return
        table = conform(pa.Table.from_batches([batch]), self.schema)
        n = table.num_rows
        table = table.append_column(SEQ, pa.array(np.arange(self.seq, self.seq + n), pa.int64()))
        self.seq += n
        self.buffer.append(table)
        self.buffered += n
        if self.buffered > 2 * max(self.pruned, 1024):
            table = self._table()
            positions, rn = self._rank(table)
            self.buffer = [table.take(pa.array(np.sort(positions[rn <= self.spec.rank_end])))]
            self.buffered = self.pruned = self.buffer[0].num_rows

    def _table(self) -> pa.Table:
        if not self.buffer:
            return self.schema.append(pa.field(SEQ, pa.int64())).empty_table()
        return pa.concat_tables(self.buffer).combine_chunks()

    def _rank(self, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        keys = list(self.spec.partition_keys)
        groups = KeyIndex(keys).lookup(table.select(keys))
        seq = table.column(SEQ).to_numpy()
        return row_numbers(groups, table, self.spec.order, -seq if self.spec.keep_last else seq)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp <= self.watermark:
            return wm
        self.watermark = wm.timestamp
        if not self.buffered:
            return wm
        table = self._table()
        fired = event_time_ms(table, self.window_end) - 1 <= self.watermark
        if not fired.any():
            return wm
        done = table.filter(pa.array(fired))
        self.buffer = [table.filter(pa.array(~fired))]
        self.buffered = self.pruned = self.buffer[0].num_rows
        positions, rn = self._rank(done)
        keep = (rn >= self.spec.rank_start) & (rn <= self.spec.rank_end)
        result = done.take(pa.array(positions[keep])).select(self.schema.names)
        if self.spec.rank_column is not None:
            result = result.append_column(self.spec.rank_column, pa.array(rn[keep], pa.int64()))
        for b in result.combine_chunks().to_batches():
            self.ctx.metrics.records_out += b.num_rows
            out.emit(b)
        return wm

    @property
    def state_keys(self) -> list[str]:
        return list(self.spec.partition_keys)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return {"rows": self._table(),
                "meta": clock_meta(self.watermark, self.seq)}

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.watermark, self.seq = read_clock_meta(state, (self.watermark, self.seq))
        rows = state.get("rows")
        if rows is not None and rows.num_rows:
            self.buffer = [conform(rows, self._table().schema)]
            self.buffered = self.pruned = rows.num_rows


def build_window_assign(params: dict[str, Any], env: Any) -> WindowAssignOperator:
    """Registry builder of ``window-assign``: ``{"window": WindowSpec.to_dict()}``."""
    return WindowAssignOperator(WindowSpec.from_dict(params["window"]))


def build_window_rank(params: dict[str, Any], env: Any) -> WindowRankOperator:
    """Registry builder of ``window-rank``: ``{"spec": RankSpec.to_dict(), "input": [[name,
    type], ...], "window_end": column}``."""
    from flowsql.operators.calc import schema_from_columns

    schema = schema_from_columns([(n, t) for n, t in params["input"]])[0]
    return WindowRankOperator(RankSpec.from_dict(params["spec"]), schema, params["window_end"])
