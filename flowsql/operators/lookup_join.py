"""Lookup join: each input row joined with the rows a lookup source returns for its key
(``JOIN t FOR SYSTEM_TIME AS OF o.proc_time``, planned by :mod:`flowsql.planner.lookup_joins`).

Contract:
- One input. Per batch, the key columns ``spec.keys`` (renamed to the lookup table's
  ``spec.lookup_keys``, same Arrow types: the planner casts) go to the lookup source in one
  call (:class:`connectors.lookup.LookupSource`); the input rows are taken by the returned
  probe indexes and put beside the returned table columns (``spec.right``: table column →
  output name). The ``residual`` predicate (over the output columns; NULL counts as FALSE)
  filters the pairs. INNER keeps the surviving pairs; LEFT also emits every input row without
  a surviving pair once, NULL-padded. Output rows follow the input order.
- A NULL key matches nothing. The lookup source is asked at processing time, so what a row
  joins with is what the table holds when the row arrives (Flink's lookup join).
- A changelog input (``$row_kind``): every row is joined as it is and keeps its row kind, the
  last output column; an append-only input gives append-only output.
- Stateless: nothing is checkpointed (``snapshot`` returns ``{}``); the source reloads its
  data after a restore. Watermarks pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from connectors.lookup import PROBE
from flowsql.messages import ROW_KIND
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.join_parts import residual_mask


@dataclass(frozen=True)
class LookupJoinSpec:
    join_type: str  # INNER | LEFT
    keys: tuple[str, ...]  # input columns
    lookup_keys: tuple[str, ...]  # the lookup table's columns
    right: tuple[tuple[str, str], ...]  # (lookup table column, output column)


class LookupJoinOperator(Operator):
    def __init__(self, spec: LookupJoinSpec, source: Callable[[], Any], output: pa.Schema, *,
                 residual: Callable[[pa.RecordBatch], pa.Array] | None = None) -> None:
        self.spec, self._make_source, self.output, self.residual = spec, source, output, residual
        self.source: Any = None

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.source = self._make_source()

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        kind = batch.column(batch.schema.get_field_index(ROW_KIND)) if ROW_KIND in batch.schema.names else None
        rows = pa.Table.from_batches([batch])
        if kind is not None:
            rows = rows.drop_columns([ROW_KIND])
        keys = pa.table([rows.column(k) for k in self.spec.keys], names=list(self.spec.lookup_keys))
        found = self.source.lookup(keys)
        probe = found.column(PROBE).to_numpy()
        joined = self._assemble(rows.take(pa.array(probe)), found)
        if self.residual is not None and joined.num_rows:
            keep = residual_mask(self.residual, joined)
            joined, probe = joined.filter(pa.array(keep)), probe[keep]
        if self.spec.join_type == "LEFT":
            missing = np.setdiff1d(np.arange(batch.num_rows, dtype=np.int64), probe)
            if len(missing):
                padded = self._assemble(rows.take(pa.array(missing)), None)
                order = np.argsort(np.concatenate([probe, missing]), kind="stable")
                both = pa.Table.from_batches([joined, padded]).take(pa.array(order)).combine_chunks()
                joined = both.to_batches()[0]
                probe = np.concatenate([probe, missing])[order]
        if joined.num_rows == 0:
            return
        result = joined
        if kind is not None:
            result = result.append_column(ROW_KIND, kind.take(pa.array(probe)))
        self.ctx.metrics.records_out += result.num_rows
        out.emit(result)

    def _assemble(self, left: pa.Table, found: pa.Table | None) -> pa.RecordBatch:
        """Output rows: the input columns, then the lookup columns (``None``: all NULL)."""
        n = left.num_rows
        cols = [c.combine_chunks() for c in left.columns]
        width = len(cols)
        for i, (column, _) in enumerate(self.spec.right):
            f = self.output.field(width + i)
            if found is None:
                cols.append(pa.nulls(n, f.type))
            else:
                c = found.column(column)
                cols.append((c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c).cast(f.type))
        return pa.RecordBatch.from_arrays(cols, schema=pa.schema([
            pa.field(f.name, f.type) for f in self.output]))

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return {}  # stateless (module contract)

    def close(self, out: Collector) -> None:
        if self.source is not None:
            self.source.close()
