"""Streaming readers and writers of the built-in connectors (datagen, filesystem, print,
blackhole), used by the factories' ``source_reader`` / ``sink_writer``.

Contract:
- :class:`DatagenReader`: splits are generator shards; shard ``i`` of ``S`` emits the rows of
  blocks ``i, i + S, ...`` of ``block`` rows (rows depend only on their index, so the data does
  not depend on the parallelism); bounded when the generator is. With ``rows-per-second`` the
  shard emits the rows that are *due* (``rate / S`` per second since it started), about every
  :data:`PACE_SLICE_S` — a slow source delivers a few rows at a time, promptly, never a whole
  block after ``block / rate`` seconds — and yields ``None`` while nothing is due.
  ``position`` = ``{"next_block", "offset"}``: the next row is ``offset`` rows into that block.
- :class:`FilesReader`: one split per file (bounded), read with the format readers, so
  malformed records are reported with file and line as in batch mode.
- Writers get batches of the sink's physical columns (by position), optionally followed by
  the changelog ``$row_kind`` column: :class:`PrintWriter` prints Flink's ``+I[...]`` lines,
  :class:`BlackholeStreamWriter` counts, :class:`FilesystemWriter` buffers rows and writes
  part files (at ``ROLL_ROWS`` rows and at the end); for a changelog input it appends a
  ``row_kind`` column (``+I``/``-U``/``+U``/``-D``) after the physical columns — the
  filesystem sink is append-only, so updates are written as rows, not applied.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from catalog.table import Column, TableDefinition
from flowsql.messages import ROW_KIND
from flowsql.operators.source import SourceReader

DATAGEN_BLOCK = 1024
PACE_SLICE_S = 0.02  # a paced datagen split emits at most ~every 20 ms
ROLL_ROWS = 65536
_KINDS = pa.array(["+I", "-U", "+U", "-D"])


class DatagenReader(SourceReader):
    def __init__(self, generator: Any, shards: int = 1, block: int = DATAGEN_BLOCK) -> None:
        self.generator = generator
        self.shards = max(int(shards), 1)
        self.block = max(int(block), 1)
        self.bounded = bool(generator.bounded)
        rate = generator.rows_per_second
        self.rows_per_second = int(rate) if rate else 0
        self._next: dict[str, tuple[int, int]] = {}  # split -> (block, offset in the block)

    def splits(self) -> list[str]:
        return [f"shard-{i}-of-{self.shards}" for i in range(self.shards)]

    def _start(self, split: str) -> tuple[int, int]:
        return self._next.get(split, (int(split.split("-")[1]), 0))

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        block, offset = self._start(split)
        total = self.generator.total_rows
        per_shard = self.rows_per_second / self.shards if self.rows_per_second else 0.0
        # paced: emit the rows that are due, at least ~PACE_SLICE_S worth (>= 1 row) at a time
        min_rows = max(1, int(per_shard * PACE_SLICE_S))
        started = time.monotonic()
        emitted = 0
        while True:
            start = block * self.block + offset
            if total is not None and start >= total:
                return
            count = self.block - offset
            if per_shard:
                due = int((time.monotonic() - started) * per_shard) - emitted
                while due < min(min_rows, count):
                    yield None
                    due = int((time.monotonic() - started) * per_shard) - emitted
                count = min(count, due)
            batch = self.generator.generate(start, count)
            offset += count
            if offset >= self.block:
                block, offset = block + self.shards, 0
            self._next[split] = (block, offset)
            emitted += count
            if batch.num_rows:
                yield batch

    def position(self, split: str) -> dict[str, Any] | None:
        block, offset = self._start(split)
        return {"next_block": block, "offset": offset}

    def seek(self, split: str, position: dict[str, Any]) -> None:
        self._next[split] = (int(position["next_block"]), int(position.get("offset", 0)))


class FilesReader(SourceReader):
    bounded = True

    def __init__(self, table: TableDefinition, options: dict[str, Any]) -> None:
        from connectors.filesystem.paths import resolve_source

        self.table = table
        self.options = options
        self.files, _ = resolve_source(options["path"])

    def splits(self) -> list[str]:
        return list(self.files)

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        from connectors.base import physical_schema

        schema = physical_schema(self.table)
        columns = self.table.physical_columns
        fmt = self.options["format"]
        if fmt == "parquet":
            data = _read_parquet(split, schema)
        else:
            from connectors.formats.csv_format import read_csv
            from connectors.formats.json_format import read_json

            reader = read_csv if fmt == "csv" else read_json
            data = reader([split], columns, schema, self.options)
        if isinstance(data, pa.RecordBatchReader):
            yield from data
        else:
            yield from data.to_batches()


def _read_parquet(path: str, schema: pa.Schema) -> pa.Table:
    import pyarrow.parquet as pq

    from flowsql.errors import ConnectorError

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ConnectorError(f"cannot read parquet file '{path}': {exc}") from exc
    arrays = []
    for f in schema:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, f.type))
        else:
            arrays.append(table.column(f.name).cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _split_kind(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Array | None]:
    i = batch.schema.get_field_index(ROW_KIND)
    if i < 0:
        return batch, None
    return batch.remove_column(i), batch.column(i)


class PrintWriter:
    def __init__(self, identifier: str | None = None, standard_error: bool = False) -> None:
        from connectors.print.factory import PrintSink

        self.sink = PrintSink(identifier, standard_error)

    def write(self, batch: pa.RecordBatch) -> None:
        import sys

        from connectors.print.rowtext import render_lines

        stream = sys.stderr if self.sink.standard_error else sys.stdout
        lines = render_lines(batch, self.sink.prefix)
        if len(lines):
            text = pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "\n")
            stream.write(text[0].as_py() + "\n")
            stream.flush()

    def finish(self) -> None:
        return None


class BlackholeStreamWriter:
    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def finish(self) -> None:
        return None


class FilesystemWriter:
    def __init__(self, table: TableDefinition, options: dict[str, Any]) -> None:
        from connectors.filesystem.paths import sink_directory

        self.table = table
        self.options = options
        self.directory = sink_directory(options["path"])
        self.format = options["format"]
        self._buffer: list[pa.RecordBatch] = []
        self._rows = 0
        self.files: list[str] = []

    def write(self, batch: pa.RecordBatch) -> None:
        data, kind = _split_kind(batch)
        if kind is not None:
            data = data.append_column("row_kind", pc.take(_KINDS, kind.cast(pa.int32())))
        self._buffer.append(data)
        self._rows += data.num_rows
        if self._rows >= ROLL_ROWS:
            self._flush()

    def _flush(self) -> None:
        from connectors.formats.writer import write_part_file

        if not self._buffer:
            return
        columns = list(self.table.physical_columns)
        groups: dict[bool, list[pa.RecordBatch]] = {}
        for b in self._buffer:
            groups.setdefault(b.num_columns > len(columns), []).append(b)
        for changelog, batches in groups.items():
            cols = columns + ([Column("row_kind", "STRING")] if changelog else [])
            _, path = write_part_file(pa.Table.from_batches(batches), self.directory, self.format,
                                      cols, self.options)
            if path:
                self.files.append(path)
        self._buffer, self._rows = [], 0

    def finish(self) -> None:
        self._flush()
