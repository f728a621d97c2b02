"""The filesystem connector's streaming reader and writer (``FilesystemFactory.source_reader``
/ ``sink_writer``).

Contract:
- :class:`FilesReader`: one split per file (bounded), read with the format readers, so
  malformed records are reported with file and line as in batch mode. Its position is the
  number of records read from the file; after a restore the file is read again and that many
  records are skipped (zero-copy slices). ``skipped`` counts the malformed records a lenient
  json or csv format skipped (the source operator reports it as the job's malformed records);
  a file read again after a restore counts its malformed records again.
- :func:`read_file` (both modes) restores a PARTITIONED BY table's partition columns from
  the file's ``k=v`` directories (:mod:`connectors.filesystem.partitions`).
- :class:`FilesystemWriter` gets batches of the sink's physical columns (by position),
  optionally followed by the changelog ``$row_kind`` column; it buffers rows per partition
  directory (``path/k1=v1/...`` for a PARTITIONED BY table, whose partition columns are not
  written into the files) and writes a part file when the rolling policy says so
  (:class:`connectors.filesystem.commit.RollingPolicy`), at every checkpoint and at the end;
  for a changelog input it appends a ``row_kind`` column (``+I``/``-U``/``+U``/``-D``) after
  the data columns — the filesystem sink is append-only, so updates are written as rows.
- Partition commit (:class:`connectors.filesystem.commit.PartitionCommitter`): a partition
  becomes a candidate once one of its files is visible (committed); candidates are checked
  when a checkpoint completes, against the watermark the sink had seen at that checkpoint's
  barrier (``on_watermark``). Each sink subtask commits the partitions it wrote. Without
  checkpointing, every written partition is committed at the end of input.
- Exactly once with checkpoints (:meth:`FilesystemWriter.begin_transactions`, called when
  checkpointing is on): part files are written hidden (``.part-<uuid>-0.<ext>.inprogress``,
  skipped by the filesystem source and batch mode); :meth:`prepare_commit` (at a
  checkpoint's barrier) writes what is buffered and returns every file not yet committed
  with the checkpoint it belongs to, plus the partitions waiting for their commit (the
  sink's state: a table ``checkpoint, file, partition, created, watermark``);
  :meth:`commit` (checkpoint *n*
  complete) renames the files of checkpoints <= *n* to their visible names; :meth:`recover`
  (restore) commits the files a restored, complete checkpoint lists. Committing is
  idempotent: a file already renamed is skipped, so a crash between "checkpoint durable"
  and "commit done" commits once on recovery. Files written after the restored checkpoint
  stay hidden and are never committed. At the end of input (:meth:`finish`) the last rows are
  written hidden too; :meth:`commit_all` publishes everything left once the JobManager says
  the whole job finished, so a task that ends while another fails (and the job restarts)
  never publishes rows the restart replays.
  Without checkpointing, part files are written visible.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from catalog.table import Column, TableDefinition
from connectors.base import SourceReader, columns_schema, physical_schema
from connectors.filesystem.commit import PartitionCommitter, RollingPolicy, check_partition_options
from connectors.filesystem.partitions import (
    DEFAULT_PARTITION_NAME,
    data_columns,
    partition_values,
    split_by_partition,
    with_partition_columns,
)
from connectors.filesystem.paths import normalize, resolve_source, sink_directory
from connectors.formats.cdc_json import CDC_FORMATS, read_changelog_file
from connectors.formats.csv_format import stream_csv
from connectors.formats.json_format import read_json
from connectors.formats.writer import visible_name, write_part_file
from flowsql.errors import ConnectorError
from flowsql.messages import ROW_KIND

_KINDS = pa.array(["+I", "-U", "+U", "-D"])


class FilesReader(SourceReader):
    bounded = True

    def __init__(self, table: TableDefinition, options: dict[str, Any],
                 project: Sequence[str] | None = None) -> None:
        self.table = table
        self.options = options
        self.project = list(project) if project else None  # None: every physical column
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
        data = read_file(split, self.table, self.options, on_skipped=self._skip,
                         project=self.project)
        if isinstance(data, pa.Table):
            yield from data.to_batches()
        else:
            yield from data


def table_root(options: dict[str, Any]) -> str:
    """The directory partition paths are relative to (the 'path' directory)."""
    path = normalize(options["path"])
    return path if os.path.isdir(path) else os.path.dirname(path)


def read_file(path: str, table: TableDefinition, options: dict[str, Any],
              on_skipped: Callable[[int], None] | None = None,
              project: Sequence[str] | None = None) -> pa.Table | pa.RecordBatchReader:
    """One file's rows as the table's physical columns, or only the physical columns named in
    ``project`` (in table order) when given: parquet reads only those columns, csv converts
    only those fields (every field is still split, so the field count is still checked), json
    extracts only those keys (``json.fail-on-missing-field`` checks only those); a changelog format decodes whole rows and drops the others. A
    field that is not read is not decoded, so a bad value there is no malformed record (as in
    Flink with projection pushdown). A PARTITIONED BY table's partition columns come from the
    file's ``k=v`` directories (:mod:`.partitions`). csv and parquet files are streamed batch
    by batch (a ``RecordBatchReader``), json files are read whole."""
    out = physical_schema(table)
    if project is not None:
        unknown = [c for c in project if c not in out.names]
        if unknown:
            raise ConnectorError(f"cannot read columns {unknown} from {table.name}: not physical")
        out = pa.schema([f for f in out if f.name in set(project)])
    data_cols = data_columns(table) if table.partition_keys else list(table.physical_columns)
    read = [c for c in data_cols if c.name in out.names]
    if not read:  # only partition columns wanted: one data column carries the row count
        read = data_cols[:1]
    schema = columns_schema(read)
    fmt = options["format"]
    data: pa.Table | pa.RecordBatchReader | Iterator[pa.RecordBatch]
    if fmt == "parquet":
        data = read_parquet(path, schema)
    elif fmt in CDC_FORMATS:  # a changelog: the rows carry ROW_KIND
        all_cols = data_cols
        data = read_changelog_file(path, fmt, all_cols, columns_schema(all_cols), options)
        if len(read) < len(all_cols):
            data = data.select([c.name for c in read] + [ROW_KIND])
    elif fmt == "csv":
        data = stream_csv(path, data_cols, [c.name for c in read], options, on_skipped=on_skipped)
    else:
        data = read_json([path], read, schema, options, on_skipped=on_skipped)
    if not table.partition_keys:
        return data
    values = partition_values(table_root(options), path, table.partition_keys)
    default = options.get("partition.default-name") or DEFAULT_PARTITION_NAME
    batches = data.to_batches() if isinstance(data, pa.Table) else data

    def with_partitions() -> Iterator[pa.RecordBatch]:
        for b in batches:
            if b.num_rows:
                yield from with_partition_columns(pa.Table.from_batches([b]), table, out, values,
                                                  default, path).to_batches()

    return pa.RecordBatchReader.from_batches(out, with_partitions())


PARQUET_BATCH_ROWS = 65_536
PARQUET_BUFFER_BYTES = 4 << 20


def read_parquet(path: str, schema: pa.Schema) -> pa.RecordBatchReader:
    """One Parquet file as ``schema``'s columns (only those are read and decoded), streamed
    in batches of at most :data:`PARQUET_BATCH_ROWS` rows (on the calling thread). Column
    chunks are read through a 1 MB buffer rather than pre-buffered whole, so memory stays
    at about one batch of decoded columns, not a row group's compressed chunks (a process
    reading a 1 M-row-group file of six columns peaks at 150 MB RSS instead of 460 MB). Missing columns are NULL; the
    others are cast to the declared types."""
    try:
        file = pq.ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
    except (OSError, pa.ArrowException) as exc:
        raise ConnectorError(f"cannot read parquet file '{path}': {exc}") from exc
    present = [f.name for f in schema if f.name in file.schema_arrow.names]

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=present,
                                           use_threads=False):
                arrays = [batch.column(f.name).cast(f.type) if f.name in present
                          else pa.nulls(batch.num_rows, f.type) for f in schema]
                yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        except (OSError, pa.ArrowException) as exc:
            raise ConnectorError(f"cannot read parquet file '{path}': {exc}") from exc

    return pa.RecordBatchReader.from_batches(schema, batches())


def _split_kind(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Array | None]:
    i = batch.schema.get_field_index(ROW_KIND)
    if i < 0:
        return batch, None
    return batch.remove_column(i), batch.column(i)


class _Bucket:
    """Rows buffered for one part file of one partition (and changelog shape)."""

    def __init__(self, opened_ms: int) -> None:
        self.batches: list[pa.Table] = []
        self.nbytes = 0
        self.opened_ms = opened_ms


class FilesystemWriter:
    pending_as_table = True  # prepare_commit / recover use the table in module docstring

    def __init__(self, table: TableDefinition, options: dict[str, Any]) -> None:
        self.table = table
        self.options = options
        self.directory = sink_directory(options["path"])
        self.format = options["format"]
        self.default_name = options.get("partition.default-name") or DEFAULT_PARTITION_NAME
        self.rolling = RollingPolicy(options)
        self.committer = PartitionCommitter(
            self.directory, options, check_partition_options(options, bool(table.partition_keys)))
        self._buckets: dict[tuple[str, bool], _Bucket] = {}
        self._created: dict[str, int] = {}  # partition -> processing time of its first row
        self._last_check = self.committer.now_ms()
        self.watermark: int | None = None
        self._wm_at: dict[int, int | None] = {}  # checkpoint id -> watermark at its barrier
        self.files: list[str] = []
        self.transactional = False
        self._epoch: list[str] = []  # hidden files of the running epoch
        self._pending: list[tuple[int, str]] = []  # (checkpoint id, hidden file) to commit
        self._lock = threading.Lock()

    def begin_transactions(self) -> None:
        self.transactional = True

    def on_watermark(self, timestamp: int) -> None:
        self.watermark = timestamp

    # -- buffering and rolling -------------------------------------------------------------
    def write(self, batch: pa.RecordBatch) -> None:
        data, kind = _split_kind(batch)
        if kind is not None:
            data = data.append_column("row_kind", pc.take(_KINDS, kind.cast(pa.int32())))
        now = self.committer.now_ms()
        for partition, rows in split_by_partition(pa.Table.from_batches([data]), self.table,
                                                  self.default_name):
            self._created.setdefault(partition, now)
            self._append((partition, kind is not None), rows, now)
        if now - self._last_check >= self.rolling.check_ms:
            self._last_check = now
            for key, bucket in list(self._buckets.items()):
                if now - bucket.opened_ms >= self.rolling.rollover_ms:
                    self._roll(key)

    def _append(self, key: tuple[str, bool], rows: pa.Table, now: int) -> None:
        """Buffer ``rows``, rolling whenever the bucket reaches the file size (slices of the
        input fill each file up to the size)."""
        per_row = max(1, rows.nbytes // max(1, rows.num_rows))
        while rows.num_rows:
            bucket = self._buckets.setdefault(key, _Bucket(now))
            room = max(1, (self.rolling.file_size - bucket.nbytes) // per_row)
            part, rows = rows.slice(0, room), rows.slice(room)
            bucket.batches.append(part)
            bucket.nbytes += part.num_rows * per_row
            if bucket.nbytes >= self.rolling.file_size:
                self._roll(key)

    def _roll(self, key: tuple[str, bool]) -> None:
        bucket = self._buckets.pop(key, None)
        if bucket is None or not bucket.batches:
            return
        partition, changelog = key
        cols = data_columns(self.table) + ([Column("row_kind", "STRING")] if changelog else [])
        folder = os.path.join(self.directory, partition) if partition else self.directory
        os.makedirs(folder, exist_ok=True)
        _, path = write_part_file(pa.concat_tables(bucket.batches), folder, self.format,
                                  cols, self.options, hidden=self.transactional)
        if path and self.transactional:
            self._epoch.append(path)
        elif path:
            self.files.append(path)

    def _flush(self) -> None:
        for key in list(self._buckets):
            self._roll(key)

    def flush(self) -> None:
        """Write what is buffered now (a savepoint of a job without checkpointing)."""
        self._flush()

    # -- exactly-once commit -----------------------------------------------------------------
    def prepare_commit(self, checkpoint_id: int) -> pa.Table:
        """Close every part file; returns the state: every uncommitted hidden file with its
        checkpoint, and the partitions waiting for their partition commit."""
        self._flush()
        with self._lock:
            self._pending.extend((checkpoint_id, f) for f in self._epoch)
            self._epoch = []
            self._wm_at[checkpoint_id] = self.watermark
            waiting = dict(self.committer.waiting)
            rows = [(n, f, None, None) for n, f in self._pending]
            rows += [(checkpoint_id, None, p, t) for p, t in waiting.items()]
        return pa.table({
            "checkpoint": pa.array([r[0] for r in rows], pa.int64()),
            "file": pa.array([r[1] for r in rows], pa.string()),
            "partition": pa.array([r[2] for r in rows], pa.string()),
            "created": pa.array([r[3] for r in rows], pa.int64()),
            "watermark": pa.array([self._wm_at.get(r[0]) for r in rows], pa.int64()),
        })

    def commit(self, checkpoint_id: int) -> None:
        with self._lock:
            due = [f for n, f in self._pending if n <= checkpoint_id]
            self._pending = [(n, f) for n, f in self._pending if n > checkpoint_id]
            marks = [w for n, w in self._wm_at.items() if n <= checkpoint_id and w is not None]
            self._wm_at = {n: w for n, w in self._wm_at.items() if n > checkpoint_id}
        for hidden in due:
            self._publish(hidden)
        self.committer.commit_ready(max(marks) if marks else None)

    def recover(self, state: pa.Table | list[tuple[int, str]]) -> None:
        """Commit the files of a restored, complete checkpoint; partitions wait again."""
        rows = state.to_pylist() if isinstance(state, pa.Table) else [
            {"checkpoint": n, "file": f} for n, f in state]
        for r in rows:
            if r.get("partition"):
                self.committer.add(r["partition"], int(r["created"] or 0))
        for r in rows:
            if r.get("file"):
                self._publish(r["file"])
        marks = [r["watermark"] for r in rows if r.get("watermark") is not None]
        self.committer.commit_ready(max(marks) if marks else None)

    def _publish(self, hidden: str) -> None:
        final = visible_name(hidden)
        try:
            os.replace(hidden, final)
        except FileNotFoundError:
            if not os.path.exists(final):
                raise ConnectorError(f"part file {hidden} to commit is missing") from None
        else:
            self.files.append(final)
        partition = os.path.relpath(os.path.dirname(final), self.directory)
        if partition != ".":
            self.committer.add(partition.replace(os.sep, "/"),
                               self._created.get(partition, self.committer.now_ms()))

    def finish(self) -> None:
        """Write what is buffered; in transactional mode the files stay hidden until
        :meth:`commit_all` (the JobManager's word that the whole job finished). Without
        checkpointing, every partition written is committed now."""
        self._flush()
        if not self.transactional:
            for path in self.files:
                partition = os.path.relpath(os.path.dirname(path), self.directory)
                if partition != ".":
                    self.committer.add(partition.replace(os.sep, "/"), 0)
            self.committer.commit_everything()

    def commit_all(self) -> None:
        with self._lock:
            due = [f for _, f in self._pending] + self._epoch
            self._pending, self._epoch = [], []
        for hidden in due:
            self._publish(hidden)
        self.committer.commit_everything()
