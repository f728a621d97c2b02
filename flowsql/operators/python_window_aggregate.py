"""TUMBLE / HOP / CUMULATE windows with Python aggregate functions (``@udaf``).

Planned instead of :mod:`.window_aggregate` when a window aggregation calls a Python
aggregate function (operator kind ``python-window-aggregate``, same params; SESSION windows
are not supported yet). Same output: when the watermark reaches ``window_end - 1``, one row
per (key, window) with the key columns, the requested window columns and the aggregates;
windows without rows emit nothing; late rows (every window of the row has fired) are counted
in ``late_records_dropped`` and go to ``late_out`` when set.

Per batch: one slice per row (:mod:`.assigners`: a TUMBLE slice is its window; HOP and
CUMULATE windows are unions of slices), one vectorized ``group_by(keys, slice)`` and, per
(key, slice) group, the rows folded into that cell's accumulators
(:func:`.python_group_aggregate.fold`, the GROUP BY operator's code). When a window fires,
a key's result is its one slice's accumulators, or (HOP / CUMULATE) a fresh accumulator into
which the slices' ones are merged — so such windows need the function's ``merge``. Slices
whose last window has fired are dropped. ``snapshot()``: ``slices`` (keys, ``$slice_end``,
``$acc`` = pickled accumulators) and ``meta`` (the watermark).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pyarrow as pa

from flowsql.errors import NotSupportedError
from flowsql.messages import MIN_WATERMARK, ROW_KIND, Watermark
from flowsql.operators.accumulators import Accumulators
from flowsql.operators.assigners import assigner_for
from flowsql.operators.base import Collector, Operator
from flowsql.operators.late_data import clamp_ms, on_time_slices
from flowsql.operators.python_group_aggregate import (
    ACC,
    _runner,
    fold,
    group_rows,
    unsupported_beside_udaf,
)
from flowsql.operators.specs import WindowAggregateSpec
from flowsql.operators.window_output import window_type
from flowsql.udf.aggregate import UdafRunner

SLICE = "$slice_end"


class PythonWindowAggregateOperator(Operator):
    def __init__(self, spec: WindowAggregateSpec, *, late_out: Collector | None = None) -> None:
        problem = unsupported_beside_udaf(spec.aggs)
        if problem or spec.window.kind == "SESSION":
            raise NotSupportedError(problem or "Python aggregate functions in SESSION windows")
        self.spec = spec
        self.keys = list(spec.keys)
        self.aggs = spec.aggs
        self.assigner = assigner_for(spec.window)
        self.runners = [_runner(a) for a in spec.aggs]
        self.accs = Accumulators(spec.aggs)  # output types only
        self.late_out = late_out
        self.watermark = MIN_WATERMARK
        self.slices: dict[int, dict[tuple, list[Any]]] = {}  # slice end → key → accumulators
        self.key_types: list[pa.DataType] | None = None

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        if ROW_KIND in batch.schema.names:
            raise NotSupportedError("a window aggregation over an updating input")
        batch, ends = on_time_slices(batch, self.assigner, self.spec.window.time_column,
                                     self.watermark, self.ctx, self.late_out)
        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch]).append_column(SLICE, pa.array(ends))
        self.accs.bind(table.schema)
        if self.key_types is None:
            self.key_types = [table.schema.field(k).type for k in self.keys]
        for group, idx in group_rows(table, [*self.keys, SLICE]):
            key, end = group[:-1], group[-1]
            cells = self.slices.setdefault(end, {})
            accs = cells.get(key)
            if accs is None:
                accs = [r.create() for r in self.runners]
            cells[key] = fold(self.aggs, self.runners, accs, table, idx)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp <= self.watermark:
            return wm
        lo, hi = clamp_ms(self.watermark) + 1, clamp_ms(wm.timestamp) + 1
        if self.slices and self.assigner.ends_between(lo, hi):
            fired = self._fire(lo, hi)
            if fired is not None:
                self.ctx.metrics.records_out += fired.num_rows
                for b in fired.to_batches():
                    out.emit(b)
        self.watermark = wm.timestamp
        ends = np.array(list(self.slices), dtype=np.int64)
        if len(ends):
            for end in ends[self.assigner.last_window_end(ends) - 1 <= self.watermark].tolist():
                del self.slices[end]
        return wm

    def _fire(self, lo: int, hi: int) -> pa.Table | None:
        ends = np.array(sorted(self.slices), dtype=np.int64)
        rows, wends = self.assigner.expand(ends, lo, hi)
        if len(rows) == 0:
            return None
        out_rows: list[tuple[tuple, int, list[Any]]] = []
        for wend in sorted(set(wends.tolist())):
            slices = [self.slices[int(e)] for e in ends[rows[wends == wend]]]
            for key in sorted({k for s in slices for k in s}, key=repr):
                parts = [s[key] for s in slices if key in s]
                if len(parts) == 1:
                    accs = parts[0]
                else:
                    accs = [r.merge(r.create(), [p[i] for p in parts])
                            for i, r in enumerate(self.runners)]
                values = [r.value(a) for r, a in zip(self.runners, accs, strict=True)]
                out_rows.append((key, wend, values))
        return self._table(out_rows)

    def _table(self, rows: list[tuple[tuple, int, list[Any]]]) -> pa.Table:
        cols: dict[str, Any] = {}
        for j, k in enumerate(self.keys):
            cols[k] = pa.array([r[0][j] for r in rows], type=(self.key_types or [])[j])
        wend = np.array([r[1] for r in rows], dtype=np.int64)
        window = {"window_start": self.assigner.window_start(wend), "window_end": wend,
                  "window_time": wend - 1}
        for name in self.spec.window_columns:
            cols[name] = pa.array(window[name], type=window_type(self.spec))
        for i, a in enumerate(self.aggs):
            values = [r[2][i] for r in rows]
            runner = self.runners[i]
            cols[a.output] = runner.results(values) if isinstance(runner, UdafRunner) \
                else pa.array(values, type=self.accs.output_type(i))
        return pa.table(cols)

    # -- state -----------------------------------------------------------------------------
    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        cells = [(end, key, accs) for end, s in self.slices.items() for key, accs in s.items()]
        cols: dict[str, Any] = {}
        for j, k in enumerate(self.keys):
            typ = self.key_types[j] if self.key_types else pa.null()
            cols[k] = pa.array([c[1][j] for c in cells], type=typ)
        cols[SLICE] = pa.array([c[0] for c in cells], pa.int64())
        cols[ACC] = pa.array([pickle.dumps(c[2]) for c in cells], pa.binary())
        return {"slices": pa.table(cols), "meta": pa.table({"watermark": [self.watermark]})}

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.watermark = state["meta"].column("watermark")[0].as_py()
        slices = state["slices"]
        if self.keys:
            self.key_types = [slices.schema.field(k).type for k in self.keys]
        self.slices = {}
        for row in slices.to_pylist():
            key = tuple(row[k] for k in self.keys)
            self.slices.setdefault(row[SLICE], {})[key] = pickle.loads(row[ACC])  # noqa: S301
