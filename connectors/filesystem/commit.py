"""Partition commit and rolling policy of the filesystem sink (Flink's ``sink.*`` options).

Contract:
- :class:`RollingPolicy`: a part file is rolled (written) when its buffered rows reach
  ``sink.rolling-policy.file-size`` (measured as the rows' Arrow size in memory, which bounds
  the file's size from above for csv/json text and roughly for parquet), or when it is older
  than ``sink.rolling-policy.rollover-interval``; age is checked when a batch arrives, at
  most every ``sink.rolling-policy.check-interval``. At a checkpoint every part file is
  closed (as Flink does for bulk formats), so exactly-once never depends on rolling.
- :class:`PartitionCommitter`: decides when a partition whose files are committed (their
  checkpoint completed, or the job ended) is *committed*, and applies the commit policy.
  ``sink.partition-commit.trigger``: ``process-time`` commits once processing time passes
  the partition's creation time + ``sink.partition-commit.delay``; ``partition-time``
  commits once the watermark recorded at the completed checkpoint passes the partition's
  time + delay. The partition's time comes from ``partition.time-extractor.kind`` =
  ``default``: ``partition.time-extractor.timestamp-pattern`` with ``$key`` replaced by the
  partition values (without a pattern, the first partition value), parsed with
  ``partition.time-extractor.timestamp-formatter`` (a Java pattern; default the lenient
  ``yyyy-MM-dd[ HH:mm[:ss]]``), read as UTC (``sink.partition-commit.watermark-time-zone``).
  ``sink.partition-commit.policy.kind``: ``success-file`` writes an empty
  ``sink.partition-commit.success-file.name`` (default ``_SUCCESS``) into the partition's
  directory (idempotent). ``metastore`` and ``custom`` are refused at planning with a
  ``ConnectorError`` (there is no metastore / no custom policy classes). At the end of input
  every partition is committed (as Flink does for bounded input).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from typing import Any

from connectors.base import OptionSpec
from connectors.filesystem.partitions import DEFAULT_PARTITION_NAME, unescape
from flowsql.date_patterns import parse_pattern
from flowsql.errors import ConnectorError

DEFAULT_FORMATTER = "yyyy-MM-dd HH:mm:ss"

PARTITION_OPTIONS: list[OptionSpec] = [
    OptionSpec("partition.default-name", "string", default=DEFAULT_PARTITION_NAME,
               description="Directory name of a NULL or blank partition value."),
    OptionSpec("sink.partition-commit.trigger", "enum", default="process-time",
               choices=("process-time", "partition-time"),
               description="When a partition is committed (with checkpointing: after the "
                           "checkpoint holding its files completed)."),
    OptionSpec("sink.partition-commit.delay", "duration", default="0 s",
               description="Commit a partition this long after its creation / partition time."),
    OptionSpec("sink.partition-commit.policy.kind", "string",
               description="Comma-separated: success-file (metastore and custom are not "
                           "available)."),
    OptionSpec("sink.partition-commit.success-file.name", "string", default="_SUCCESS",
               description="File name the success-file policy writes."),
    OptionSpec("sink.partition-commit.watermark-time-zone", "string", default="UTC",
               description="Time zone of partition times against the watermark (UTC only)."),
    OptionSpec("partition.time-extractor.kind", "enum", default="default",
               choices=("default", "custom"), description="Only 'default' is available."),
    # Flink's class names for the 'custom' kinds: accepted so that the 'custom' kind itself
    # gets the error saying it is not available (there are no Java classes to load)
    OptionSpec("sink.partition-commit.policy.class", "string",
               description="Flink's custom commit policy class (not available)."),
    OptionSpec("partition.time-extractor.class", "string",
               description="Flink's custom time extractor class (not available)."),
    OptionSpec("partition.time-extractor.timestamp-pattern", "string",
               description="Partition time text from values, e.g. '$dt $hr:00:00'."),
    OptionSpec("partition.time-extractor.timestamp-formatter", "string",
               default=DEFAULT_FORMATTER, description="Java pattern parsing that text."),
]

_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")
_SIZE_UNITS = {"": 1, "b": 1, "bytes": 1, "k": 1 << 10, "kb": 1 << 10, "kibibytes": 1 << 10,
               "m": 1 << 20, "mb": 1 << 20, "mebibytes": 1 << 20, "g": 1 << 30,
               "gb": 1 << 30, "gibibytes": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


def parse_memory_size(key: str, text: str) -> int:
    """Flink ``MemorySize`` text (``'128MB'``, ``'1 kb'``, bytes when bare) → bytes."""
    m = _SIZE.match(str(text))
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ConnectorError(f"Invalid value '{text}' for option '{key}'",
                             hint="Expected a memory size such as '128MB', '512kb' or '1024'.")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def check_partition_options(options: dict[str, Any], partitioned: bool) -> list[str]:
    """The commit policies (validated); ConnectorError for metastore / custom choices."""
    kinds = [k.strip().lower() for k in (options.get("sink.partition-commit.policy.kind")
                                         or "").split(",") if k.strip()]
    for kind in kinds:
        if kind == "metastore":
            raise ConnectorError(
                "sink.partition-commit.policy.kind 'metastore' needs a Hive metastore, "
                "which FlowSQL does not have",
                hint="Use 'success-file' (a _SUCCESS file in each committed partition).")
        if kind != "success-file":
            raise ConnectorError(
                f"Unsupported sink.partition-commit.policy.kind '{kind}'",
                hint="Supported: success-file ('metastore' and 'custom' are not available).")
    if options.get("partition.time-extractor.kind") == "custom":
        raise ConnectorError("partition.time-extractor.kind 'custom' is not supported",
                             hint="Use the default extractor with "
                                  "'partition.time-extractor.timestamp-pattern'.")
    zone = str(options.get("sink.partition-commit.watermark-time-zone") or "UTC")
    if zone.upper() not in ("UTC", "Z", "GMT"):
        raise ConnectorError(f"sink.partition-commit.watermark-time-zone '{zone}' is not "
                             "supported", hint="Partition times are compared in UTC.")
    return kinds if partitioned else []


class RollingPolicy:
    def __init__(self, options: dict[str, Any]) -> None:
        self.file_size = parse_memory_size(
            "sink.rolling-policy.file-size", options.get("sink.rolling-policy.file-size") or "128MB")
        self.rollover_ms = int(options.get("sink.rolling-policy.rollover-interval") or 1_800_000)
        self.check_ms = int(options.get("sink.rolling-policy.check-interval") or 60_000)


def partition_time_ms(partition: str, options: dict[str, Any]) -> int | None:
    """The partition's time (epoch ms, UTC) by the default extractor (None without values);
    ConnectorError naming the partition when its text does not parse."""
    values = [unescape(seg.partition("=")[2]) for seg in partition.split("/") if "=" in seg]
    names = [unescape(seg.partition("=")[0]) for seg in partition.split("/") if "=" in seg]
    pattern = options.get("partition.time-extractor.timestamp-pattern")
    if not values:
        return None
    if pattern:
        text = str(pattern)
        for name, value in sorted(zip(names, values, strict=True), key=lambda p: -len(p[0])):
            text = text.replace("$" + name, value)
    else:
        text = values[0]
    formatter = options.get("partition.time-extractor.timestamp-formatter") or DEFAULT_FORMATTER
    parsed = _parse_time(text, str(formatter))
    if parsed is None:
        raise ConnectorError(
            f"cannot extract a partition time from partition '{partition}': '{text}' does not "
            f"match '{formatter}'",
            hint="Set 'partition.time-extractor.timestamp-pattern' (e.g. '$dt $hr:00:00') "
                 "and, for other layouts, 'partition.time-extractor.timestamp-formatter'.")
    return int(parsed.replace(tzinfo=dt.UTC).timestamp() * 1000)


def _parse_time(text: str, formatter: str) -> dt.datetime | None:
    """One partition time: Flink's lenient default (``yyyy-MM-dd[ HH:mm[:ss[.SSS]]]``), or a
    Java pattern read by :mod:`flowsql.date_patterns` (one value: Python's ``strptime``)."""
    try:
        if formatter == DEFAULT_FORMATTER:
            return dt.datetime.fromisoformat(text.strip())
        read = parse_pattern(formatter)
        if read.fraction_digits:
            raise ConnectorError(f"a partition time formatter with fractions ('{formatter}')")
        return dt.datetime.strptime(text, read.strptime())
    except ValueError:
        return None


class PartitionCommitter:
    """Partitions waiting for their commit (module docstring). State: ``{partition: created
    ms}`` of partitions whose files are visible but that are not committed yet."""

    def __init__(self, directory: str, options: dict[str, Any], policies: list[str],
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.options = options
        self.policies = policies
        self.clock = clock
        self.trigger = options.get("sink.partition-commit.trigger") or "process-time"
        self.delay_ms = int(options.get("sink.partition-commit.delay") or 0)
        self.waiting: dict[str, int] = {}
        self.committed: list[str] = []

    @property
    def active(self) -> bool:
        return bool(self.policies)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def add(self, partition: str, created_ms: int) -> None:
        if self.active and partition:
            self.waiting.setdefault(partition, created_ms)

    def commit_ready(self, watermark: int | None) -> list[str]:
        """Commit every waiting partition the trigger allows now; returns them."""
        ready = []
        for partition, created in list(self.waiting.items()):
            if self.trigger == "process-time":
                ok = self.now_ms() >= created + self.delay_ms
            else:
                t = partition_time_ms(partition, self.options)
                ok = watermark is not None and t is not None and watermark > t + self.delay_ms
            if ok:
                ready.append(partition)
        for partition in ready:
            self._commit(partition)
        return ready

    def commit_everything(self) -> None:
        for partition in list(self.waiting):
            self._commit(partition)

    def _commit(self, partition: str) -> None:
        if "success-file" in self.policies:
            name = self.options.get("sink.partition-commit.success-file.name") or "_SUCCESS"
            path = os.path.join(self.directory, partition, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a"):
                pass
        self.waiting.pop(partition, None)
        self.committed.append(partition)
