"""``'connector' = 'kafka'``: Flink's Kafka connector options, source, sink and bounded batch scan.

Contract:
- Options: :data:`connectors.kafka.options.KAFKA_OPTIONS` (Flink's names), validated by
  :func:`connectors.options.validate_options` (an unknown option is named with the valid ones
  listed) and then by :func:`connectors.kafka.options.kafka_config` (topic or pattern,
  formats, key fields, startup and bounded modes); an option of a format the table does not
  use is rejected. Metadata columns must use a key of
  :data:`connectors.kafka.decode.METADATA`.
- :meth:`KafkaFactory.readable_metadata` declares those keys, so the planner reads metadata
  columns from the source instead of filling them with NULL.
- Streaming source: :class:`connectors.kafka.reader.KafkaReader` (one split per partition;
  an unbounded one discovers partitions added later, ``scan.topic-partition-discovery.interval``);
  it is bounded when ``scan.bounded.mode`` is not ``unbounded``.
- Batch mode: a bounded table is read through :class:`BatchScan` ``arrow`` (every split read
  to its stop offset, into one Arrow table); an unbounded one is a ``ConnectorError``.
- A PRIMARY KEY is refused unless the value format is a changelog format (Flink's rule: an
  append-only topic cannot keep the key's semantics; ``upsert-kafka`` can).
- Changelog value formats (``debezium-json``, ``canal-json``, ``maxwell-json``): the source
  is a changelog (:meth:`KafkaFactory.source_changelog_mode` = ``retract``, +I/-U/+U/-D);
  batch mode refuses it (as Flink does) and the sink does not write these formats yet.
- Sink: non-VIRTUAL metadata columns ``headers`` and ``timestamp`` are written
  (:meth:`KafkaFactory.writable_metadata`); other non-VIRTUAL metadata columns make an INSERT
  fail, as in Flink. :class:`connectors.kafka.writer.KafkaWriter` (streaming) and
  :class:`connectors.kafka.writer.KafkaBatchSink` (batch mode), append-only;
  ``sink.delivery-guarantee`` = ``none`` | ``at-least-once`` | ``exactly-once``
  (:class:`connectors.kafka.transactions.ExactlyOnceWriter`: Kafka transactions committed
  with checkpoints; its design is in that module's docstring).
- :meth:`KafkaFactory.check_sink_job` (called by the planner with the session's settings):
  ``exactly-once`` needs ``sink.transactional-id-prefix`` and checkpointing, and a
  ``transaction.timeout.ms`` of at least the checkpoint interval.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from catalog.table import TableDefinition
from connectors.base import BatchScan, BatchSink, ConnectorFactory, OptionSpec
from connectors.formats.cdc_json import CDC_FORMATS, batch_read_error
from connectors.kafka.decode import METADATA, WRITABLE_METADATA, metadata_columns
from connectors.kafka.options import (
    FORMATS,
    KAFKA_OPTIONS,
    KafkaConfig,
    check_formats,
    check_source,
    kafka_config,
)
from connectors.options import validate_options
from flowsql.errors import ConnectorError, NotSupportedError


class KafkaFactory(ConnectorFactory):
    identifier = "kafka"

    def option_specs(self) -> list[OptionSpec]:
        return list(KAFKA_OPTIONS)

    def readable_metadata(self) -> dict[str, str]:
        return dict(METADATA)

    def writable_metadata(self) -> dict[str, str]:
        return dict(WRITABLE_METADATA)

    def source_changelog_mode(self, table: TableDefinition) -> str:
        """``retract`` when the value format is a changelog format (debezium-json, ...)."""
        fmt = table.options.get("value.format") or table.options.get("format")
        return "retract" if fmt in CDC_FORMATS else "append"

    def validate(self, table: TableDefinition) -> dict[str, Any]:
        options = validate_options(self.identifier, self.option_specs(), table.options, table)
        config = kafka_config(options, [c.name for c in table.physical_columns])
        used = {config.value_format, config.key_format}
        for key in table.options:
            prefix = key.split(".", 1)[0]
            if prefix in FORMATS and prefix not in used and "." in key:
                raise ConnectorError(
                    f"Unsupported option '{key}' for connector 'kafka' with format "
                    f"'{config.value_format}'",
                    hint=f"Options of format '{config.value_format}' start with "
                         f"'{config.value_format}.'",
                )
        check_formats(config, table.physical_columns)
        if table.primary_key is not None and config.value_format not in CDC_FORMATS:
            raise ConnectorError(
                f"The Kafka table {table.name} with '{config.value_format}' format doesn't "
                "support defining PRIMARY KEY constraint on the table, because it can't "
                "guarantee the semantic of primary key",
                hint="Use the 'upsert-kafka' connector for a table keyed by its PRIMARY KEY.")
        metadata_columns(table)
        return options

    @staticmethod
    def config(table: TableDefinition, options: dict[str, Any]) -> KafkaConfig:
        return kafka_config(options, [c.name for c in table.physical_columns])

    def source_reader(
        self, table: TableDefinition, options: dict[str, Any], *, parallelism: int = 1
    ) -> Any:
        from connectors.kafka.reader import KafkaReader

        config = self.config(table, options)
        check_source(config)
        return KafkaReader(table, config)

    def batch_scan(self, table: TableDefinition, options: dict[str, Any]) -> BatchScan:
        config = self.config(table, options)
        check_source(config)
        if config.value_format in CDC_FORMATS:
            raise batch_read_error(table, f"format '{config.value_format}'")
        if config.bounded == "unbounded":
            raise ConnectorError(
                f"Kafka table {table.name} is unbounded and cannot be read in batch mode",
                hint="Set 'scan.bounded.mode' (latest-offset, group-offsets, timestamp or "
                     "specific-offsets) to read it to a fixed end.",
            )
        return BatchScan(arrow=lambda: read_bounded(table, config),
                         metadata_columns=tuple(c.name for c in metadata_columns(table)))

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> Any:
        from connectors.kafka.transactions import ExactlyOnceWriter
        from connectors.kafka.writer import KafkaWriter

        config = self._sink_config(table, options)
        if config.delivery == "exactly-once":
            return ExactlyOnceWriter(table, config)
        return KafkaWriter(table, config)

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        from connectors.kafka.writer import KafkaBatchSink

        return KafkaBatchSink(table, self._sink_config(table, options))

    def check_sink_job(self, table: TableDefinition, settings: Any) -> None:
        """Planning: an exactly-once sink against the job's checkpoint interval."""
        from connectors.kafka.transactions import check_settings

        check_settings(self._sink_config(table, self.validate(table)), settings)

    def _sink_config(self, table: TableDefinition, options: dict[str, Any]) -> KafkaConfig:
        config = self.config(table, options)
        if config.value_format in CDC_FORMATS:
            raise NotSupportedError(f"writing the '{config.value_format}' format to kafka",
                                    hint="It is a source format here; write json, csv or raw.")
        if config.pattern:
            raise ConnectorError("A kafka sink needs 'topic' (one topic), not 'topic-pattern'")
        if len(config.topics) != 1:
            raise ConnectorError("A kafka sink writes to one topic; 'topic' lists "
                                 f"{len(config.topics)}")
        return config


def read_bounded(table: TableDefinition, config: KafkaConfig) -> pa.Table:
    """Batch mode: every partition read to its stop offset (round-robin), as one table."""
    from connectors.kafka.reader import KafkaReader

    reader = KafkaReader(table, config)
    try:
        iterators = [reader.read(s) for s in reader.splits()]
        batches: list[pa.RecordBatch] = []
        while iterators:
            for it in list(iterators):
                try:
                    batch = next(it)
                except StopIteration:
                    iterators.remove(it)
                    continue
                if batch is not None and batch.num_rows:
                    batches.append(batch)
        schema = reader.decoder.schema
        if not batches:
            return schema.empty_table()
        return pa.concat_tables([pa.Table.from_batches([b]) for b in batches],
                                promote_options="permissive")
    finally:
        reader.close()
