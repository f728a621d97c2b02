"""The print connector's streaming writer (``PrintFactory.sink_writer``).

Contract: gets batches of the sink's physical columns (by position), optionally followed by
the changelog ``$row_kind`` column, and prints Flink's ``+I[...]`` / ``-U[...]`` lines (one per
row, rendered by :func:`connectors.print.rowtext.render_lines`) to stdout, or stderr with
``standard-error``; the stream is looked up at write time.
"""

from __future__ import annotations

import sys

import pyarrow as pa
import pyarrow.compute as pc

from connectors.print.rowtext import render_lines


class PrintWriter:
    def __init__(self, identifier: str | None = None, standard_error: bool = False) -> None:
        self.prefix = f"{identifier}> " if identifier else ""  # as PrintSink (batch mode)
        self.standard_error = standard_error

    def write(self, batch: pa.RecordBatch) -> None:
        stream = sys.stderr if self.standard_error else sys.stdout
        lines = render_lines(batch, self.prefix)
        if len(lines):
            text = pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "\n")
            stream.write(text[0].as_py() + "\n")
            stream.flush()

    def finish(self) -> None:
        return None
