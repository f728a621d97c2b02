"""Streaming sinks: an operator adapter around a writer, a collecting sink and a blackhole.

Contract:
- A :class:`~connectors.base.SinkWriter` (the contract lives in ``connectors/base.py``, below
  the operators) has ``write(batch)`` (called for every non-empty input batch, in order) and
  ``finish()`` (called once at end of input, after the final watermark).
- :class:`SinkOperator` adapts a writer to the operator contract; it emits nothing. A writer
  with ``on_watermark(timestamp)`` is told every watermark the sink receives.
- :class:`CollectResult` is a thread-safe result channel between a running job and a client
  (tests, the shell's streaming SELECT): each sink subtask writes into one queue; the client
  iterates :meth:`CollectResult.batches` until every subtask finished, or gets the job's error
  (``ExecutionError``) or ``QueryCancelled`` when the job ended otherwise. The JobManager calls
  :meth:`CollectResult.on_job_end` for every submitted resource that has it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

import pyarrow as pa

from connectors.base import SinkWriter
from connectors.options import parse_duration_ms
from flowsql import failpoints
from flowsql.errors import ExecutionError, FlowSQLError, QueryCancelled
from flowsql.messages import Watermark
from flowsql.operators.base import Collector, Operator

_END = object()


class SinkOperator(Operator):
    """Feeds a writer. With checkpointing on (``execution.checkpointing.interval`` in the
    job config) and a writer that has transactional hooks (``begin_transactions``,
    ``prepare_commit``, ``commit``, ``recover``), a snapshot holds the writer's uncommitted
    files (table ``pending``: ``checkpoint``, ``file``; a writer whose ``prepare_commit``
    returns a table of its own, with ``pending_as_table`` set, gets that table back in
    ``recover``), :meth:`notify_checkpoint_complete`
    commits, a restore recovers (commits) the files the checkpoint lists, and
    :meth:`commit_final` publishes the rest when the whole job finished. A writer with
    ``resume_after(checkpoint_id)`` is told, on open, the checkpoint the attempt restored
    from."""

    # rescaling (runtime/taskmanager/checkpointing.py): the uncommitted files of every old
    # subtask go to the new subtask 0, which commits them on restore
    state_keys = "to-first"

    def __init__(self, writer: SinkWriter) -> None:
        self.writer = writer

    def open(self, ctx) -> None:
        super().open(ctx)
        bind = getattr(self.writer, "bind_subtask", None)
        if bind is not None:  # writers that place output by subtask (kafka's fixed partitioner)
            bind(ctx.subtask_index, ctx.parallelism)
        bind_job = getattr(self.writer, "bind_job", None)
        if bind_job is not None:  # writers that name things by job and sink (kafka's
            bind_job(ctx.job_id, ctx.uid)  # transactional ids)
        resume = getattr(self.writer, "resume_after", None)
        if resume is not None and ctx.restored_checkpoint_id:  # writers that number epochs
            resume(ctx.restored_checkpoint_id)  # by checkpoint (kafka's markers)
        interval = str(ctx.config.get("execution.checkpointing.interval") or "").strip()
        begin = getattr(self.writer, "begin_transactions", None)
        if interval and (parse_duration_ms(interval) or 0) > 0 and begin is not None:
            begin()

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        prepare = getattr(self.writer, "prepare_commit", None)
        if prepare is None or not getattr(self.writer, "transactional", False):
            flush = getattr(self.writer, "flush", None)
            if flush is not None:  # a savepoint without checkpointing: what came before it
                flush()  # is written out now, visible (nothing after it will come)
            return {}
        pending = prepare(checkpoint_id)
        if isinstance(pending, pa.Table):  # a writer that keeps its own state table (kafka)
            return {"pending": pending}
        return {"pending": pa.table({
            "checkpoint": pa.array([n for n, _ in pending], pa.int64()),
            "file": pa.array([f for _, f in pending], pa.string()),
        })}

    def restore(self, state: dict[str, pa.Table]) -> None:
        table = state.get("pending")
        recover = getattr(self.writer, "recover", None)
        if table is None or recover is None:
            return
        if getattr(self.writer, "pending_as_table", False):
            recover(table)
        else:
            recover(list(zip(table.column("checkpoint").to_pylist(),
                             table.column("file").to_pylist(), strict=True)))

    @property
    def transactional(self) -> bool:
        return bool(getattr(self.writer, "transactional", False))

    def commit_final(self) -> None:
        """The job finished: publish everything the writer still holds (transactional)."""
        commit_all = getattr(self.writer, "commit_all", None)
        if commit_all is not None and self.transactional:
            commit_all()

    def notify_checkpoint_complete(self, checkpoint_id: int) -> None:
        failpoints.hit("checkpoint-commit", checkpoint_id)
        commit = getattr(self.writer, "commit", None)
        if commit is not None and getattr(self.writer, "transactional", False):
            commit(checkpoint_id)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows:
            self.writer.write(batch)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        observe = getattr(self.writer, "on_watermark", None)
        if observe is not None:  # writers that commit by event time (filesystem partitions)
            observe(wm.timestamp)
        return wm

    def close(self, out: Collector) -> None:
        self.writer.finish()


class BlackholeWriter:
    """Discards everything (counts rows, for benchmarks)."""

    def __init__(self) -> None:
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows

    def finish(self) -> None:
        return None


class ResultAbandoned(Exception):
    """The client went away or the job is being torn down: the collecting sink stops."""


class _CollectWriter:
    def __init__(self, result: CollectResult) -> None:
        self.result = result

    def write(self, batch: pa.RecordBatch) -> None:
        self.result._put(batch)

    def finish(self) -> None:
        self.result._writer_finished()


class CollectResult:
    """Results of a job delivered to a client through a thread-safe queue.

    ``capacity`` bounds the queued batches (0 = unbounded): a bounded result applies
    backpressure to the job when the client reads slowly.
    """

    def __init__(self, capacity: int = 0) -> None:
        self.capacity = capacity
        self._items: deque[object] = deque()
        self._cond = threading.Condition()
        self._expected: int | None = None
        self._finished = 0
        self._done = False
        self._abandoned = False
        self.schema: pa.Schema | None = None

    # -- job side ----------------------------------------------------------------------------
    def bind(self, parallelism: int) -> None:
        """Called when the sink is built: how many subtasks will write (and finish)."""
        with self._cond:
            if self._expected is None:
                self._expected = parallelism

    def writer(self) -> SinkWriter:
        return _CollectWriter(self)

    def _put(self, item: object, control: bool = False) -> None:
        with self._cond:
            if isinstance(item, pa.RecordBatch) and self.schema is None:
                self.schema = item.schema
            while (
                not control
                and self.capacity
                and len(self._items) >= self.capacity
                and not self._abandoned
            ):
                self._cond.wait(0.1)
            if self._abandoned and not control:
                raise ResultAbandoned()
            self._items.append(item)
            self._cond.notify_all()

    def _writer_finished(self) -> None:
        with self._cond:
            self._finished += 1
            last = self._expected is not None and self._finished >= self._expected
        if last:
            self._put(_END, control=True)

    def _complete(self) -> bool:
        with self._cond:
            return self._expected is not None and self._finished >= self._expected

    def on_job_end(self, state: str, error: FlowSQLError | None) -> None:
        """Called by the JobManager once the job reached a final state."""
        if self._complete():
            return
        if state == "CANCELED":
            err: FlowSQLError = QueryCancelled("the job was cancelled")
        else:
            err = error or ExecutionError(f"the job ended in state {state} before all results")
        self._put(err, control=True)

    def abort(self) -> None:
        """The job is being cancelled or failed: release writers blocked on a full queue."""
        with self._cond:
            self._abandoned = True
            self._cond.notify_all()

    def close(self) -> None:
        """The client stops reading."""
        self.abort()

    # -- client side -------------------------------------------------------------------------
    def poll(self, timeout: float | None = None) -> pa.RecordBatch | None:
        """Next batch, or None when the result is complete or nothing arrived in ``timeout``.
        Raises the job's error if it failed or was cancelled. Check :attr:`done`."""
        with self._cond:
            if self._done:
                return None
            if not self._items:
                self._cond.wait_for(lambda: bool(self._items), timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
        if item is _END:
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item

    @property
    def done(self) -> bool:
        return self._done

    def batches(self, timeout: float | None = None) -> Iterator[pa.RecordBatch]:
        """Every batch until the job's sinks finished; ``timeout`` bounds each wait."""
        while not self._done:
            batch = self.poll(timeout)
            if batch is None and not self._done:
                raise ExecutionError(f"no result within {timeout} s")
            if batch is not None:
                yield batch

    def table(self, timeout: float | None = None) -> pa.Table:
        batches = list(self.batches(timeout))
        if batches:
            return pa.Table.from_batches(batches)
        return pa.Table.from_batches([], schema=self.schema) if self.schema else pa.table({})
