"""``'connector' = 'print'``: a sink that writes every row to standard output.

Contract: options ``print-identifier`` (a prefix ``<identifier>> `` on every line),
``standard-error`` (write to stderr instead), ``sink.parallelism`` (accepted). Each row is one
line rendered by :func:`connectors.print.rowtext.render_lines`; ``write`` returns the number
of rows printed. The stream is looked up at write time (so redirections and capture apply).
"""

from __future__ import annotations

import sys
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.table import TableDefinition
from connectors.base import BatchSink, ConnectorFactory, OptionSpec, iter_batches
from connectors.print.rowtext import render_lines
from connectors.print.writer import PrintWriter

PRINT_OPTIONS: list[OptionSpec] = [
    OptionSpec("print-identifier", "string", description="Prefix of every printed line."),
    OptionSpec("standard-error", "bool", default="false", description="Print to stderr."),
    OptionSpec("sink.parallelism", "int", description="Sink parallelism."),
]


class PrintSink(BatchSink):
    def __init__(self, identifier: str | None = None, standard_error: bool = False) -> None:
        self.prefix = f"{identifier}> " if identifier else ""
        self.standard_error = standard_error

    def write(self, data: pa.RecordBatchReader | pa.Table) -> int:
        stream = sys.stderr if self.standard_error else sys.stdout
        rows = 0
        for batch in iter_batches(data):
            if batch.num_rows == 0:
                continue
            lines = render_lines(batch, self.prefix)
            text = pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "\n")
            stream.write(text[0].as_py() + "\n")
            rows += batch.num_rows
        stream.flush()
        return rows


class PrintFactory(ConnectorFactory):
    identifier = "print"

    def option_specs(self) -> list[OptionSpec]:
        return list(PRINT_OPTIONS)

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        return PrintSink(options.get("print-identifier"), bool(options.get("standard-error")))

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> Any:
        """Streaming: prints ``+I[...]`` / ``-U[...]`` lines (changelogs accepted)."""
        return PrintWriter(options.get("print-identifier"), bool(options.get("standard-error")))

    def sink_accepts_changelog(self, table: TableDefinition) -> bool:
        return True
