"""``'connector' = 'blackhole'``: swallows every row. It has no options besides 'connector'.

Contract: ``write`` consumes its input completely, returns the number of rows, and adds it to
``BlackholeSink.rows`` (the total over the sink's lifetime); nothing is kept.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from catalog.table import TableDefinition
from connectors.base import BatchSink, ConnectorFactory, OptionSpec, iter_batches


class BlackholeSink(BatchSink):
    def __init__(self) -> None:
        self.rows = 0

    def write(self, data: pa.RecordBatchReader | pa.Table) -> int:
        count = sum(batch.num_rows for batch in iter_batches(data))
        self.rows += count
        return count


class BlackholeStreamWriter:
    """The streaming writer (``sink_writer``): counts rows, keeps nothing."""

    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def finish(self) -> None:
        return None


class BlackholeFactory(ConnectorFactory):
    identifier = "blackhole"

    def option_specs(self) -> list[OptionSpec]:
        return []

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        return BlackholeSink()

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> Any:
        return BlackholeStreamWriter()

    def sink_accepts_changelog(self, table: TableDefinition) -> bool:
        return True
