"""Idle sources end to end: a silent split must not hold event time back forever.

A tiny connector (registered in the connector registry for the test) has two unbounded
splits: ``busy`` emits 10 rows per event-time second, one batch every few milliseconds,
then falls silent; ``quiet`` emits one row at event time 0 and then nothing until the test
opens its gate, when it produces like busy did, from event time 200 s on. Real planner, real
MiniCluster, real session; the assertions are about which rows arrive (and that the job is
still running), never about how long anything took.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from catalog.table import TableDefinition
from connectors.base import ConnectorFactory, OptionSpec, SourceReader

BASE = datetime(2024, 1, 1)
BASE_MS = 1_704_067_200_000  # BASE in epoch milliseconds
ROWS_PER_BATCH = 10  # busy: one batch = one event-time second (rows 100 ms apart)
SCHEMA = pa.schema([("split", pa.string()), ("v", pa.int64()), ("ts", pa.timestamp("ms"))])
GATES: dict[str, threading.Event] = {}  # 'gate' option -> opens the quiet split again
WAIT_S = 20.0  # generous upper bound for anything that must happen


def _rows(split: str, ts_ms: np.ndarray) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            pa.array([split] * len(ts_ms), pa.string()),
            pa.array(np.arange(len(ts_ms), dtype=np.int64)),
            pa.array(BASE_MS + ts_ms, pa.timestamp("ms")),
        ],
        schema=SCHEMA,
    )


class TwoSplitReader(SourceReader):
    bounded = False

    def __init__(self, gate: threading.Event, busy_batches: int) -> None:
        self.gate = gate
        self.busy_batches = busy_batches

    def splits(self) -> list[str]:
        return ["busy", "quiet"]

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        return self._busy() if split == "busy" else self._quiet()

    def _busy(self) -> Iterator[pa.RecordBatch | None]:
        yield from _paced("busy", 0, self.busy_batches)
        while True:  # unbounded: silent from now on
            yield None

    def _quiet(self) -> Iterator[pa.RecordBatch | None]:
        yield _rows("quiet", np.array([0], dtype=np.int64))
        while not self.gate.is_set():
            yield None
        yield from _paced("quiet", 200, None)  # resumes at event time 200 s, for good


def _paced(split: str, first_second: int, batches: int | None) -> Iterator[pa.RecordBatch | None]:
    """One batch (one event-time second) every ~10 ms; ``None`` while waiting."""
    step = np.arange(ROWS_PER_BATCH, dtype=np.int64) * (1000 // ROWS_PER_BATCH)
    j = 0
    while batches is None or j < batches:
        due = time.monotonic() + 0.01
        while time.monotonic() < due:
            yield None
        yield _rows(split, (first_second + j) * 1000 + step)
        j += 1


class TwoSplitFactory(ConnectorFactory):
    identifier = "two-splits"

    def option_specs(self) -> list[OptionSpec]:
        return [
            OptionSpec("gate", required=True, description="name of the quiet split's gate"),
            OptionSpec("busy.batches", "int", default="100", description="batches of busy"),
        ]

    def source_reader(
        self, table: TableDefinition, options: dict[str, Any], *, parallelism: int = 1
    ) -> TwoSplitReader:
        gate = GATES.setdefault(options["gate"], threading.Event())
        return TwoSplitReader(gate, int(options["busy.batches"]))


@pytest.fixture
def two_splits(monkeypatch):
    import sys

    from connectors import registry

    module = sys.modules[__name__]
    monkeypatch.setitem(sys.modules, "flowsql_test_two_splits", module)
    monkeypatch.setitem(registry.BUILTIN, "two-splits", "flowsql_test_two_splits:TwoSplitFactory")
    return module


def _create(session, options: str = "") -> threading.Event:
    name = uuid.uuid4().hex
    gate = GATES.setdefault(name, threading.Event())
    session.execute_one(
        "CREATE TABLE src (split STRING, v BIGINT, ts TIMESTAMP(3), "
        "WATERMARK FOR ts AS ts - INTERVAL '0' SECOND) "
        f"WITH ('connector' = 'two-splits', 'gate' = '{name}'{options})"
    )
    return gate


WINDOWS = (
    "SELECT window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), "
    "INTERVAL '1' SECOND)) GROUP BY window_start, window_end"
)
KEYED = (
    "SELECT split, window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), "
    "INTERVAL '1' SECOND)) GROUP BY split, window_start, window_end"
)


def _second(row: dict[str, Any]) -> int:
    return int((row["window_start"] - BASE).total_seconds())


def _counts(rows: list[dict[str, Any]]) -> dict[int, int]:
    """Rows per event-time second, summed over keys."""
    out: dict[int, int] = {}
    for r in rows:
        out[_second(r)] = out.get(_second(r), 0) + r["c"]
    return out


def _read_until(stream, predicate, rows: list | None = None, timeout: float = WAIT_S) -> list:
    """Read the stream into ``rows`` until ``predicate(rows)`` holds (fails after ``timeout``)."""
    rows = [] if rows is None else rows
    deadline = time.monotonic() + timeout
    while not predicate(rows):
        assert time.monotonic() < deadline, f"rows never satisfied the test; got {rows[:5]}..."
        for batch in stream.batches(timeout=0.2):
            rows.extend(batch.to_pylist())
            if predicate(rows):
                break
    return rows


def _source_rows(job_id: str) -> int:
    from flowsql.session.streaming import cluster

    return cluster().metrics(job_id)["1-source"].records_out


def _job_status(session, job_id: str) -> str:
    jobs = session.execute_one("SHOW JOBS").table.to_pylist()
    return next(j["status"] for j in jobs if j["job id"] == job_id)


@pytest.mark.parametrize(
    ("parallelism", "query", "how"),
    [
        (1, WINDOWS, "table"),  # both splits in one source subtask: per-split idleness
        (2, WINDOWS, "session"),  # one split per subtask: IdleMarker through a rebalance
        (2, KEYED, "table"),  # keyed, hash exchange into two window subtasks
    ],
)
def test_idle_split_lets_windows_fire_while_running(session, two_splits, parallelism, query, how):
    if how == "table":
        gate = _create(session, ", 'scan.watermark.idle-timeout' = '200 ms'")
    else:
        gate = _create(session)
        session.execute_one("SET 'table.exec.source.idle-timeout' = '200 ms'")
    session.execute_one(f"SET 'parallelism.default' = '{parallelism}'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    result = session.execute_one(query)
    stream = result.extra["stream"]
    try:
        # 1. windows fire although the quiet split says nothing: the job is still running
        #    (with keys, the two window subtasks' results may arrive in either order)
        rows = _read_until(stream, lambda rows: _counts(rows).keys() >= set(range(6))
                           and _counts(rows)[0] == ROWS_PER_BATCH + 1)  # quiet's row: on time
        assert not stream.done and _job_status(session, result.job_id) == "RUNNING"
        assert all(_counts(rows)[s] == ROWS_PER_BATCH for s in range(1, 6))
        # 2. busy falls silent too (every split idle: event time holds); the last busy window
        #    (second 99) needs a watermark past it: when quiet speaks again, event time
        #    resumes from quiet's data
        _read_until(stream, lambda rows: any(_second(r) == 98 for r in rows), rows)
        gate.set()
        _read_until(stream, lambda rows: _counts(rows).keys() >= {99, 200}, rows)
        counts = _counts(rows)
        assert sorted(s for s in counts if s < 200) == list(range(100))
        assert sum(counts[s] for s in range(100)) == 100 * ROWS_PER_BATCH + 1
        assert counts[200] == ROWS_PER_BATCH
        assert not stream.done
    finally:
        stream.cancel()


@pytest.mark.parametrize("parallelism", [1, 2])
def test_without_idle_timeout_silent_split_holds_windows(session, two_splits, parallelism):
    gate = _create(session, ", 'busy.batches' = '20'")
    session.execute_one(f"SET 'parallelism.default' = '{parallelism}'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    result = session.execute_one(WINDOWS)
    stream = result.extra["stream"]
    try:
        # 1. busy has produced all 20 event-time seconds (201 rows with quiet's first one)
        deadline = time.monotonic() + WAIT_S
        while _source_rows(result.job_id) < 20 * ROWS_PER_BATCH + 1:
            assert time.monotonic() < deadline, "the source did not produce its rows"
            time.sleep(0.05)
        # 2. ... yet no window fired: the quiet split pins the watermark at its first row
        early: list[dict[str, Any]] = []
        for _ in range(3):
            for batch in stream.batches(timeout=0.3):
                early.extend(batch.to_pylist())
        assert early == []
        # 3. quiet speaks (far ahead): the watermark is now busy's, windows 0..18 fire
        gate.set()
        rows = _read_until(stream, lambda rows: any(_second(r) == 18 for r in rows))
        assert sorted(_second(r) for r in rows) == list(range(19))
        assert not stream.done
    finally:
        stream.cancel()


class _SlowOutput:
    """A SourceOutput whose consumer is slow: every emit blocks (backpressure)."""

    def __init__(self, cancel: threading.Event, block_s: float, stop_after: int) -> None:
        self.cancel = cancel
        self.block_s = block_s
        self.stop_after = stop_after
        self.batches = 0
        self.idle_events: list[bool] = []

    def emit(self, batch: pa.RecordBatch) -> None:
        time.sleep(self.block_s)
        self.batches += 1
        if self.batches >= self.stop_after:
            self.cancel.set()

    def watermark(self, timestamp: int) -> None:
        return None

    def idle(self, idle: bool) -> None:
        self.idle_events.append(idle)


def test_backpressure_does_not_make_a_split_idle():
    """A split that has data whenever it is asked is never idle, however long the source is
    blocked handing its batches downstream (the idle clock stops while it is blocked)."""
    from flowsql.operators.base import OperatorContext
    from flowsql.operators.source import SourceOperator, column_timestamps

    class Alternating(SourceReader):
        bounded = False

        def splits(self) -> list[str]:
            return ["only"]

        def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
            t = 0
            while True:
                t += 1000
                yield _rows("only", np.array([t], dtype=np.int64))
                yield None  # momentarily empty, as a paced reader is between rows

    source = SourceOperator(Alternating(), timestamps=column_timestamps(["ts"]), batch_size=1,
                            idle_timeout_ms=20)
    source.open(OperatorContext("1-source"))
    cancel = threading.Event()
    out = _SlowOutput(cancel, block_s=0.05, stop_after=6)  # each emit blocks past the timeout
    source.run(out, cancel)
    assert out.batches >= 6 and out.idle_events == []
