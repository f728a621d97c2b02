"""Union: forwards the batches of all its inputs unchanged (UNION ALL).

Contract: the planner makes every input's schema identical (names and types, by casting in
a Calc before the union), so the operator is a pass-through; the task's watermark valve
already forwards the minimum watermark over the inputs.
"""

from __future__ import annotations

import pyarrow as pa

from flowsql.operators.base import Collector, Operator


class UnionOperator(Operator):
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        out.emit(batch)
