"""What the live result views keep in memory: a materialized table or the latest changes.

Contract:
- :class:`MaterializedResult` (table mode) applies a result stream to an in-memory table, as
  Flink's SQL client does (``MaterializedCollectStreamResult``): ``+I``/``+U`` add a row,
  ``-U``/``-D`` remove one copy of an equal row (rows are compared on every column, since
  a result has no key). Rows keep the place of their first copy, so a row retracted and
  re-added within one batch stays where it was; new rows go to the end. At most ``max_rows``
  rows are kept: beyond that the oldest are dropped (Flink's
  ``sql-client.execution.max-table-result.rows``). ``received`` counts the changes read.
- :class:`ChangelogBuffer` (changelog mode) keeps the latest ``max_rows`` changes with their
  row kind (``$row_kind``; ``+I`` for an append-only stream).
- Both are vectorized: a batch is appended with ``concat_tables``; retractions are applied with
  one Arrow group-by (sum of +1/-1 per distinct row) over the kept rows and the batch, so a
  batch costs O(kept rows), never a Python loop per row. A batch without retractions is only
  appended. Column types Arrow cannot group on (nested ROW/ARRAY/MAP) cannot be materialized
  from a changelog: that is a ``NotSupportedError`` naming the changelog mode instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError
from flowsql.messages import ROW_KIND

DEFAULT_MAX_ROWS = 100_000
_RETRACT_KINDS = pa.array([1, 3], pa.int8())  # -U, -D
_SIGN = "$sign"
_POS = "$pos"


def _data_fields(schema: pa.Schema) -> list[pa.Field]:
    return [f for f in schema if f.name != ROW_KIND]


def _as_table(batches: list[pa.RecordBatch]) -> pa.Table:
    try:
        return pa.Table.from_batches(batches)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # schemas differing in nullability or so
        tables = [pa.Table.from_batches([b]) for b in batches]
        return pa.concat_tables(tables, promote_options="permissive")


class MaterializedResult:
    """The current rows of a result stream (see module contract)."""

    def __init__(self, schema: pa.Schema, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.schema = pa.schema(_data_fields(schema))
        self.names = self.schema.names
        self.max_rows = max(int(max_rows), 1)
        self.table: pa.Table = self.schema.empty_table()
        self.received = 0

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def add(self, batches: list[pa.RecordBatch]) -> None:
        if not batches:
            return
        changes = _as_table(batches)
        self.received += changes.num_rows
        data = changes.select(self.names)
        if data.schema != self.schema:
            data = data.cast(self.schema)
        if ROW_KIND in changes.column_names:
            kinds = changes.column(ROW_KIND)
            retract = pc.is_in(kinds, _RETRACT_KINDS)
            if pc.any(retract).as_py():
                self.table = self._apply(data, retract)
                self._trim()
                return
        self.table = pa.concat_tables([self.table, data])
        self._trim()

    def tail(self, n: int) -> pa.Table:
        return self.table.slice(max(self.table.num_rows - max(n, 0), 0))

    def _apply(self, data: pa.Table, retract: pa.ChunkedArray) -> pa.Table:
        """Kept rows (+1 each) and the batch (+1 / -1): per distinct row, its net count."""
        kept = self.table.num_rows
        batch_signs = pc.if_else(retract, -1, 1).cast(pa.int64()).to_numpy()
        signs = np.concatenate([np.ones(kept, dtype=np.int64), batch_signs])
        work = pa.concat_tables([self.table, data]).combine_chunks()
        work = work.append_column(_SIGN, pa.array(signs))
        work = work.append_column(_POS, pa.array(np.arange(work.num_rows, dtype=np.int64)))
        try:
            grouped = work.group_by(self.names, use_threads=False).aggregate(
                [(_SIGN, "sum"), (_POS, "min")]
            )
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise NotSupportedError(
                f"showing an updating result with these column types in table mode ({error})",
                hint="SET 'sql-client.execution.result-mode' = 'changelog' (or 'tableau')",
            ) from None
        count = grouped.column(_SIGN + "_sum")
        grouped = grouped.filter(pc.greater(count, 0)).sort_by([(_POS + "_min", "ascending")])
        counts = grouped.column(_SIGN + "_sum").to_numpy()
        out = grouped.select(self.names)
        if counts.size and counts.max() > 1:
            out = out.take(pa.array(np.repeat(np.arange(out.num_rows), counts)))
        return out.cast(self.schema) if out.schema != self.schema else out

    def _trim(self) -> None:
        if self.table.num_rows > self.max_rows:
            self.table = self.table.slice(self.table.num_rows - self.max_rows)
        if self.table.num_rows and len(self.table.column(0).chunks) > 64:
            self.table = self.table.combine_chunks()


class ChangelogBuffer:
    """The latest changes of a result stream, each with its row kind."""

    def __init__(self, schema: pa.Schema, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        fields = _data_fields(schema)
        self.names = [f.name for f in fields]
        self.schema = pa.schema([*fields, pa.field(ROW_KIND, pa.int8())])
        self.max_rows = max(int(max_rows), 1)
        self.table: pa.Table = self.schema.empty_table()
        self.received = 0

    @property
    def rows(self) -> int:
        return self.received

    def add(self, batches: list[pa.RecordBatch]) -> None:
        if not batches:
            return
        changes = _as_table(batches)
        self.received += changes.num_rows
        if ROW_KIND in changes.column_names:
            kinds = pc.fill_null(changes.column(ROW_KIND).cast(pa.int8()), 0)
        else:
            kinds = pa.array(np.zeros(changes.num_rows, dtype=np.int8))
        data = changes.select(self.names).append_column(ROW_KIND, kinds)
        if data.schema != self.schema:
            data = data.cast(self.schema)
        self.table = pa.concat_tables([self.table, data])
        if self.table.num_rows > self.max_rows:
            self.table = self.table.slice(self.table.num_rows - self.max_rows)
        if self.table.num_rows and len(self.table.column(0).chunks) > 64:
            self.table = self.table.combine_chunks()

    def tail(self, n: int) -> pa.Table:
        return self.table.slice(max(self.table.num_rows - max(n, 0), 0))
