"""A task's outputs: one partitioning writer per outgoing network edge.

Contract:
- :class:`EdgeWriter` sends the batches of one edge to the downstream subtasks' channels:
  ``forward`` to the single paired subtask, ``rebalance`` round-robin per batch, ``broadcast``
  to all, ``hash`` split by key group (:mod:`flowsql.runtime.partitioning`, :mod:`flowsql.state.keygroups`) so all rows of one
  key reach the same subtask.
- Control messages (watermarks, idle markers, end of input) go to every downstream channel.
- :attr:`EdgeWriter.put_seconds` is the time spent inside the channels' ``put``: waiting for
  room (backpressure) and, for a Flight channel, handing the message to the network. The
  task reports it as its backpressured time.
- :class:`TaskOutput` fans a chain tail's output out to all its edges; empty batches are
  never sent. ``close()`` after the final ``EndOfInput`` ends every channel stream cleanly;
  ``abort()`` (cancellation, failure) tears them down without waiting. Writers without such
  methods (in-process channels) need neither.
"""

from __future__ import annotations

import time

import pyarrow as pa

from flowsql.operators.base import MAX_PARALLELISM
from flowsql.runtime.partitioning import route, split_by_target
from flowsql.runtime.taskmanager.channels import ChannelWriter, Message


class EdgeWriter:
    def __init__(
        self,
        partitioning: str,
        writers: list[ChannelWriter],
        keys: tuple[str, ...] = (),
        max_parallelism: int = MAX_PARALLELISM,
        start: int = 0,
    ) -> None:
        self.partitioning = partitioning
        self.writers = writers
        self.keys = keys
        self.max_parallelism = max_parallelism
        self._next = start % max(len(writers), 1)
        self.put_seconds = 0.0

    def _put(self, writer: ChannelWriter, message: Message) -> None:
        t0 = time.perf_counter()
        try:
            writer.put(message)
        finally:
            self.put_seconds += time.perf_counter() - t0

    def emit(self, batch: pa.RecordBatch) -> None:
        n = len(self.writers)
        if self.partitioning == "hash" and n > 1:
            targets = route(batch, self.keys, n, self.max_parallelism)
            for writer, part in zip(self.writers, split_by_target(batch, targets, n), strict=True):
                if part is not None and part.num_rows:
                    self._put(writer, part)
        elif self.partitioning == "broadcast":
            for writer in self.writers:
                self._put(writer, batch)
        elif self.partitioning == "rebalance" and n > 1:
            self._put(self.writers[self._next], batch)
            self._next = (self._next + 1) % n
        else:  # forward, or a single target
            self._put(self.writers[0], batch)

    def broadcast(self, message: Message) -> None:
        for writer in self.writers:
            self._put(writer, message)

    def close(self) -> None:
        for writer in self.writers:
            close = getattr(writer, "close", None)
            if close is not None:
                close()

    def abort(self) -> None:
        for writer in self.writers:
            abort = getattr(writer, "abort", None)
            if abort is not None:
                try:
                    abort()
                except Exception:  # noqa: BLE001 - tearing down must reach every writer
                    pass


class TaskOutput:
    """The chain tail's collector: batches to every edge, control messages to every channel."""

    def __init__(self, edges: list[EdgeWriter]) -> None:
        self.edges = edges

    def emit(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        for edge in self.edges:
            edge.emit(batch)

    def broadcast(self, message: Message) -> None:
        for edge in self.edges:
            edge.broadcast(message)

    def close(self) -> None:
        for edge in self.edges:
            edge.close()
