"""The ``kafka`` connector's options (Flink's names) and their parsing into a :class:`KafkaConfig`.

Contract of :func:`kafka_config` (called after the generic validation of
:mod:`connectors.options`, which already rejected unknown keys and converted types):
1. exactly one of ``topic`` (one name or a ``;``-separated list) or ``topic-pattern`` (a
   Python regular expression matched against whole topic names) is required; neither, or both,
   is a ``ConnectorError``;
2. ``properties.bootstrap.servers`` is required; every ``properties.<key>`` is passed to
   librdkafka as ``<key>`` unchanged (the client itself rejects a key it does not know);
3. ``format`` and ``value.format`` are synonyms (one is required; the changelog formats
   ``debezium-json``, ``canal-json``, ``maxwell-json`` and ``avro-confluent`` only as a
   value; an avro-confluent value's subject defaults to ``<topic>-value``); ``key.format`` needs
   ``key.fields`` (``;``-separated physical columns) and the reverse; ``value.fields-include``
   = ``EXCEPT_KEY`` leaves the key fields out of the value;
4. ``scan.startup.mode`` = ``timestamp`` needs ``scan.startup.timestamp-millis``, and
   ``specific-offsets`` needs ``scan.startup.specific-offsets``
   (``partition:0,offset:42;partition:1,offset:300``); ``scan.bounded.mode`` likewise with
   ``scan.bounded.*``; a source (:func:`check_source`) in mode ``group-offsets`` needs
   ``properties.group.id``.
5. the sink's delivery options (``sink.delivery-guarantee``, ``sink.partitioner``,
   ``sink.transactional-id-prefix``, ``sink.exactly-once.marker-topic``) are carried as
   given; the factory checks what a sink needs (:meth:`KafkaFactory.check_sink_job`).
6. ``scan.topic-partition-discovery.interval`` (default ``5 min``, as in Flink 2.x) becomes
   ``discovery_ms``; ``0`` or a negative duration (``'-1 ms'``) turns discovery off (``0``).
   Only an unbounded source discovers (:mod:`connectors.kafka.reader`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.table import Column
from connectors.base import OptionSpec
from connectors.formats.avro_confluent import CONFLUENT_OPTIONS
from connectors.formats.avro_format import AVRO_OPTIONS
from connectors.formats.cdc_json import CDC_FORMATS, CDC_OPTIONS
from connectors.formats.csv_format import CSV_OPTIONS
from connectors.formats.json_format import JSON_OPTIONS
from connectors.options import parse_duration_ms
from flowsql.errors import ConnectorError

FORMATS = ("json", "csv", "raw", "avro", "avro-confluent", *CDC_FORMATS)
STARTUP_MODES = ("earliest-offset", "latest-offset", "group-offsets", "timestamp", "specific-offsets")
MARKER_TOPIC = "_flowsql_kafka_commits"
DEFAULT_DISCOVERY = "5 min"  # Flink 2.x's default for the source
BOUNDED_MODES = ("unbounded", "latest-offset", "group-offsets", "timestamp", "specific-offsets")

RAW_OPTIONS: list[OptionSpec] = [
    OptionSpec("raw.charset", "string", default="UTF-8", description="Charset of a raw string value."),
    OptionSpec("raw.endianness", "enum", default="big-endian", choices=("big-endian", "little-endian"),
               description="Accepted for Flink compatibility (raw numeric values are not supported)."),
]

KAFKA_OPTIONS: list[OptionSpec] = [
    OptionSpec("topic", description="Topic name, or several separated by ';'."),
    OptionSpec("topic-pattern", description="Regular expression of the topic names to read."),
    OptionSpec("properties.bootstrap.servers", required=True, description="Kafka brokers, host:port,..."),
    OptionSpec("properties.group.id", description="Consumer group (offsets are committed for monitoring)."),
    OptionSpec("properties.<key>", description="Any librdkafka client property."),
    OptionSpec("format", "enum", choices=FORMATS, description="Value format (same as value.format)."),
    OptionSpec("value.format", "enum", choices=FORMATS, description="Value format."),
    OptionSpec("key.format", "enum", choices=FORMATS, description="Key format (needs key.fields)."),
    OptionSpec("key.fields", description="Physical columns read from / written to the key, ';'-separated."),
    OptionSpec("key.fields-prefix", description="Accepted for Flink compatibility (no prefix is stripped)."),
    OptionSpec("value.fields-include", "enum", default="ALL", choices=("ALL", "EXCEPT_KEY"),
               description="Whether the value holds the key fields too."),
    OptionSpec("scan.startup.mode", "enum", default="group-offsets", choices=STARTUP_MODES,
               description="Where reading starts."),
    OptionSpec("scan.startup.timestamp-millis", "int", description="Start at this timestamp (ms)."),
    OptionSpec("scan.startup.specific-offsets", description="partition:0,offset:42;partition:1,offset:300"),
    OptionSpec("scan.bounded.mode", "enum", default="unbounded", choices=BOUNDED_MODES,
               description="Where reading ends (unbounded: never)."),
    OptionSpec("scan.bounded.timestamp-millis", "int", description="End before this timestamp (ms)."),
    OptionSpec("scan.bounded.specific-offsets", description="partition:0,offset:42;partition:1,offset:300"),
    OptionSpec("scan.topic-partition-discovery.interval", default=DEFAULT_DISCOVERY,
               description="How often an unbounded source looks for new partitions and topics "
                           "('0' or a negative duration: never)."),
    OptionSpec("scan.parallelism", "int", description="Accepted for Flink compatibility."),
    OptionSpec("sink.delivery-guarantee", "enum", default="at-least-once",
               choices=("none", "at-least-once", "exactly-once"), description="Sink delivery guarantee."),
    OptionSpec("sink.partitioner", default="default",
               description="default | fixed | round-robin."),
    OptionSpec("sink.transactional-id-prefix",
               description="Exactly-once: prefix of the sink's transactional ids (required)."),
    OptionSpec("sink.exactly-once.marker-topic", default=MARKER_TOPIC,
               description="Exactly-once: the control topic of commit markers (created if missing)."),
    OptionSpec("sink.parallelism", "int", description="Accepted for Flink compatibility."),
    *JSON_OPTIONS,
    *CSV_OPTIONS,
    *RAW_OPTIONS,
    *AVRO_OPTIONS,
    *CONFLUENT_OPTIONS,
    *CDC_OPTIONS,
]

_SPECIFIC = re.compile(r"^\s*partition\s*:\s*(\d+)\s*,\s*offset\s*:\s*(\d+)\s*$")


def parse_specific_offsets(key: str, text: str) -> dict[int, int]:
    """Flink's ``partition:0,offset:42;partition:1,offset:300`` → ``{0: 42, 1: 300}``."""
    result: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        m = _SPECIFIC.match(part)
        if not m:
            raise ConnectorError(
                f"Invalid value '{text}' for option '{key}' of connector 'kafka'",
                hint="expected 'partition:0,offset:42;partition:1,offset:300'",
            )
        result[int(m.group(1))] = int(m.group(2))
    return result


@dataclass(frozen=True)
class KafkaConfig:
    """The validated options in the shape the reader and writer use."""

    topics: tuple[str, ...]
    pattern: str | None
    client: dict[str, str]
    value_format: str
    key_format: str | None
    key_fields: tuple[str, ...]
    value_fields: tuple[str, ...]
    startup: str
    startup_timestamp: int | None
    startup_offsets: dict[int, int] = field(default_factory=dict)
    bounded: str = "unbounded"
    bounded_timestamp: int | None = None
    bounded_offsets: dict[int, int] = field(default_factory=dict)
    delivery: str = "at-least-once"
    partitioner: str = "default"
    transactional_id_prefix: str | None = None
    marker_topic: str = MARKER_TOPIC
    format_options: dict[str, Any] = field(default_factory=dict)
    key_prefix: str = ""  # key.fields-prefix, stripped from key field names (upsert-kafka)
    discovery_ms: int = 0  # scan.topic-partition-discovery.interval (0: off)

    @property
    def group_id(self) -> str | None:
        return self.client.get("group.id")


def check_formats(config: KafkaConfig, columns: Sequence[Column]) -> None:
    """Planning-time checks of the avro formats: their options, and that every column they
    carry has an Avro type."""
    from connectors.formats import avro_confluent, avro_format

    if "avro" in (config.value_format, config.key_format):
        avro_format.check_options(config.format_options)
    if config.value_format == "avro-confluent":
        avro_confluent.check_options(config.format_options)
    by_name = {c.name: c for c in columns}
    for fmt, fields in ((config.value_format, config.value_fields), (config.key_format, config.key_fields)):
        if fmt in ("avro", "avro-confluent"):
            avro_format.avro_schema([by_name[f] for f in fields])


def check_source(config: KafkaConfig) -> None:
    """Rules that apply only when the table is read."""
    if "group-offsets" in (config.startup, config.bounded) and not config.group_id:
        mode = "scan.startup.mode" if config.startup == "group-offsets" else "scan.bounded.mode"
        raise ConnectorError(
            f"Missing required option 'properties.group.id' for connector 'kafka' "
            f"('{mode}' is 'group-offsets')",
            hint="Set 'properties.group.id', or 'scan.startup.mode' = 'earliest-offset'.",
        )


def _mode_options(options: dict[str, Any], prefix: str) -> tuple[int | None, dict[int, int]]:
    """``<prefix>.timestamp-millis`` / ``<prefix>.specific-offsets`` as the mode needs them."""
    mode = options[f"{prefix}.mode"]
    if mode == "timestamp":
        return _need(options, f"{prefix}.timestamp-millis", f"{prefix}.mode 'timestamp'"), {}
    if mode == "specific-offsets":
        key = f"{prefix}.specific-offsets"
        return None, parse_specific_offsets(key, _need(options, key, f"{prefix}.mode 'specific-offsets'"))
    return None, {}


def _need(options: dict[str, Any], key: str, because: str) -> Any:
    if options.get(key) is None:
        raise ConnectorError(f"Missing required option '{key}' for connector 'kafka' ({because})")
    return options[key]


def discovery_interval_ms(text: Any) -> int:
    """``scan.topic-partition-discovery.interval`` in ms; ``0`` (off) for zero or negative."""
    raw = str(text if text is not None else DEFAULT_DISCOVERY).strip()
    ms = parse_duration_ms(raw.removeprefix("-").strip())
    if ms is None:
        raise ConnectorError(
            f"Invalid value '{raw}' for option 'scan.topic-partition-discovery.interval' of "
            "connector 'kafka'", hint="expected a duration such as '30 s' or '5 min' ('0' "
                                      "disables discovery)")
    return 0 if raw.startswith("-") else ms


def kafka_config(options: dict[str, Any], physical: list[str]) -> KafkaConfig:
    """Check the cross-option rules (module contract) and build the :class:`KafkaConfig`."""
    # 1. topics
    topic, pattern = options.get("topic"), options.get("topic-pattern")
    if bool(topic) == bool(pattern):
        raise ConnectorError(
            "Missing required option 'topic' for connector 'kafka'" if not topic else
            "Options 'topic' and 'topic-pattern' of connector 'kafka' exclude each other",
            hint="Set 'topic' (one name or several separated by ';') or 'topic-pattern'.",
        )
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConnectorError(f"Invalid value '{pattern}' for option 'topic-pattern': {exc}") from None
    topics = tuple(t.strip() for t in (topic or "").split(";") if t.strip())
    # 2. client properties
    client = {k[len("properties."):]: str(v) for k, v in options.items()
              if k.startswith("properties.") and v is not None}
    # 3. formats and key fields
    value_format = options.get("value.format") or options.get("format")
    if value_format is None:
        raise ConnectorError("Missing required option 'format' (or 'value.format') for connector 'kafka'",
                             hint="Formats: " + ", ".join(FORMATS))
    key_format = options.get("key.format")
    key_fields = tuple(f.strip() for f in (options.get("key.fields") or "").split(";") if f.strip())
    if key_format and not key_fields:
        _need(options, "key.fields", "'key.format' is set")
    if key_fields and not key_format:
        _need(options, "key.format", "'key.fields' is set")
    for f in key_fields:
        if f not in physical:
            raise ConnectorError(f"'key.fields' names '{f}', which is not a physical column",
                                 hint="Physical columns: " + ", ".join(physical))
    value_fields = tuple(physical)
    if options.get("value.fields-include") == "EXCEPT_KEY":
        value_fields = tuple(c for c in physical if c not in key_fields)
    if key_format in CDC_FORMATS:
        raise ConnectorError(f"'key.format' = '{key_format}' is a changelog format; a message key "
                             "needs an insert-only format", hint="Key formats: json, csv, raw")
    if value_format == "raw" and len(value_fields) != 1:
        raise ConnectorError("The 'raw' format needs exactly one value column, "
                             f"the table has {len(value_fields)}: {', '.join(value_fields)}")
    charset = str(options.get("raw.charset") or "UTF-8").upper().replace("_", "-")
    if "raw" in (value_format, key_format) and charset not in ("UTF-8", "UTF8"):
        raise ConnectorError(f"Invalid value '{options['raw.charset']}' for option 'raw.charset' "
                             "of connector 'kafka': only UTF-8 is supported")
    # 4. startup and bounded modes
    startup = options["scan.startup.mode"]
    bounded = options["scan.bounded.mode"]
    start_ts, start_offsets = _mode_options(options, "scan.startup")
    end_ts, end_offsets = _mode_options(options, "scan.bounded")
    partitioner = options.get("sink.partitioner") or "default"
    if partitioner not in ("default", "fixed", "round-robin"):
        raise ConnectorError(f"Invalid value '{partitioner}' for option 'sink.partitioner'",
                             hint="expected 'default', 'fixed' or 'round-robin'")
    format_options = {k: v for k, v in options.items() if k.split(".", 1)[0] in FORMATS}
    if key_format == "avro-confluent":
        raise ConnectorError("'key.format' = 'avro-confluent' is not supported yet",
                             hint="Use it as the value format; keys: json, csv, raw or avro.")
    if value_format == "avro-confluent" and len(topics) == 1 and not format_options.get(
            "avro-confluent.subject"):  # Flink's default subject
        format_options["avro-confluent.subject"] = f"{topics[0]}-value"
    return KafkaConfig(
        topics=topics, pattern=pattern, client=client, value_format=value_format,
        key_format=key_format, key_fields=key_fields, value_fields=value_fields,
        startup=startup, startup_timestamp=start_ts, startup_offsets=start_offsets,
        bounded=bounded, bounded_timestamp=end_ts, bounded_offsets=end_offsets,
        delivery=options["sink.delivery-guarantee"], partitioner=partitioner,
        transactional_id_prefix=options.get("sink.transactional-id-prefix") or None,
        marker_topic=options.get("sink.exactly-once.marker-topic") or MARKER_TOPIC,
        format_options=format_options,
        discovery_ms=discovery_interval_ms(options.get("scan.topic-partition-discovery.interval")),
    )
