"""Two-phase (local → global) unbounded GROUP BY (Flink's local-global aggregation).

Contract:
- :class:`LocalGroupAggregateOperator` runs chained before the hash exchange: for every
  input batch (append-only, or a changelog with ``$row_kind``) it emits ONE partial-state row
  per key — :meth:`Accumulators.partial` over the batch, signed for -U/-D rows, plus
  ``$rows`` (the signed row count) — so the exchange ships about one row per key and batch
  instead of every input row. It holds no state and forwards watermarks unchanged.
- :class:`GlobalGroupAggregateOperator` is :class:`GroupAggregateOperator` fed with those
  partial states: it folds them into its per-key state (merging rows of one key first when a
  batch carries several, e.g. the partials of two upstream batches sent as one message) and
  emits the changelog exactly as the one-phase operator does for the touched keys (HAVING,
  -U/+U pairs, unchanged results emit nothing); snapshots are the one-phase operator's own.
  The changelog is one update per key per partial batch instead of per raw-row batch: the
  same final results, with updates at batch granularity as before.
- Used only for aggregates whose partial states merge exactly (COUNT / SUM / MIN / MAX /
  AVG without DISTINCT; FIRST_VALUE / LAST_VALUE depend on one global arrival order); the
  planner's ``two_phase_aggregate`` rule checks this. A retraction reaching MIN/MAX raises in
  the local phase, as it does in the one-phase operator.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flowsql.errors import NotSupportedError
from flowsql.operators.accumulators import SIGN, Accumulators
from flowsql.operators.base import Collector, Operator
from flowsql.operators.group_aggregate import ROWS, GroupAggregateOperator, signed_rows
from flowsql.operators.specs import GroupAggregateSpec

MERGEABLE = ("COUNT", "COUNT_STAR", "SUM", "MIN", "MAX", "AVG")


def two_phase_possible(spec: GroupAggregateSpec) -> bool:
    return bool(spec.keys) and all(a.function in MERGEABLE and not a.distinct for a in spec.aggs)


class LocalGroupAggregateOperator(Operator):
    def __init__(self, spec: GroupAggregateSpec) -> None:
        if not two_phase_possible(spec):
            raise NotSupportedError("two-phase aggregation of DISTINCT / FIRST_VALUE / LAST_VALUE")
        self.keys = list(spec.keys)
        self.accs = Accumulators(spec.aggs)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        table, sign = signed_rows(batch, self.accs)
        partial = self.accs.partial(table, self.keys, sign=sign, extra=[(SIGN, "sum", ROWS)])
        for b in partial.combine_chunks().to_batches():
            out.emit(b)


class GlobalGroupAggregateOperator(GroupAggregateOperator):
    def __init__(self, spec: GroupAggregateSpec, input_schema: pa.Schema, **kwargs: object) -> None:
        super().__init__(spec, **kwargs)  # type: ignore[arg-type]
        self.accs.bind(input_schema)  # result types follow the raw input, not the partials

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        if self.ttl_ms:
            self._expire(sweep_due=True)  # state TTL, as in the one-phase operator
        part = pa.Table.from_batches([batch])
        ids = self.index.lookup(part)
        if len(np.unique(ids)) < len(ids):  # several partials of one key: merge them first
            part = self.accs.merge([part], self.keys, extra=[(ROWS, "sum")])
            ids = self.index.lookup(part)
        self._fold(part, ids, out)
