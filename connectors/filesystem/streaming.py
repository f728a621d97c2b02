"""The filesystem connector's streaming reader and writer (``FilesystemFactory.source_reader``
/ ``sink_writer``).

Contract:
- :class:`FilesReader`: one split per file (bounded), read with the format readers, so
  malformed records are reported with file and line as in batch mode. Its position is the
  number of records read from the file; after a restore the file is read again and that many
  records are skipped (zero-copy slices). ``skipped`` counts the malformed records a lenient
  json or csv format skipped (the source operator reports it as the job's malformed records);
  a file read again after a restore counts its malformed records again.
- :class:`FilesystemWriter` gets batches of the sink's physical columns (by position),
  optionally followed by the changelog ``$row_kind`` column; it buffers rows and writes part
  files (at ``ROLL_ROWS`` rows and at the end); for a changelog input it appends a
  ``row_kind`` column (``+I``/``-U``/``+U``/``-D``) after the physical columns — the
  filesystem sink is append-only, so updates are written as rows, not applied.
- Exactly once with checkpoints (:meth:`FilesystemWriter.begin_transactions`, called when
  checkpointing is on): part files are written hidden (``.part-<uuid>-0.<ext>.inprogress``,
  skipped by the filesystem source and batch mode); :meth:`prepare_commit` (at a
  checkpoint's barrier) writes what is buffered and returns every file not yet committed
  with the checkpoint it belongs to (the sink's state); :meth:`commit` (checkpoint *n*
  complete) renames the files of checkpoints <= *n* to their visible names; :meth:`recover`
  (restore) commits the files a restored, complete checkpoint lists. Committing is
  idempotent: a file already renamed is skipped, so a crash between "checkpoint durable"
  and "commit done" commits once on recovery. Files written after the restored checkpoint
  stay hidden and are never committed. At the end of input (:meth:`finish`) the last rows are
  written hidden too; :meth:`commit_all` publishes everything left once the JobManager says
  the whole job finished, so a task that ends while another fails (and the job restarts)
  never publishes rows the restart replays.
  Without checkpointing, part files are written visible as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.table import Column, TableDefinition
from connectors.base import SourceReader, physical_schema
from connectors.filesystem.paths import resolve_source, sink_directory
from connectors.formats.cdc_json import CDC_FORMATS, read_changelog_file
from connectors.formats.csv_format import read_csv
from connectors.formats.json_format import read_json
from connectors.formats.writer import visible_name, write_part_file
from flowsql.errors import ConnectorError
from flowsql.messages import ROW_KIND

ROLL_ROWS = 65536
_KINDS = pa.array(["+I", "-U", "+U", "-D"])


class FilesReader(SourceReader):
    bounded = True

    def __init__(self, table: TableDefinition, options: dict[str, Any]) -> None:
        self.table = table
        self.options = options
        self.files, _ = resolve_source(options["path"])
        self._rows: dict[str, int] = {}  # split -> rows read so far (its position)
        self.skipped = 0  # malformed records a lenient json/csv format skipped

    def splits(self) -> list[str]:
        return list(self.files)

    def position(self, split: str) -> dict[str, Any] | None:
        """``{"rows": n}``: the file's first n records were read."""
        return {"rows": self._rows.get(split, 0)}

    def seek(self, split: str, position: dict[str, Any]) -> None:
        self._rows[split] = int(position.get("rows", 0))

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        skip = self._rows.get(split, 0)
        self._rows[split] = 0
        for batch in self._read_file(split):
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                self._rows[split] += batch.num_rows
                continue
            if skip:
                self._rows[split] += skip
                batch, skip = batch.slice(skip), 0
            self._rows[split] += batch.num_rows
            yield batch

    def _skip(self, n: int) -> None:
        self.skipped += n

    def _read_file(self, split: str) -> Iterator[pa.RecordBatch]:
        schema = physical_schema(self.table)
        columns = self.table.physical_columns
        fmt = self.options["format"]
        if fmt == "parquet":
            data = _read_parquet(split, schema)
        elif fmt in CDC_FORMATS:  # a changelog: the rows carry ROW_KIND
            data = read_changelog_file(split, fmt, columns, schema, self.options)
        else:
            reader = read_csv if fmt == "csv" else read_json
            data = reader([split], columns, schema, self.options, on_skipped=self._skip)
        if isinstance(data, pa.RecordBatchReader):
            yield from data
        else:
            yield from data.to_batches()


def _read_parquet(path: str, schema: pa.Schema) -> pa.Table:
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


class FilesystemWriter:
    def __init__(self, table: TableDefinition, options: dict[str, Any]) -> None:
        self.table = table
        self.options = options
        self.directory = sink_directory(options["path"])
        self.format = options["format"]
        self._buffer: list[pa.RecordBatch] = []
        self._rows = 0
        self.files: list[str] = []
        self.transactional = False
        self._epoch: list[str] = []  # hidden files of the running epoch
        self._pending: list[tuple[int, str]] = []  # (checkpoint id, hidden file) to commit
        self._lock = threading.Lock()

    def begin_transactions(self) -> None:
        self.transactional = True

    def write(self, batch: pa.RecordBatch) -> None:
        data, kind = _split_kind(batch)
        if kind is not None:
            data = data.append_column("row_kind", pc.take(_KINDS, kind.cast(pa.int32())))
        self._buffer.append(data)
        self._rows += data.num_rows
        if self._rows >= ROLL_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        columns = list(self.table.physical_columns)
        groups: dict[bool, list[pa.RecordBatch]] = {}
        for b in self._buffer:
            groups.setdefault(b.num_columns > len(columns), []).append(b)
        for changelog, batches in groups.items():
            cols = columns + ([Column("row_kind", "STRING")] if changelog else [])
            _, path = write_part_file(pa.Table.from_batches(batches), self.directory, self.format,
                                      cols, self.options, hidden=self.transactional)
            if path and self.transactional:
                self._epoch.append(path)
            elif path:
                self.files.append(path)
        self._buffer, self._rows = [], 0

    def flush(self) -> None:
        """Write what is buffered now (a savepoint of a job without checkpointing)."""
        self._flush()

    def prepare_commit(self, checkpoint_id: int) -> list[tuple[int, str]]:
        """Write what is buffered; returns every uncommitted (checkpoint id, hidden file)."""
        self._flush()
        with self._lock:
            self._pending.extend((checkpoint_id, f) for f in self._epoch)
            self._epoch = []
            return list(self._pending)

    def commit(self, checkpoint_id: int) -> None:
        with self._lock:
            due = [f for n, f in self._pending if n <= checkpoint_id]
            self._pending = [(n, f) for n, f in self._pending if n > checkpoint_id]
        for hidden in due:
            self._publish(hidden)

    def recover(self, pending: list[tuple[int, str]]) -> None:
        for _, hidden in pending:
            self._publish(hidden)

    def _publish(self, hidden: str) -> None:
        final = visible_name(hidden)
        try:
            os.replace(hidden, final)
        except FileNotFoundError:
            if not os.path.exists(final):
                raise ConnectorError(f"part file {hidden} to commit is missing") from None
            return  # committed already (idempotent)
        self.files.append(final)

    def finish(self) -> None:
        """Write what is buffered; in transactional mode the files stay hidden until
        :meth:`commit_all` (the JobManager's word that the whole job finished)."""
        self._flush()

    def commit_all(self) -> None:
        with self._lock:
            due = [f for _, f in self._pending] + self._epoch
            self._pending, self._epoch = [], []
        for hidden in due:
            self._publish(hidden)
