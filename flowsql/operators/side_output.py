"""Late-data side output: rows a window operator drops as late go to a sink table.

Contract:
- :class:`LateRowsWriter` is the ``late_out`` collector of a window operator: each late batch
  is conformed to the late-data table's physical columns BY NAME (a column the late rows do
  not carry is NULL; values are cast to the declared type) and written with the table's
  streaming sink writer.
- :class:`WithSideOutput` wraps the window operator so the writer is finished when the
  operator closes; every other call is delegated unchanged.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from flowsql.operators.base import Collector, Delegating, Operator


class LateRowsWriter:
    def __init__(self, writer: Any, schema: pa.Schema) -> None:
        self.writer = writer
        self.schema = schema
        self.rows = 0

    def emit(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        arrays = []
        for f in self.schema:
            i = batch.schema.get_field_index(f.name)
            if i < 0:
                arrays.append(pa.nulls(batch.num_rows, f.type))
            else:
                a = batch.column(i)
                arrays.append(a if a.type == f.type else a.cast(f.type))
        self.rows += batch.num_rows
        self.writer.write(pa.RecordBatch.from_arrays(arrays, schema=self.schema))

    def finish(self) -> None:
        self.writer.finish()


class WithSideOutput(Delegating):
    def __init__(self, inner: Operator, late: LateRowsWriter) -> None:
        super().__init__(inner)
        self.late = late

    def close(self, out: Collector) -> None:
        self.inner.close(out)
        self.late.finish()
