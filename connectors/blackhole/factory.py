"""``'connector' = 'blackhole'``: swallows every row.

Options: ``sink.sleep-per-batch`` (duration, default none; a FlowSQL extension): the streaming
writer sleeps that long after every batch, so tests and benchmarks can simulate a slow sink
(backpressure) in any process, e.g. on a TaskManager.

Contract: ``write`` consumes its input completely, returns the number of rows, and adds it to
``BlackholeSink.rows`` (the total over the sink's lifetime); nothing is kept.
"""

from __future__ import annotations

import time
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
    """The streaming writer (``sink_writer``): counts rows, keeps nothing; sleeps
    ``sleep_per_batch_ms`` after each batch when set."""

    def __init__(self, sleep_per_batch_ms: int = 0) -> None:
        self.rows = 0
        self.sleep_s = max(0, sleep_per_batch_ms) / 1000.0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        if self.sleep_s:
            time.sleep(self.sleep_s)

    def finish(self) -> None:
        return None


class BlackholeFactory(ConnectorFactory):
    identifier = "blackhole"

    def option_specs(self) -> list[OptionSpec]:
        return [
            OptionSpec("sink.sleep-per-batch", "duration",
                       description="FlowSQL: sleep this long after every batch (simulates a "
                                   "slow sink for backpressure tests and benchmarks)."),
        ]

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        return BlackholeSink()

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> Any:
        return BlackholeStreamWriter(int(options.get("sink.sleep-per-batch") or 0))

    def sink_accepts_changelog(self, table: TableDefinition) -> bool:
        return True
