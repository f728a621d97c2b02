"""``'connector' = 'filesystem'``: options, bounded scan and part-file sink.

Contract:
- Options: ``path`` (required; a file, a directory or a glob), ``format`` (required:
  csv | json | parquet), the format's own ``csv.*`` / ``json.*`` / ``parquet.*`` options (an
  option of another format is rejected), ``sink.rolling-policy.file-size`` /
  ``rollover-interval`` / ``check-interval`` (streaming sink, :mod:`.commit`), the partition
  options of :data:`connectors.filesystem.commit.PARTITION_OPTIONS`, and
  ``source.monitor-interval`` / ``sink.rolling-policy.inactivity-interval`` /
  ``sink.parallelism`` accepted for Flink compatibility.
- :meth:`FilesystemFactory.batch_scan`: parquet is a DuckDB ``read_parquet`` table expression
  (``BatchScan.duckdb_sql``); csv and json are read by the format readers into Arrow
  (``BatchScan.arrow``) so malformed records are reported with file and line (see
  :mod:`connectors.formats.csv_format`). ``allowed_paths`` are the paths the table names.
- :meth:`FilesystemFactory.batch_sink`: each ``write`` adds one ``part-<uuid>-0.<ext>`` file to
  the directory named by ``path`` (created if missing; one file per partition directory for
  a PARTITIONED BY table, then the partition commit policy runs for those partitions) and
  returns the rows written.
- PARTITIONED BY tables use Hive-style ``k=v`` directories (:mod:`.partitions`); both modes
  read the partition columns back from the directory names (batch mode reads such a table
  through Arrow, file by file).
- ``debezium-json`` / ``canal-json`` / ``maxwell-json``: the streaming source is a changelog
  (+I/-U/+U/-D, :mod:`connectors.formats.cdc_json`; :meth:`source_changelog_mode`); batch
  mode refuses to read them (as Flink does) and neither mode writes them yet; they cannot be
  PARTITIONED BY yet.
- Projection (``can_project``): the streaming source reads only the physical columns the
  planner names (``source_reader(..., project=...)``; parquet columns, csv fields converted,
  json keys extracted; partition columns from the directories; a changelog format decodes
  whole rows). Batch mode reads parquet through DuckDB, which reads only the columns the
  query uses; batch csv / json scans and lookup tables read every column.
- :meth:`FilesystemFactory.create_lookup`: lookup joins read the whole table (csv / json /
  parquet, not the changelog formats) into a :class:`connectors.lookup.FullCache`, reloaded
  on the ``lookup.*`` options (:data:`connectors.lookup.LOOKUP_OPTIONS`).
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from catalog.table import TableDefinition
from connectors.base import BatchScan, BatchSink, ConnectorFactory, OptionSpec, physical_schema
from connectors.filesystem.commit import (
    PARTITION_OPTIONS,
    PartitionCommitter,
    check_partition_options,
    parse_memory_size,
)
from connectors.filesystem.partitions import (
    DEFAULT_PARTITION_NAME,
    data_columns,
    split_by_partition,
)
from connectors.filesystem.paths import resolve_source, sink_directory
from connectors.filesystem.streaming import FilesReader, FilesystemWriter, read_file
from connectors.formats.cdc_json import CDC_FORMATS, CDC_OPTIONS, batch_read_error
from connectors.formats.csv_format import CSV_OPTIONS, read_csv
from connectors.formats.json_format import JSON_OPTIONS, read_json
from connectors.formats.parquet_format import parquet_scan_sql
from connectors.formats.writer import write_part_file
from connectors.lookup import LOOKUP_OPTIONS, FullCache, reload_interval_ms
from connectors.options import validate_options
from flowsql.errors import ConnectorError, NotSupportedError

FORMATS = ("csv", "json", "parquet", *CDC_FORMATS)

FILESYSTEM_OPTIONS: list[OptionSpec] = [
    OptionSpec("path", "string", required=True,
               description="A file, a directory (read recursively) or a glob such as /data/*.csv."),
    OptionSpec("format", "enum", required=True, choices=FORMATS, description="File format."),
    OptionSpec("source.monitor-interval", "duration",
               description="Accepted for Flink compatibility (directory monitoring)."),
    OptionSpec("sink.rolling-policy.file-size", "string", default="128MB",
               description="Streaming sink: roll a part file at this size (of buffered rows)."),
    OptionSpec("sink.rolling-policy.rollover-interval", "duration", default="30 min",
               description="Streaming sink: roll a part file open this long."),
    OptionSpec("sink.rolling-policy.check-interval", "duration", default="1 min",
               description="Streaming sink: how often part files' age is checked."),
    OptionSpec("sink.rolling-policy.inactivity-interval", "duration",
               description="Accepted for Flink compatibility."),
    OptionSpec("sink.parallelism", "int", description="Accepted for Flink compatibility."),
    OptionSpec("parquet.<key>", "string", description="Parquet writer settings (accepted)."),
    *PARTITION_OPTIONS,
]


class FilesystemSink(BatchSink):
    """Writes each bounded result as one part file into ``directory``."""

    def __init__(self, table: TableDefinition, directory: str, fmt: str, options: dict[str, Any]):
        self.table = table
        self.directory = directory
        self.format = fmt
        self.options = options
        self.files: list[str] = []

    def write(self, data: pa.RecordBatchReader | pa.Table) -> int:
        if not self.table.partition_keys:
            rows, path = write_part_file(
                data, self.directory, self.format, self.table.physical_columns, self.options
            )
            if path is not None:
                self.files.append(path)
            return rows
        table = data.read_all() if isinstance(data, pa.RecordBatchReader) else data
        default = self.options.get("partition.default-name") or DEFAULT_PARTITION_NAME
        committer = PartitionCommitter(
            self.directory, self.options, check_partition_options(self.options, True))
        total = 0
        for partition, part in split_by_partition(table, self.table, default):
            folder = os.path.join(self.directory, partition)
            os.makedirs(folder, exist_ok=True)
            rows, path = write_part_file(part, folder, self.format, data_columns(self.table),
                                         self.options)
            total += rows
            if path is not None:
                self.files.append(path)
                committer.add(partition, 0)
        committer.commit_everything()  # the bounded result is complete (as Flink's batch sink)
        return total

    @property
    def allowed_paths(self) -> list[str]:
        return [self.directory]


class FilesystemFactory(ConnectorFactory):
    identifier = "filesystem"

    def option_specs(self) -> list[OptionSpec]:
        return [*FILESYSTEM_OPTIONS, *CSV_OPTIONS, *JSON_OPTIONS, *CDC_OPTIONS, *LOOKUP_OPTIONS]

    def source_changelog_mode(self, table: TableDefinition) -> str:
        """``retract`` for the changelog formats (debezium-json, canal-json, maxwell-json)."""
        return "retract" if table.options.get("format") in CDC_FORMATS else "append"

    def validate(self, table: TableDefinition) -> dict[str, Any]:
        options = validate_options(self.identifier, self.option_specs(), table.options, table)
        fmt = options["format"]
        for key in table.options:
            prefix = key.split(".", 1)[0]
            if prefix in FORMATS and prefix != fmt and "." in key:
                raise ConnectorError(
                    f"Unsupported option '{key}' for connector 'filesystem' with format '{fmt}'",
                    hint=f"Options of format '{fmt}' start with '{fmt}.'",
                )
        parse_memory_size("sink.rolling-policy.file-size", options["sink.rolling-policy.file-size"])
        check_partition_options(options, bool(table.partition_keys))
        return options

    def batch_scan(self, table: TableDefinition, options: dict[str, Any]) -> BatchScan:
        self._check_partitions(table)
        files, allowed = resolve_source(options["path"])
        schema = physical_schema(table)
        columns = table.physical_columns
        fmt = options["format"]
        if fmt in CDC_FORMATS:
            raise batch_read_error(table, f"format '{fmt}'")
        if not files:
            return BatchScan(arrow=schema.empty_table, allowed_paths=allowed)
        if table.partition_keys:
            return BatchScan(arrow=lambda: _read_all(files, table, options, schema),
                             allowed_paths=allowed)
        if fmt == "parquet":
            return BatchScan(duckdb_sql=parquet_scan_sql(files, columns), allowed_paths=allowed)
        reader = read_csv if fmt == "csv" else read_json
        return BatchScan(
            arrow=lambda: reader(files, columns, schema, options), allowed_paths=allowed
        )

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        self._check_partitions(table)
        self._check_writable(options)
        directory = sink_directory(options["path"])
        return FilesystemSink(table, directory, options["format"], options)

    can_project = True

    def source_reader(
        self, table: TableDefinition, options: dict[str, Any], *, parallelism: int = 1,
        project: list[str] | None = None,
    ) -> Any:
        """Streaming: one bounded split per file (:class:`connectors.filesystem.streaming.FilesReader`);
        ``project``: read only these physical columns (:func:`.streaming.read_file`)."""
        self._check_partitions(table)
        return FilesReader(table, options, project)

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> Any:
        """Streaming: part files; a changelog input adds a ``row_kind`` column."""
        self._check_partitions(table)
        self._check_writable(options)
        return FilesystemWriter(table, options)

    can_lookup = True

    def create_lookup(self, table: TableDefinition, options: dict[str, Any],
                      key_names: tuple[str, ...]) -> FullCache:
        """Lookup joins: the whole table in a reloading full cache (module contract)."""
        self._check_partitions(table)
        fmt = options["format"]
        if fmt in CDC_FORMATS:
            raise NotSupportedError(f"a lookup join against a '{fmt}' table",
                                    hint="lookup tables are csv, json or parquet files")
        schema = physical_schema(table)

        def load() -> pa.Table:  # partition columns restored as in scans (read_file)
            files, _ = resolve_source(options["path"])
            return _read_all(files, table, options, schema)

        return FullCache(load, key_names, reload_interval_ms(options))

    def sink_accepts_changelog(self, table: TableDefinition) -> bool:
        return True  # written as rows with a row_kind column (append-only files)

    @staticmethod
    def _check_writable(options: dict[str, Any]) -> None:
        if options["format"] in CDC_FORMATS:
            raise NotSupportedError(f"writing the '{options['format']}' format to files",
                                    hint="It is a source format here; write csv, json or parquet.")

    @staticmethod
    def _check_partitions(table: TableDefinition) -> None:
        if table.partition_keys and table.options.get("format") in CDC_FORMATS:
            raise NotSupportedError(
                f"PARTITIONED BY with the '{table.options['format']}' format")


def _read_all(files: list[str], table: TableDefinition, options: dict[str, Any],
              schema: pa.Schema) -> pa.Table:
    parts = []
    for f in files:
        data = read_file(f, table, options)
        parts.append(data.read_all() if isinstance(data, pa.RecordBatchReader) else data)
    return pa.concat_tables(parts) if parts else schema.empty_table()
