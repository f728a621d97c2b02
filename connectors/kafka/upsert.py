"""``'connector' = 'upsert-kafka'``: a Kafka topic as a table keyed by its PRIMARY KEY.

Contract (Flink's upsert-kafka connector):
- Options (:data:`UPSERT_OPTIONS`): ``topic`` (one topic, or a ``;`` list to read),
  ``properties.bootstrap.servers`` and any ``properties.*``, ``key.format`` and
  ``value.format`` (both required; ``json``, ``csv``, ``raw``, ``avro``, and
  ``avro-confluent`` as the value format), ``key.fields-prefix``
  (needs ``value.fields-include`` = ``EXCEPT_KEY``), ``value.fields-include`` (``ALL``
  default), ``sink.parallelism``, ``sink.buffer-flush.max-rows`` +
  ``sink.buffer-flush.interval`` (both > 0 enable the sink buffer),
  ``sink.delivery-guarantee`` (``none`` | ``at-least-once`` | ``exactly-once``, with
  ``sink.transactional-id-prefix`` and ``sink.exactly-once.marker-topic`` as for ``kafka``),
  ``scan.bounded.mode`` and its
  ``scan.bounded.*`` options (FLINK-31740), the json/csv/raw format options. There is no
  ``scan.startup.mode``: a table always reads its topic from the earliest offset.
- A PRIMARY KEY is required; its columns are the message key (``key.fields``), encoded with
  ``key.format``. Without one, planning fails with Flink's explanation.
- Source: the topic is read as an upsert changelog (:class:`connectors.kafka.upsert_io.UpsertReader`):
  a message with a value is an upsert (+U), a tombstone (NULL value) deletes its key (-D).
  :meth:`UpsertKafkaFactory.source_changelog_mode` is ``upsert``, so the planner puts a
  ChangelogNormalize after the source, which turns it into +I/-U/+U/-D against the latest
  row per key. Batch mode cannot read it (as in Flink: only insert-only sources).
- Sink: accepts updating input (:meth:`sink_accepts_changelog`); +I/+U rows are written as
  messages, -D rows as tombstones (the key with a NULL value), -U rows are dropped
  (:class:`connectors.kafka.upsert_io.UpsertWriter`). Batch mode writes every row as an upsert.
- Exactly-once: :class:`connectors.kafka.upsert_io.UpsertExactlyOnceWriter`, the ``kafka``
  sink's transactions over the same messages; with the sink buffer on, an epoch keeps the last
  message per key.
- Not supported yet: ``avro-confluent`` as the key format, a sink that materializes a changelog whose key differs from the PRIMARY
  KEY (Flink's SinkUpsertMaterializer).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from catalog.table import TableDefinition
from connectors.base import BatchScan, BatchSink, ConnectorFactory, OptionSpec
from connectors.formats.cdc_json import CDC_FORMATS, batch_read_error
from connectors.kafka.decode import METADATA, WRITABLE_METADATA, metadata_columns
from connectors.kafka.options import (
    FORMATS,
    KAFKA_OPTIONS,
    KafkaConfig,
    check_formats,
    kafka_config,
)
from connectors.options import validate_options
from flowsql.errors import ConnectorError

IDENTIFIER = "upsert-kafka"
_FROM_KAFKA = (
    "topic", "properties.bootstrap.servers", "properties.<key>", "value.format", "key.format",
    "key.fields-prefix", "value.fields-include", "scan.bounded.mode",
    "scan.bounded.timestamp-millis", "scan.bounded.specific-offsets", "sink.delivery-guarantee",
    "sink.transactional-id-prefix", "sink.exactly-once.marker-topic", "sink.parallelism",
)
UPSERT_OPTIONS: list[OptionSpec] = [
    *(s for s in KAFKA_OPTIONS if s.key in _FROM_KAFKA or s.key.split(".", 1)[0] in FORMATS),
    OptionSpec("sink.buffer-flush.max-rows", "int", default="0",
               description="Rows buffered (last per key) before a flush; 0 disables the buffer."),
    OptionSpec("sink.buffer-flush.interval", "duration", default="0",
               description="Longest time rows stay buffered; 0 disables the buffer."),
]


@dataclasses.dataclass(frozen=True)
class UpsertSettings:
    buffer_rows: int = 0
    buffer_interval_ms: int = 0

    @property
    def buffered(self) -> bool:
        return self.buffer_rows > 0 and self.buffer_interval_ms > 0


class UpsertKafkaFactory(ConnectorFactory):
    identifier = IDENTIFIER

    def option_specs(self) -> list[OptionSpec]:
        return list(UPSERT_OPTIONS)

    def readable_metadata(self) -> dict[str, str]:
        return dict(METADATA)

    def writable_metadata(self) -> dict[str, str]:
        return dict(WRITABLE_METADATA)

    def source_changelog_mode(self, table: TableDefinition) -> str:
        return "upsert"

    def sink_accepts_changelog(self, table: TableDefinition) -> bool:
        return True

    def validate(self, table: TableDefinition) -> dict[str, Any]:
        options = validate_options(self.identifier, self.option_specs(), table.options, table)
        check_formats(self.config(table, options), table.physical_columns)
        metadata_columns(table)
        return options

    @staticmethod
    def config(table: TableDefinition, options: dict[str, Any]) -> KafkaConfig:
        """The options as a :class:`KafkaConfig` (module contract): the primary key is the key."""
        if table.primary_key is None:
            raise ConnectorError(
                f"'upsert-kafka' tables require to define a PRIMARY KEY constraint ({table.name})",
                hint="The PRIMARY KEY specifies which columns are read from or written to the "
                     "Kafka message key, and on which keys rows are updated or deleted: add "
                     "PRIMARY KEY (...) NOT ENFORCED.")
        for key in ("key.format", "value.format"):
            if not options.get(key):
                raise ConnectorError(f"Missing required option '{key}' for connector "
                                     f"'{IDENTIFIER}'", hint="Formats: " + ", ".join(FORMATS))
        if options["value.format"] in CDC_FORMATS:
            raise ConnectorError(
                f"'{IDENTIFIER}' connector doesn't support '{options['value.format']}' as value "
                f"format, because '{options['value.format']}' is not in insert-only mode",
                hint="Value formats of upsert-kafka: json, csv, raw, avro, avro-confluent")
        prefix = options.get("key.fields-prefix") or ""
        if prefix and options.get("value.fields-include") != "EXCEPT_KEY":
            raise ConnectorError(
                "'key.fields-prefix' requires 'value.fields-include' = 'EXCEPT_KEY' for "
                f"connector '{IDENTIFIER}'")
        physical = [c.name for c in table.physical_columns]
        pk = table.primary_key.columns
        if prefix:
            bad = [k for k in pk if not k.startswith(prefix)]
            if bad:
                raise ConnectorError(f"All fields of the PRIMARY KEY must be prefixed with "
                                     f"'{prefix}' when 'key.fields-prefix' is set; "
                                     f"'{bad[0]}' is not")
        full = {**options, "key.fields": ";".join(pk), "scan.startup.mode": "earliest-offset",
                "sink.partitioner": "default"}
        config = kafka_config(full, physical)
        config = dataclasses.replace(config, key_prefix=prefix)
        used = (config.key_format, config.value_format)
        for key in table.options:
            head = key.split(".", 1)[0]
            if head in FORMATS and head not in used and "." in key:
                raise ConnectorError(f"Unsupported option '{key}' for connector '{IDENTIFIER}' "
                                     f"with key format '{used[0]}' and value format '{used[1]}'")
        return config

    @staticmethod
    def settings(options: dict[str, Any]) -> UpsertSettings:
        return UpsertSettings(int(options.get("sink.buffer-flush.max-rows") or 0),
                              int(options.get("sink.buffer-flush.interval") or 0))

    def source_reader(self, table: TableDefinition, options: dict[str, Any], *,
                      parallelism: int = 1) -> Any:
        from connectors.kafka.upsert_io import UpsertReader

        return UpsertReader(table, self.config(table, options))

    def batch_scan(self, table: TableDefinition, options: dict[str, Any]) -> BatchScan:
        raise batch_read_error(table, f"'{IDENTIFIER}'")

    def sink_writer(self, table: TableDefinition, options: dict[str, Any]) -> Any:
        from connectors.kafka.upsert_io import UpsertExactlyOnceWriter, UpsertWriter

        config = self._sink_config(table, options)
        if config.delivery == "exactly-once":
            return UpsertExactlyOnceWriter(table, config, self.settings(options))
        return UpsertWriter(table, config, self.settings(options))

    def check_sink_job(self, table: TableDefinition, settings: Any) -> None:
        """Planning: an exactly-once sink against the job's checkpoint interval (as ``kafka``)."""
        from connectors.kafka.transactions import check_settings

        check_settings(self._sink_config(table, self.validate(table)), settings)

    def batch_sink(self, table: TableDefinition, options: dict[str, Any]) -> BatchSink:
        from connectors.kafka.upsert_io import UpsertBatchSink

        return UpsertBatchSink(table, self._sink_config(table, options), self.settings(options))

    def _sink_config(self, table: TableDefinition, options: dict[str, Any]) -> KafkaConfig:
        config = self.config(table, options)
        if len(config.topics) != 1:
            raise ConnectorError(f"An {IDENTIFIER} sink writes to one topic; 'topic' lists "
                                 f"{len(config.topics)}")
        return config
