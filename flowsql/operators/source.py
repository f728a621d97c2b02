"""Streaming sources: the split-based reader contract and the operator that drives it.

Contract:
- A connector's :class:`~connectors.base.SourceReader` (the contract lives in
  ``connectors/base.py``, below the operators, so connectors never import this module) lists
  its ``splits()`` and ``read(split)`` yields batches, or ``None`` when no data is available
  right now; see there.
- :class:`SourceOperator` is the head of a source task. Subtask ``i`` of ``p`` reads the
  splits whose index ``≡ i (mod p)`` — or, when the reader has a ``split_owner(split, p)``
  method, the splits it gives to ``i`` (a rule on the split alone, so it holds for splits
  discovered later) — round-robin one batch per split, so one endless split never starves
  another.
- Split discovery: a reader with ``discovery_interval_ms > 0``, a ``discover(known)`` and a
  ``split_owner`` method is asked every interval (between passes over the splits) for splits not in
  ``known`` (every split this subtask has seen, its own and others'); the ones
  ``split_owner`` gives to this subtask are opened and read like the others: their positions
  are in the next checkpoints, their watermark generators join the minimum once they have
  data (the emitted watermark never goes back), and a subtask that was idle for want of
  splits becomes active. With discovery the subtask keeps running while it has no split.
- Watermarks (Flink's bounded out-of-orderness): each split has a
  :class:`BoundedOutOfOrderness` generator fed a callable ``batch -> event-time ms``; its
  watermark is ``max_seen - delay_ms - 1``. The subtask's watermark is the minimum over splits
  that are neither idle nor finished and is emitted (only when it advances) after the batch
  that moved it, never before buffered data. Watermarks therefore advance between batches:
  rows are judged late per batch, so the batch size (below) is the granularity of lateness.
- Mini-batches (``table.exec.mini-batch.size`` / ``.allow-latency``, planned into
  ``batch_size`` / ``max_batch_rows`` / ``allow_latency_ms``): small reader batches are
  buffered and concatenated until ``batch_size`` rows, or until the oldest buffered row has
  waited ``allow_latency_ms`` — so no row waits longer than that for a slow source, and fast
  sources deliver large batches. With ``max_batch_rows`` (set when a mini-batch size is
  configured) no emitted batch exceeds it: larger reader batches are sliced (zero-copy) and
  the buffer is flushed before it would overflow; each slice moves the split's watermark on
  its own. No per-row Python.
- Idleness (``scan.watermark.idle-timeout`` / ``table.exec.source.idle-timeout``, planned
  into ``idle_timeout_ms`` > 0), step by step:
  1. a split is *idle* once it has returned no data for ``idle_timeout_ms`` of consecutive
     polls; an idle split is left out of the subtask's minimum, so the busy splits move
     event time on (windows fire) while the idle one is silent;
  2. when every open split of the subtask is idle, the subtask sends ``IdleMarker(True)``
     downstream (after flushing its buffer); downstream tasks leave that channel out of their
     minimum (:class:`~flowsql.runtime.taskmanager.watermarks.WatermarkValve`) and, when all
     their inputs are idle, hold their watermark and forward the idle status in turn;
  3. when an idle split returns data it is active again (``IdleMarker(False)`` if the subtask
     was idle) and counts in the minimum from its new data on.
  Differences from Flink, on purpose:
  - the idle clock does not run while the source is blocked emitting downstream
    (backpressure): a split is idle only after ``idle_timeout_ms`` of *polling* without data,
    never merely because a slow consumer kept the source from asking;
  - a split (or channel) that becomes active again holds the watermark until its own
    watermark catches up (the emitted watermark never goes back); Flink's valve instead
    ignores such an "unaligned" input, lets the others advance and turns the resumed input's
    rows late. Rows older than the watermark already emitted are late either way;
  - an unbounded subtask with no split at all is idle from the start, and a bounded split
    that ends leaves the minimum at once (it is finished, not idle), as in Flink.
- Malformed records: a reader that drops records it cannot decode (a lenient format) counts
  them in its ``skipped`` attribute; the operator copies it into
  ``ctx.metrics.extra["malformed_records"]`` once per pass over the splits.
- End: when every split has ended, :meth:`SourceOperator.run` flushes and returns; the task
  then sends ``Watermark(MAX)`` and ``EndOfInput``. On cancel it returns promptly.
- Checkpoints: ``out.poll()`` is called at the start of every pass over the splits; from
  there the task may call :meth:`SourceOperator.positions`, which first emits what is
  buffered and then returns every assigned split's reader position (``{"finished": true}``
  for an ended split), so a position means "resume after the last emitted record".
  :meth:`SourceOperator.restore_positions` (before ``run``) makes ``run`` read the
  checkpoint's splits (assigned anew over the current parallelism), seek each to its position
  and skip finished ones. Splits the reader lists now but the checkpoint did not are not read
  (a generator's shards depend on the parallelism it started with). For a stop WITH DRAIN
  the task calls :meth:`SourceOperator.drain` before the savepoint: buffered rows, then
  ``Watermark(MAX)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import SourceReader
from flowsql.errors import ValidationError
from flowsql.messages import MAX_WATERMARK, MIN_WATERMARK
from flowsql.operators.base import OperatorContext

TimestampFn = Callable[[pa.RecordBatch], "pa.Array | pa.ChunkedArray | np.ndarray"]
DEFAULT_BATCH_SIZE = 32768
DEFAULT_ALLOW_LATENCY_MS = 20  # a slow source still flushes promptly (p99 latency)
_POLL_INTERVAL_S = 0.002


class SourceOutput(Protocol):
    """What a source task offers the source operator."""

    def emit(self, batch: pa.RecordBatch) -> None: ...

    def watermark(self, timestamp: int) -> None: ...

    def idle(self, idle: bool) -> None: ...

    def poll(self) -> None:
        """Called once per pass over the splits (and while waiting for data): where a task
        takes a checkpoint it was asked for (:meth:`SourceOperator.positions`)."""


def column_timestamps(paths: Sequence[str]) -> TimestampFn:
    """Event time from a column (``"ts"``), a nested field (``"bid.dateTime"``) or the first
    non-null of several (``["person.dateTime", "auction.dateTime", "bid.dateTime"]``)."""
    if not paths:
        raise ValidationError("a watermark needs a time column")

    def one(batch: pa.RecordBatch, path: str) -> pa.Array:
        head, *rest = path.split(".")
        idx = batch.schema.get_field_index(head)
        if idx < 0:
            raise ValidationError(f"watermark column '{head}' not in {', '.join(batch.schema.names)}")
        arr = batch.column(idx)
        for name in rest:
            arr = pc.struct_field(arr, name)
        return arr

    def extract(batch: pa.RecordBatch) -> pa.Array:
        arrays = [one(batch, p) for p in paths]
        return arrays[0] if len(arrays) == 1 else pc.coalesce(*arrays)

    return extract


def _to_epoch_ms(ts: pa.Array | pa.ChunkedArray | np.ndarray) -> pa.Array | np.ndarray:
    if isinstance(ts, np.ndarray):
        return ts
    t = ts.type
    if pa.types.is_timestamp(t):
        if t.unit != "ms":
            ts = pc.cast(ts, pa.timestamp("ms", t.tz), safe=False)
        return ts.view(pa.int64()) if isinstance(ts, pa.Array) else pc.cast(ts, pa.int64())
    if pa.types.is_integer(t):
        return ts
    raise ValidationError(f"watermark column must be a TIMESTAMP (or epoch ms), got {t}")


class BoundedOutOfOrderness:
    """Flink's bounded out-of-orderness watermark generator for one split."""

    def __init__(self, timestamps: TimestampFn, delay_ms: int = 0) -> None:
        self.timestamps = timestamps
        self.delay_ms = int(delay_ms)
        self.max_seen = MIN_WATERMARK

    def on_batch(self, batch: pa.RecordBatch) -> None:
        ts = _to_epoch_ms(self.timestamps(batch))
        if isinstance(ts, np.ndarray):
            top = int(ts.max()) if len(ts) else None
        else:
            top = pc.max(ts).as_py()
        if top is not None and top > self.max_seen:
            self.max_seen = int(top)

    def current(self) -> int:
        if self.max_seen == MIN_WATERMARK:
            return MIN_WATERMARK
        return max(self.max_seen - self.delay_ms - 1, MIN_WATERMARK)


@dataclass
class _SplitState:
    split: str
    batches: Iterator[pa.RecordBatch | None]
    generator: BoundedOutOfOrderness | None
    silent_since: float | None = None  # idle clock at the first empty poll of this streak
    idle: bool = False
    finished: bool = False


@dataclass
class _Buffer:
    batches: list[pa.RecordBatch] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0


class SourceOperator:
    """Drives a :class:`SourceReader` in one source subtask (see module contract)."""

    def __init__(
        self,
        reader: SourceReader,
        *,
        timestamps: TimestampFn | None = None,
        delay_ms: int = 0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        allow_latency_ms: int = DEFAULT_ALLOW_LATENCY_MS,
        idle_timeout_ms: int = 0,
        max_batch_rows: int | None = None,
    ) -> None:
        self.reader = reader
        self.timestamps = timestamps
        self.delay_ms = delay_ms
        self.batch_size = max(int(batch_size), 1)
        self.max_batch_rows = max(int(max_batch_rows), 1) if max_batch_rows else None
        self.allow_latency_s = max(int(allow_latency_ms), 0) / 1000.0
        self.idle_timeout_s = max(int(idle_timeout_ms), 0) / 1000.0
        self._restored: dict[str, Any] = {}
        self._states: list[_SplitState] = []
        self._discovery_s = 0.0

    def open(self, ctx: OperatorContext) -> None:
        self.ctx = ctx

    def assigned_splits(self, ctx: OperatorContext) -> list[str]:
        """Splits ``≡ subtask (mod parallelism)``: of the reader's splits, or after a restore
        of the checkpoint's splits (sorted), so a job restored at another parallelism reads
        the splits it checkpointed (generator shards stay what they were)."""
        splits = sorted(self._restored) if self._restored else self.reader.splits()
        owner = getattr(self.reader, "split_owner", None)
        if owner is not None:
            return [s for s in splits if owner(s, ctx.parallelism) == ctx.subtask_index]
        return [s for i, s in enumerate(splits) if i % ctx.parallelism == ctx.subtask_index]

    def run(self, out: SourceOutput, cancelled: threading.Event) -> None:
        """Read until every assigned split ended (bounded) or ``cancelled`` is set."""
        ctx = self.ctx
        splits = self.assigned_splits(ctx)
        for split in splits:
            position = self._restored.get(split)
            if position is not None and not position.get("finished"):
                self.reader.seek(split, position)
        self._states = [
            self._open_split(split)
            for split in splits
            if not (self._restored.get(split) or {}).get("finished")
        ]
        interval_ms = int(getattr(self.reader, "discovery_interval_ms", 0) or 0)
        discovering = (interval_ms > 0 and hasattr(self.reader, "discover")
                       and hasattr(self.reader, "split_owner"))
        self._discovery_s = interval_ms / 1000.0 if discovering else 0.0
        self._known: set[str] = set()
        if discovering:
            self._known = set(self._restored) if self._restored else set(self.reader.splits())
        self._next_discovery = time.monotonic() + self._discovery_s
        self._out = out
        self._buffer = _Buffer()
        self._emitted_wm = MIN_WATERMARK
        self._idle_out = False
        self._blocked_s = 0.0  # time spent handing data downstream (backpressure included)
        try:
            if not self._states and not self.reader.bounded:
                out.idle(True)
                self._idle_out = True
            if not self._states and not self.reader.bounded and not self._discovery_s:
                poll = getattr(out, "poll", None) or (lambda: None)
                while not cancelled.wait(0.05):
                    poll()
                return
            self._loop(cancelled)
            if not cancelled.is_set():
                self._flush()
        finally:
            self.reader.close()

    # -- steps -------------------------------------------------------------------------------
    def _open_split(self, split: str) -> _SplitState:
        return _SplitState(
            split,
            iter(self.reader.read(split)),
            BoundedOutOfOrderness(self.timestamps, self.delay_ms) if self.timestamps else None,
        )

    def _discover(self) -> None:
        """Every discovery interval: open the new splits this subtask owns (module contract)."""
        if not self._discovery_s or time.monotonic() < self._next_discovery:
            return
        new = self.reader.discover(set(self._known))
        self._next_discovery = time.monotonic() + self._discovery_s
        if not new:
            return
        self._known.update(new)
        owner = self.reader.split_owner
        ctx = self.ctx
        mine = [s for s in new if owner(s, ctx.parallelism) == ctx.subtask_index]
        self._states.extend(self._open_split(s) for s in mine)
        if mine:
            self._update_idle()

    def _idle_clock(self) -> float:
        """Monotonic time minus the time spent blocked downstream (see module contract)."""
        return time.monotonic() - self._blocked_s

    def positions(self) -> dict[str, Any]:
        """Emit what is buffered, then each assigned split's position (see module contract)."""
        self._flush()
        out: dict[str, Any] = {}
        for st in self._states:
            if st.finished:
                out[st.split] = {"finished": True}
            else:
                out[st.split] = self.reader.position(st.split) or {}
        mine = set(self.assigned_splits(self.ctx))
        for split, position in self._restored.items():
            if position.get("finished") and split in mine:
                out[split] = {"finished": True}
        return out

    def position_text(self) -> str:
        """Where each open split stands (after the last batch read), for error messages:
        a record that failed downstream came from the batch just before these positions."""
        parts = []
        for st in self._states:
            if st.finished:
                continue
            try:
                position = self.reader.position(st.split)
            except Exception:  # noqa: BLE001 - only for a message
                position = None
            parts.append(f"{st.split} at {position}" if position else st.split)
        return "; ".join(parts)

    def drain(self) -> None:
        """Stop-with-savepoint WITH DRAIN, just before the savepoint's barrier: emit what is
        buffered, then the final watermark (``MAX_WATERMARK``), so every event-time window
        downstream fires and its rows go ahead of the barrier. The source emits nothing
        afterwards (its task waits to be cancelled)."""
        self._flush()
        if self._emitted_wm < MAX_WATERMARK:
            self._emitted_wm = MAX_WATERMARK
            self._timed(self._out.watermark, MAX_WATERMARK)

    def restore_positions(self, positions: dict[str, Any]) -> None:
        self._restored = dict(positions)

    def _loop(self, cancelled: threading.Event) -> None:
        poll = getattr(self._out, "poll", None) or (lambda: None)
        while not cancelled.is_set():
            poll()
            skipped = getattr(self.reader, "skipped", None)
            if skipped:  # records a lenient format dropped as malformed
                self.ctx.metrics.extra["malformed_records"] = int(skipped)
            self._discover()
            open_states = [s for s in self._states if not s.finished]
            if not open_states:
                if not self._discovery_s:
                    return
                cancelled.wait(min(self._discovery_s, 0.05))
                continue
            got_data = False
            status_changed = False
            for st in open_states:
                if cancelled.is_set():
                    return
                try:
                    item = next(st.batches)
                except StopIteration:
                    st.finished = True
                    status_changed = True
                    continue
                if item is None or item.num_rows == 0:
                    # 1. a silent poll: idle after idle_timeout of consecutive silence
                    clock = self._idle_clock()
                    if st.silent_since is None:
                        st.silent_since = clock
                    if (
                        self.idle_timeout_s
                        and not st.idle
                        and clock - st.silent_since >= self.idle_timeout_s
                    ):
                        st.idle = True
                        status_changed = True
                    continue
                # 3. data: the split is active again
                got_data = True
                st.silent_since = None
                if st.idle:
                    st.idle = False
                    status_changed = True
                for piece in self._pieces(item):
                    # Emit what is buffered *before* the piece moves the watermark: a watermark
                    # must never cover rows that have not been emitted yet.
                    self._make_room(piece)
                    if st.generator is not None:
                        st.generator.on_batch(piece)
                    self._buffer_batch(piece)
            if self._buffer.batches and time.monotonic() - self._buffer.since >= self.allow_latency_s:
                self._flush()
                self._advance_watermark()
            if status_changed:
                self._update_idle()  # 2. all open splits idle -> IdleMarker downstream
                self._advance_watermark()
            if not got_data:
                cancelled.wait(_POLL_INTERVAL_S)

    def _pieces(self, batch: pa.RecordBatch) -> list[pa.RecordBatch]:
        """The batch, or zero-copy slices of at most ``max_batch_rows`` rows."""
        limit = self.max_batch_rows
        if limit is None or batch.num_rows <= limit:
            return [batch]
        return [batch.slice(i, limit) for i in range(0, batch.num_rows, limit)]

    def _make_room(self, batch: pa.RecordBatch) -> None:
        """Flush the buffer (and forward the watermark of what it holds) when ``batch`` would
        take it past ``max_batch_rows``."""
        if (
            self.max_batch_rows is not None
            and self._buffer.rows + batch.num_rows > self.max_batch_rows
        ):
            self._flush()
            self._advance_watermark()

    def _buffer_batch(self, batch: pa.RecordBatch) -> None:
        buf = self._buffer
        if not buf.batches:
            buf.since = time.monotonic()
        buf.batches.append(batch)
        buf.rows += batch.num_rows
        if buf.rows >= self.batch_size:
            self._flush()
            self._advance_watermark()

    def _flush(self) -> None:
        buf = self._buffer
        if not buf.batches:
            return
        batch = buf.batches[0] if len(buf.batches) == 1 else pa.concat_batches(buf.batches)
        self._buffer = _Buffer()
        self._timed(self._out.emit, batch)

    def _timed(self, fn: Callable[..., None], *args: Any) -> None:
        started = time.monotonic()
        try:
            fn(*args)
        finally:
            self._blocked_s += time.monotonic() - started

    def _advance_watermark(self) -> None:
        active = [
            s.generator.current()
            for s in self._states
            if s.generator is not None and not s.finished and not s.idle
        ]
        if not active:
            return
        wm = min(active)
        if wm > self._emitted_wm:
            self._flush()
            self._emitted_wm = wm
            self._timed(self._out.watermark, wm)

    def _update_idle(self) -> None:
        open_states = [s for s in self._states if not s.finished]
        idle = all(s.idle for s in open_states) if open_states else (
            not self.reader.bounded and bool(self._discovery_s))
        if idle != self._idle_out:
            self._flush()
            self._idle_out = idle
            self._timed(self._out.idle, idle)


class ValuesReader(SourceReader):
    """A bounded reader over literal rows (``VALUES``, tests): one split, ``batch_rows`` per batch.

    Rows are converted to Arrow once, when the reader is built (not on the data path)."""

    bounded = True

    def __init__(self, table: pa.Table, batch_rows: int = DEFAULT_BATCH_SIZE) -> None:
        self.table = table
        self.batch_rows = max(int(batch_rows), 1)

    @staticmethod
    def from_params(params: dict[str, Any]) -> ValuesReader:
        from flowsql.types import parse_type, to_arrow

        schema = pa.schema(
            [pa.field(name, to_arrow(parse_type(type_text))) for name, type_text in params["schema"]]
        )
        rows = params.get("rows") or []
        columns = []
        for i, f in enumerate(schema):
            values = pa.array([row[i] for row in rows])
            columns.append(values if values.type == f.type else pc.cast(values, f.type))
        table = pa.Table.from_arrays(columns, schema=schema)
        return ValuesReader(table, int(params.get("batch_rows", DEFAULT_BATCH_SIZE)))

    def splits(self) -> list[str]:
        return ["values"]

    def read(self, split: str) -> Iterator[pa.RecordBatch | None]:
        yield from self.table.combine_chunks().to_batches(max_chunksize=self.batch_rows)
