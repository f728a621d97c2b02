"""``'connector' = 'datagen'``: Flink's generator source, bounded when asked to be.

Contract:
- Options (Flink's): ``number-of-rows`` (bounded source; without it and without a sequence
  field the source is unbounded), ``rows-per-second`` (streaming pace), ``scan.parallelism``,
  and per physical column ``fields.<field>.kind`` (random | sequence), ``.min``, ``.max``,
  ``.max-past``, ``.length``, ``.var-len``, ``.start``, ``.end``, ``.null-rate``; plus FlowSQL's
  ``seed`` (an integer making the data reproducible). Without it the seed is drawn once per
  process and table name (:func:`unseeded_seed`), so every scan of one table in a job (a
  self-join such as Nexmark q5 or q7) reads the same rows, as Flink's reused source scan does.
- :meth:`DatagenFactory.generator` builds the :class:`DatagenGenerator` (also for streaming);
  field options are checked there (a sequence needs start and end, min ≤ max, ...).
- Projection (``can_project``): the streaming source generates only the columns the planner
  names (``source_reader(..., project=...)``), with the values they have in the whole table.
- :meth:`DatagenFactory.batch_scan` returns the rows lazily as an Arrow RecordBatchReader;
  an unbounded table raises ``ConnectorError`` saying batch mode needs 'number-of-rows'.
"""

from __future__ import annotations

import secrets
import zlib
from typing import Any

from catalog.table import TableDefinition
from connectors.base import BatchScan, ConnectorFactory, OptionSpec
from connectors.datagen.generator import DatagenGenerator, fields_from_options
from connectors.datagen.reader import DatagenReader
from connectors.options import validate_options
from flowsql.errors import ConnectorError

DATAGEN_OPTIONS: list[OptionSpec] = [
    OptionSpec("number-of-rows", "int", description="Total rows to emit (bounded source)."),
    OptionSpec("rows-per-second", "int", default="10000", description="Rows per second emitted."),
    OptionSpec("scan.parallelism", "int", description="Source parallelism."),
    OptionSpec("seed", "int", description="FlowSQL: random seed making the data reproducible."),
    OptionSpec("fields.<field>.kind", "enum", choices=("random", "sequence"),
               description="Generator kind of the column (default random)."),
    OptionSpec("fields.<field>.min", "string", description="Minimum of a random value."),
    OptionSpec("fields.<field>.max", "string", description="Maximum of a random value."),
    OptionSpec("fields.<field>.max-past", "duration",
               description="Maximum past of a random timestamp, relative to now."),
    OptionSpec("fields.<field>.length", "int", description="Length of random strings/bytes."),
    OptionSpec("fields.<field>.var-len", "bool", description="Random string/bytes lengths."),
    OptionSpec("fields.<field>.start", "string", description="First value of a sequence."),
    OptionSpec("fields.<field>.end", "string", description="Last value of a sequence."),
    OptionSpec("fields.<field>.null-rate", "float", description="Fraction of NULL values."),
]


_PROCESS_SEED = secrets.randbits(62)


def unseeded_seed(table: TableDefinition) -> int:
    """The seed of a table without a ``seed`` option: random per process, fixed per table."""
    return _PROCESS_SEED ^ zlib.crc32(str(table.name).encode())


class DatagenFactory(ConnectorFactory):
    identifier = "datagen"

    def option_specs(self) -> list[OptionSpec]:
        return list(DATAGEN_OPTIONS)

    def validate(self, table: TableDefinition) -> dict[str, Any]:
        options = validate_options(self.identifier, self.option_specs(), table.options, table)
        for key in ("number-of-rows", "rows-per-second"):
            if options.get(key) is not None and options[key] < 0:
                raise ConnectorError(f"Option '{key}' must not be negative, got {options[key]}")
        self.generator(table, options)  # checks the field options
        return options

    def generator(self, table: TableDefinition, options: dict[str, Any]) -> DatagenGenerator:
        columns = [(c.name, c.data_type or "STRING") for c in table.physical_columns]
        return DatagenGenerator(
            fields_from_options(columns, options),
            number_of_rows=options.get("number-of-rows"),
            seed=options["seed"] if options.get("seed") is not None else unseeded_seed(table),
            rows_per_second=options.get("rows-per-second"),
        )

    def batch_scan(self, table: TableDefinition, options: dict[str, Any]) -> BatchScan:
        gen = self.generator(table, options)
        if not gen.bounded:
            raise ConnectorError(
                f"Table {table.name} is an unbounded datagen source; batch mode needs "
                "'number-of-rows' (or a 'sequence' field)",
                hint="Add 'number-of-rows' = '<n>' to the table's options, or run in "
                "streaming mode (SET 'execution.runtime-mode' = 'streaming').",
            )
        return BatchScan(arrow=gen.reader)

    can_project = True

    def source_reader(
        self, table: TableDefinition, options: dict[str, Any], *, parallelism: int = 1,
        project: list[str] | None = None,
    ) -> Any:
        """Streaming: generator shards (see :class:`connectors.datagen.reader.DatagenReader`);
        ``project``: generate only these columns (:meth:`DatagenGenerator.project`)."""
        generator = self.generator(table, options)
        if project is not None:
            generator = generator.project(project)
        return DatagenReader(generator, shards=parallelism)
