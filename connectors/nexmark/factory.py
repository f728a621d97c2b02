"""``'connector' = 'nexmark'``: the Nexmark benchmark generator as a table.

Contract:
- Options are Flink nexmark's (``first-event.rate``, ``next-event.rate``, ``rate.shape``,
  ``rate.period``, ``rate.limited``, ``events.num``, ``person|auction|bid.proportion``,
  ``bid.hot-ratio.auctions``, ``bid.hot-ratio.bidders``, ``auction.hot-ratio.sellers``,
  ``person|auction|bid.avg-size``) plus FlowSQL's ``seed``, ``base-time`` (event time of event 0,
  epoch ms or ``'YYYY-MM-DD HH:MM:SS'`` UTC; fixed by default so results are reproducible) and
  ``batch-size`` (events per generated batch).
- The table's physical columns are taken by name from the generated columns (``event_type``,
  ``person``, ``auction``, ``bid``; see :mod:`connectors.nexmark.generator`); an unknown column,
  or a type the generated one cannot be cast to, is a ``ConnectorError`` at validation.
  Computed columns (``dateTime AS CASE ...``) and the WATERMARK are the planner's business.
- :meth:`NexmarkFactory.source_reader` gives a streaming reader whose splits are generator
  shards: shard ``i`` of ``S`` emits event blocks ``i, i + S, i + 2S, ...`` of ``batch-size``
  events, so every shard advances through event time at the same pace. ``events.num`` > 0
  makes it bounded; ``rate.limited`` paces emission to event time (otherwise full speed).
- :meth:`NexmarkFactory.batch_scan` (bounded tables only) yields the same rows in event order.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from catalog.table import TableDefinition
from connectors.base import BatchScan, ConnectorFactory, OptionSpec, SourceReader, shard_count
from connectors.nexmark.generator import NEXMARK_SCHEMA, NexmarkConfig, NexmarkGenerator
from connectors.options import validate_options
from flowsql.errors import ConnectorError
from flowsql.types import parse_type, to_arrow

DEFAULT_BASE_TIME = "2024-01-01 00:00:00"
DEFAULT_BATCH_SIZE = 16384

NEXMARK_OPTIONS: list[OptionSpec] = [
    OptionSpec("first-event.rate", "int", default="10000", description="Events per second (event time) at first."),
    OptionSpec("next-event.rate", "int", default="10000", description="Events per second in the second half of each rate period."),
    OptionSpec("rate.shape", "enum", default="square", choices=("square",), description="Shape of the event rate over time."),
    OptionSpec("rate.period", "duration", default="600 s", description="Period of the rate shape."),
    OptionSpec("rate.limited", "bool", default="false", description="Emit events no faster than their event time."),
    OptionSpec("events.num", "int", default="0", description="Total events (0 = unbounded)."),
    OptionSpec("person.proportion", "int", default="1", description="Persons out of every (person+auction+bid) events."),
    OptionSpec("auction.proportion", "int", default="3", description="Auctions out of every (person+auction+bid) events."),
    OptionSpec("bid.proportion", "int", default="46", description="Bids out of every (person+auction+bid) events."),
    OptionSpec("bid.hot-ratio.auctions", "int", default="2", description="1 - 1/ratio of bids go to hot auctions."),
    OptionSpec("bid.hot-ratio.bidders", "int", default="4", description="1 - 1/ratio of bids come from hot bidders."),
    OptionSpec("auction.hot-ratio.sellers", "int", default="4", description="1 - 1/ratio of auctions are by hot sellers."),
    OptionSpec("person.avg-size", "string", default="200b", description="Average person size (pads 'extra')."),
    OptionSpec("auction.avg-size", "string", default="500b", description="Average auction size (pads 'extra')."),
    OptionSpec("bid.avg-size", "string", default="100b", description="Average bid size (pads 'extra')."),
    OptionSpec("seed", "int", default="0", description="FlowSQL: random seed of the generated data."),
    OptionSpec("base-time", "string", default=DEFAULT_BASE_TIME, description="FlowSQL: event time of the first event (UTC, or epoch ms)."),
    OptionSpec("batch-size", "int", default=str(DEFAULT_BATCH_SIZE), description="FlowSQL: events per generated batch."),
]

_SIZE = re.compile(r"^\s*(\d+)\s*(b|bytes|kb|k|mb|m)?\s*$", re.IGNORECASE)


def _size_bytes(key: str, text: str) -> int:
    m = _SIZE.match(str(text))
    if not m:
        raise ConnectorError(f"Invalid value '{text}' for option '{key}' of connector 'nexmark': expected a size such as '200b' or '1kb'")
    unit = (m.group(2) or "b").lower()
    return int(m.group(1)) * {"b": 1, "bytes": 1, "kb": 1024, "k": 1024, "mb": 1 << 20, "m": 1 << 20}[unit]


def _base_time_ms(text: str) -> int:
    text = str(text).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ConnectorError(
            f"Invalid value '{text}' for option 'base-time' of connector 'nexmark': "
            "expected epoch milliseconds or 'YYYY-MM-DD HH:MM:SS'"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def config_from_options(options: dict[str, Any]) -> NexmarkConfig:
    config = NexmarkConfig(
        seed=int(options["seed"]),
        base_time_ms=_base_time_ms(options["base-time"]),
        first_event_rate=int(options["first-event.rate"]),
        next_event_rate=int(options["next-event.rate"]),
        rate_period_s=max(int(options["rate.period"]) // 1000, 1),
        person_proportion=int(options["person.proportion"]),
        auction_proportion=int(options["auction.proportion"]),
        bid_proportion=int(options["bid.proportion"]),
        hot_auction_ratio=int(options["bid.hot-ratio.auctions"]),
        hot_bidders_ratio=int(options["bid.hot-ratio.bidders"]),
        hot_sellers_ratio=int(options["auction.hot-ratio.sellers"]),
        avg_person_size=_size_bytes("person.avg-size", options["person.avg-size"]),
        avg_auction_size=_size_bytes("auction.avg-size", options["auction.avg-size"]),
        avg_bid_size=_size_bytes("bid.avg-size", options["bid.avg-size"]),
        events_num=int(options["events.num"]),
    )
    for key in ("first-event.rate", "next-event.rate", "bid.hot-ratio.auctions", "bid.hot-ratio.bidders", "auction.hot-ratio.sellers", "batch-size"):
        if int(options[key]) <= 0:
            raise ConnectorError(f"Option '{key}' of connector 'nexmark' must be positive, got {options[key]}")
    for key in ("events.num", "person.proportion", "auction.proportion", "bid.proportion"):
        if int(options[key]) < 0:
            raise ConnectorError(f"Option '{key}' of connector 'nexmark' must not be negative, got {options[key]}")
    if config.total_proportion == 0:
        raise ConnectorError("The nexmark proportions must not all be 0")
    return config


@functools.lru_cache(maxsize=8)
def generator_for(config: NexmarkConfig) -> NexmarkGenerator:
    """Generators are read-only after construction: subtasks of one job share one."""
    return NexmarkGenerator(config)


def _projection(table: TableDefinition) -> list[tuple[str, str, pa.DataType]]:
    """(declared name, generated name, declared Arrow type) per physical column."""
    generated = {name.lower(): name for name in NEXMARK_SCHEMA.names}
    out = []
    for col in table.physical_columns:
        source = generated.get(col.name.lower())
        if source is None:
            raise ConnectorError(
                f"Column '{col.name}' of table {table.name} is not a nexmark column",
                hint="nexmark columns: " + ", ".join(NEXMARK_SCHEMA.names)
                + " (declare computed columns such as dateTime AS ...)",
            )
        declared = to_arrow(parse_type(col.data_type or "STRING"))
        produced = NEXMARK_SCHEMA.field(source).type
        if declared != produced:
            try:
                pa.array([], produced).cast(declared)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise ConnectorError(
                    f"Column '{col.name}' of table {table.name} is declared {col.data_type}, "
                    f"but nexmark produces {produced}"
                ) from None
        out.append((col.name, source, declared))
    return out


def _project(batch: pa.RecordBatch, projection: list[tuple[str, str, pa.DataType]]) -> pa.RecordBatch:
    arrays, fields = [], []
    for name, source, declared in projection:
        arr = batch.column(source)
        arrays.append(arr if arr.type == declared else arr.cast(declared))
        fields.append(pa.field(name, declared))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


class NexmarkReader(SourceReader):
    """Streaming reader: splits are generator shards (see module contract)."""

    def __init__(
        self,
        generator: NexmarkGenerator,
        projection: list[tuple[str, str, pa.DataType]],
        *,
        shards: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
        rate_limited: bool = False,
    ) -> None:
        self.generator = generator
        self.projection = projection
        self.shards = max(int(shards), 1)
        self.batch_size = max(int(batch_size), 1)
        self.rate_limited = rate_limited
        self.events_num = generator.config.events_num
        self.bounded = self.events_num > 0
        self._next_block: dict[str, int] = {}

    def splits(self) -> list[str]:
        return [f"shard-{i}-of-{self.shards}" for i in range(self.shards)]

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        shard = int(split.split("-")[1])
        block = self._next_block.get(split, shard)
        started = time.monotonic()
        t0 = int(self.generator.timestamps(np.array([0]))[0])
        while True:
            start = block * self.batch_size
            if self.bounded and start >= self.events_num:
                return
            count = self.batch_size if not self.bounded else min(self.batch_size, self.events_num - start)
            if self.rate_limited:
                due = (int(self.generator.timestamps(np.array([start]))[0]) - t0) / 1000.0
                while time.monotonic() - started < due:
                    yield None
            batch = _project(self.generator.batch(start, count), self.projection)
            block += shard_count(split, self.shards)
            self._next_block[split] = block
            yield batch

    def position(self, split: str) -> dict[str, Any] | None:
        """Resume after the last emitted block: ``{"next_block": b}``."""
        return {"next_block": self._next_block.get(split, int(split.split("-")[1]))}

    def seek(self, split: str, position: dict[str, Any]) -> None:
        self._next_block[split] = int(position["next_block"])


class NexmarkFactory(ConnectorFactory):
    identifier = "nexmark"

    def option_specs(self) -> list[OptionSpec]:
        return list(NEXMARK_OPTIONS)

    def validate(self, table: TableDefinition) -> dict[str, Any]:
        options = validate_options(self.identifier, self.option_specs(), table.options, table)
        config_from_options(options)
        _projection(table)
        return options

    def source_reader(
        self, table: TableDefinition, options: dict[str, Any], *, parallelism: int = 1
    ) -> NexmarkReader:
        return NexmarkReader(
            generator_for(config_from_options(options)),
            _projection(table),
            shards=parallelism,
            batch_size=int(options["batch-size"]),
            rate_limited=bool(options["rate.limited"]),
        )

    def batch_scan(self, table: TableDefinition, options: dict[str, Any]) -> BatchScan:
        config = config_from_options(options)
        if config.events_num <= 0:
            raise ConnectorError(
                f"Table {table.name} is an unbounded nexmark source; batch mode needs 'events.num'",
                hint="Add 'events.num' = '<n>' to the table's options, or run in streaming mode "
                "(SET 'execution.runtime-mode' = 'streaming').",
            )
        projection = _projection(table)
        batch_size = int(options["batch-size"])
        schema = pa.schema([pa.field(name, declared) for name, _, declared in projection])

        def read() -> pa.RecordBatchReader:
            gen = generator_for(config)

            def batches() -> Iterator[pa.RecordBatch]:
                for start in range(0, config.events_num, batch_size):
                    yield _project(gen.batch(start, min(batch_size, config.events_num - start)), projection)

            return pa.RecordBatchReader.from_batches(schema, batches())

        return BatchScan(arrow=read)
