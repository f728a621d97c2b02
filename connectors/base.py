"""The connector contract.

A connector is a folder with a :class:`ConnectorFactory` subclass. The factory:
1. declares its options (:class:`OptionSpec`: key, type, required, default, description);
   keys may hold one ``<name>`` placeholder, e.g. ``fields.<field>.kind``;
2. validates a table's options at planning time (:meth:`ConnectorFactory.validate`): an
   unknown, missing or ill-typed option raises ``ConnectorError`` that names the option and
   lists the valid ones; the result is a dict of typed values (ints, bools, durations in ms);
3. builds runtime objects from a table definition and those validated options:
   - bounded scans for batch mode (:class:`BatchScan`: DuckDB SQL over files, or Arrow data),
   - sinks for batch mode (:class:`BatchSink`),
   - streaming readers and writers (:class:`SourceReader`, :class:`SinkWriter`), which live
     in the connector's own folder (``connectors/<name>/``).

Layering (architecture §1): connectors never import the planner, the runtime or the
operators; they see only ``catalog.table`` records, Arrow and the shared low-level modules
(``flowsql.errors``, ``flowsql.types``, ``flowsql.messages``). The streaming contract
(:class:`SourceReader`, :class:`SinkWriter`) is declared here, in the lower layer, and the
operators consume it (:mod:`flowsql.operators.source` drives a reader,
:mod:`flowsql.operators.sink` a writer), so the import points down from operators to
connectors and never back.

Streaming contract:
- A :class:`SourceReader` lists its ``splits()`` (JSON-able strings: files, Kafka partitions,
  generator shards) and ``read(split)`` yields ``pyarrow.RecordBatch`` objects, or ``None``
  when no data is available right now (an unbounded split that is waiting; a reader must
  never block for long inside ``next()``). A bounded split's iterator ends; an unbounded one
  never does. ``position(split)`` (for checkpoints) is a JSON-able dict meaning "resume
  *after* the last record read"; ``seek(split, position)`` before ``read(split)`` resumes
  there. A reader without positions returns None and cannot be restored. A reader's batches
  hold :func:`source_columns`: the physical columns, then the metadata columns when its
  factory declares :meth:`ConnectorFactory.readable_metadata`. A factory that sets
  ``can_project`` takes ``source_reader(..., project=[names])``: its reader's batches then
  hold only those columns (a subset of :func:`source_columns`, in that order); the planner
  asks for it only on append-only sources.
- A :class:`SinkWriter` has ``write(batch)`` (called for every non-empty input batch, in
  order) and ``finish()`` (called once at end of input, after the final watermark).
  A writer may add ``bind_subtask(index, parallelism)`` (called when its subtask opens) and
  ``flush()`` (called at every checkpoint barrier of a non-transactional writer). A writer's
  batches hold :func:`sink_columns` (physical, then writable metadata columns). It may add
  transactional hooks (``begin_transactions``, ``prepare_commit``,
  ``commit``, ``recover``, ``commit_all``; see the filesystem connector), which the sink
  operator calls at checkpoints.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa

from catalog.table import Column, TableDefinition
from flowsql.errors import ConnectorError, NotSupportedError
from flowsql.types import parse_type, to_arrow

OptionType = Literal["string", "int", "float", "bool", "duration", "enum", "char"]


@dataclass(frozen=True)
class OptionSpec:
    key: str
    type: OptionType = "string"
    required: bool = False
    default: str | None = None
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass
class BatchScan:
    """How batch mode reads a bounded table.

    Exactly one of ``duckdb_sql`` (a DuckDB table expression such as
    ``read_parquet(['/data/a.parquet'])`` that yields the physical columns with their names and
    types) or ``arrow`` (a callable returning a ``pa.Table`` / ``pa.RecordBatchReader``) is set.
    ``allowed_paths`` are the files/directories the scan may read: the DuckDB sandbox
    permits exactly these. ``metadata_columns`` names the table's metadata columns that the
    data carries after the physical ones (the others read as NULL).
    Calling ``arrow`` does the reading; it may raise ``MalformedRecordError`` (a record that
    cannot be decoded, with its file and line) or ``ConnectorError`` (I/O problems).
    """

    duckdb_sql: str | None = None
    arrow: Callable[[], pa.Table | pa.RecordBatchReader] | None = None
    allowed_paths: list[str] = field(default_factory=list)
    metadata_columns: tuple[str, ...] = ()  # metadata columns the data carries (else NULL)


class BatchSink(abc.ABC):
    """Writes a bounded result. ``write`` returns the number of rows written."""

    @abc.abstractmethod
    def write(self, data: pa.RecordBatchReader | pa.Table) -> int: ...

    @property
    def allowed_paths(self) -> list[str]:
        """Paths the sink writes to (for the DuckDB sandbox, when it writes via DuckDB)."""
        return []


class SourceReader(abc.ABC):
    """A connector's streaming reader. One instance per source subtask."""

    bounded: bool = True

    @abc.abstractmethod
    def splits(self) -> list[str]:
        """All splits of the source, in a stable order (the same in every subtask)."""

    @abc.abstractmethod
    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        """Batches of one split; ``None`` means "no data right now"."""

    def position(self, split: str) -> dict[str, Any] | None:
        """For checkpoints: where to resume after the last batch read (None: not restorable)."""
        return None

    def seek(self, split: str, position: dict[str, Any]) -> None:
        raise NotSupportedError("restoring a source position")

    def close(self) -> None:
        return None


class SinkWriter(Protocol):
    """A connector's streaming writer. One instance per sink subtask."""

    def write(self, batch: pa.RecordBatch) -> None: ...

    def finish(self) -> None: ...


class ConnectorFactory(abc.ABC):
    """Declares options and builds sources and sinks for one ``'connector' = '<identifier>'``."""

    identifier: str = ""

    @abc.abstractmethod
    def option_specs(self) -> list[OptionSpec]:
        """Every option this connector accepts (besides ``connector``)."""

    def validate(self, table: TableDefinition) -> dict[str, Any]:
        """Validate ``table.options``; return typed values. See connectors.options."""
        from connectors.options import validate_options

        return validate_options(self.identifier, self.option_specs(), table.options, table)

    def readable_metadata(self) -> dict[str, str]:
        """Metadata keys the source delivers (``METADATA [FROM 'key']`` columns) → Flink type.
        Empty (the default): metadata columns read as NULL."""
        return {}

    def writable_metadata(self) -> dict[str, str]:
        """Metadata keys the sink writes from non-VIRTUAL metadata columns → Flink type. Empty
        (the default): metadata columns are not written."""
        return {}

    def batch_scan(self, table: TableDefinition, options: dict[str, Any]) -> BatchScan:
        raise ConnectorError(f"connector '{self.identifier}' cannot be read as a source")

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        raise ConnectorError(f"connector '{self.identifier}' cannot be written as a sink")

    def source_reader(
        self, table: TableDefinition, options: dict[str, Any], *, parallelism: int = 1
    ) -> SourceReader:
        """Streaming: a :class:`SourceReader` (splits + batches) for one
        source subtask; ``parallelism`` is the source's parallelism (a hint for sharding)."""
        raise ConnectorError(f"connector '{self.identifier}' cannot be read as a streaming source")

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> SinkWriter:
        """Streaming: a :class:`SinkWriter` (``write(batch)``/``finish()``)
        for one sink subtask."""
        raise ConnectorError(f"connector '{self.identifier}' cannot be written as a streaming sink")

    can_lookup: bool = False  # True where create_lookup is implemented
    # True where source_reader takes ``project=[column names]`` (module docstring)
    can_project: bool = False

    def create_lookup(self, table: TableDefinition, options: dict[str, Any],
                      key_names: tuple[str, ...]) -> Any:
        """Lookup joins: a :class:`connectors.lookup.LookupSource` answering key lookups on
        ``key_names`` (physical columns of ``table``); see :mod:`connectors.lookup`."""
        raise ConnectorError(f"connector '{self.identifier}' cannot be looked up")


def columns_schema(columns: Iterable[Column]) -> pa.Schema:
    """Arrow schema of ``columns`` (their declared Flink types), in order."""
    fields = []
    for c in columns:
        t = parse_type(c.data_type or "STRING")
        fields.append(pa.field(c.name, to_arrow(t), t.nullable))
    return pa.schema(fields)


def physical_schema(table: TableDefinition) -> pa.Schema:
    """Arrow schema of the table's physical columns, in order."""
    return columns_schema(table.physical_columns)


def source_columns(table: TableDefinition, factory: ConnectorFactory) -> tuple[Column, ...]:
    """The columns a source reader (and a ``BatchScan``) delivers, in this order: the physical
    columns, then the metadata columns when the connector declares readable metadata
    (:meth:`ConnectorFactory.readable_metadata`); otherwise the physical columns only."""
    physical = table.physical_columns
    if not _declared(factory, "readable_metadata"):
        return physical
    return physical + tuple(c for c in table.columns if c.kind == "metadata")


def _declared(factory: Any, method: str) -> dict[str, str]:
    """A factory's declared metadata; a factory that is no :class:`ConnectorFactory` (a plugin
    written against the duck-typed contract) declares none."""
    declare = getattr(factory, method, None)
    return declare() if callable(declare) else {}


def sink_columns(table: TableDefinition, factory: ConnectorFactory) -> tuple[Column, ...]:
    """The columns a sink writer receives, in this order: the physical columns, then the
    non-VIRTUAL metadata columns when the connector declares writable metadata
    (:meth:`ConnectorFactory.writable_metadata`; as in Flink, such a column whose key is not
    writable is an error: declare it VIRTUAL); otherwise the physical columns only."""
    writable = _declared(factory, "writable_metadata")
    if not writable:
        return table.physical_columns
    metadata = []
    for c in table.columns:
        if c.kind != "metadata" or c.virtual:
            continue
        key = c.metadata_key or c.name
        if key not in writable:
            raise ConnectorError(
                f"Metadata column '{c.name}' ('{key}') of {table.name} cannot be written by "
                f"connector '{factory.identifier}'",
                hint=f"Declare it VIRTUAL to only read it. Writable metadata: {', '.join(writable)}",
            )
        metadata.append(c)
    return table.physical_columns + tuple(metadata)


def source_schema(table: TableDefinition, factory: ConnectorFactory) -> pa.Schema:
    """Arrow schema of :func:`source_columns`."""
    return columns_schema(source_columns(table, factory))


def iter_batches(data: pa.Table | pa.RecordBatchReader) -> Iterable[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        yield from data.to_batches()
    else:
        yield from data


def shard_count(split: str, default: int) -> int:
    """How many shards a generator split ``shard-<i>-of-<n>`` belongs to: ``n``, so a split
    restored from a checkpoint taken at another parallelism keeps stepping by its own count."""
    _, sep, count = split.rpartition("-of-")
    return int(count) if sep and count.isdigit() else default
