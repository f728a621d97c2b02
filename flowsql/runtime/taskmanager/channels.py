"""Channels: ordered, bounded transport of batches and control messages between tasks.

Contract:
- A task reads all its inputs from one :class:`InputGate`; the gate has ``num_channels``
  channels, one per upstream producer, and :meth:`InputGate.get` returns
  ``(channel_index, message)``. Messages of one channel arrive in the order they were put.
- A producer writes through a :class:`ChannelWriter`. Each channel holds at most ``capacity``
  messages: :meth:`ChannelWriter.put` blocks while its channel is full (backpressure), so a
  slow consumer slows its producers instead of growing memory.
- A message is a ``pyarrow.RecordBatch`` or a control message (``Watermark``, ``EndOfInput``,
  ``CheckpointBarrier``, ``IdleMarker``).
- :meth:`InputGate.cancel` wakes every blocked ``get`` and ``put`` on that gate with
  :class:`TaskCancelled`; the runtime uses it to stop a job promptly.
- :class:`InProcessInputGate` is the only gate: a gate always lives in its consumer's process.
  Producers in the same process write into it directly; producers in other processes write
  through ``flowsql.runtime.network.exchange`` (Arrow Flight), which uses the hooks below.
- Hooks for a remote receiver: ``on_consumed(channel)`` is called (outside the lock) each time
  :meth:`InProcessInputGate.get` hands out a message; ``on_cancel()`` is called (outside the
  lock) once when the gate is cancelled; :meth:`InProcessInputGate.put_remote` appends without
  blocking and fails if the channel is full (a credit-based sender never overfills it).
- :attr:`InProcessInputGate.max_queued` is the most messages one channel ever held (<= capacity).
- Barrier alignment: :meth:`InputGate.block` stops ``get`` from handing out a channel's
  messages (they wait in the gate, in order, and keep counting against the channel's
  capacity, so its producer is backpressured); :meth:`InputGate.unblock_all` releases every
  blocked channel, whose held messages then come first, each channel still in its order.

Hand-written rather than ``queue.Queue`` because the consumer waits on *any* of its channels
while every channel keeps its own bound, and cancellation must wake both sides at once.
"""

from __future__ import annotations

import abc
import threading
from collections import deque
from collections.abc import Callable

import pyarrow as pa

from flowsql.messages import CheckpointBarrier, EndOfInput, IdleMarker, Watermark

Message = pa.RecordBatch | Watermark | EndOfInput | CheckpointBarrier | IdleMarker
DEFAULT_CAPACITY = 16


class TaskCancelled(Exception):
    """Internal: raised inside a task when its job is being cancelled (never user-facing)."""


class ChannelWriter(abc.ABC):
    """The producer's end of one channel."""

    @abc.abstractmethod
    def put(self, message: Message) -> None:
        """Append a message; blocks while the channel is full; raises TaskCancelled."""


class InputGate(abc.ABC):
    """The consumer's end of all channels of one task."""

    num_channels: int

    @abc.abstractmethod
    def get(self, timeout: float | None = None) -> tuple[int, Message] | None:
        """Next ``(channel, message)`` in arrival order; None on timeout; raises TaskCancelled."""

    @abc.abstractmethod
    def writer(self, channel: int) -> ChannelWriter: ...

    @abc.abstractmethod
    def block(self, channel: int) -> None:
        """Hold back ``channel``'s messages until :meth:`unblock_all` (barrier alignment)."""

    @abc.abstractmethod
    def unblock_all(self) -> None: ...

    @abc.abstractmethod
    def cancel(self) -> None: ...


class _InProcessWriter(ChannelWriter):
    def __init__(self, gate: InProcessInputGate, channel: int) -> None:
        self._gate = gate
        self._channel = channel

    def put(self, message: Message) -> None:
        self._gate._put(self._channel, message)


class InProcessInputGate(InputGate):
    """All channels of one gate share one FIFO and one lock; each channel has its own bound.

    ``on_consumed`` (constructor argument or attribute) is called with the channel index, outside
    the lock, after :meth:`get` removed a message of that channel. ``on_cancel`` is called once,
    outside the lock, by the first :meth:`cancel`.
    """

    def __init__(
        self,
        name: str,
        num_channels: int,
        capacity: int = DEFAULT_CAPACITY,
        *,
        on_consumed: Callable[[int], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("channel capacity must be >= 1")
        self.name = name
        self.num_channels = num_channels
        self.capacity = capacity
        self._queue: deque[tuple[int, Message]] = deque()
        self._counts = [0] * num_channels
        self.max_queued = 0  # the most messages one channel ever held
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._cancelled = False
        self._blocked: set[int] = set()
        self._held: deque[tuple[int, Message]] = deque()  # taken aside while blocked
        self._ready: deque[tuple[int, Message]] = deque()  # released by unblock_all: first
        self.on_consumed = on_consumed
        self.on_cancel = on_cancel

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def writer(self, channel: int) -> ChannelWriter:
        if not 0 <= channel < self.num_channels:
            raise IndexError(f"gate {self.name} has no channel {channel}")
        return _InProcessWriter(self, channel)

    def _put(self, channel: int, message: Message) -> None:
        with self._not_full:
            while self._counts[channel] >= self.capacity and not self._cancelled:
                self._not_full.wait()
            if self._cancelled:
                raise TaskCancelled(self.name)
            self._counts[channel] += 1
            if self._counts[channel] > self.max_queued:
                self.max_queued = self._counts[channel]
            self._queue.append((channel, message))
            self._not_empty.notify()

    def put_remote(self, channel: int, message: Message) -> None:
        """Append without blocking (for a credit-based receiver); raises TaskCancelled when the
        gate is cancelled and RuntimeError when the channel already holds ``capacity`` messages."""
        with self._lock:
            if self._cancelled:
                raise TaskCancelled(self.name)
            if self._counts[channel] >= self.capacity:
                raise RuntimeError(
                    f"gate {self.name} channel {channel} is full ({self.capacity} messages): "
                    "the sender exceeded its credits"
                )
            self._counts[channel] += 1
            if self._counts[channel] > self.max_queued:
                self.max_queued = self._counts[channel]
            self._queue.append((channel, message))
            self._not_empty.notify()

    def get(self, timeout: float | None = None) -> tuple[int, Message] | None:
        with self._not_empty:
            if not self._deliverable() and not self._cancelled:
                self._not_empty.wait_for(lambda: self._deliverable() or self._cancelled, timeout)
            if self._cancelled:
                raise TaskCancelled(self.name)
            if self._ready:
                channel, message = self._ready.popleft()
            elif self._queue:
                channel, message = self._queue.popleft()
            else:
                return None
            self._counts[channel] -= 1
            self._not_full.notify_all()
        callback = self.on_consumed
        if callback is not None:
            callback(channel)
        return channel, message

    def _deliverable(self) -> bool:
        """True when the next message may go out (caller holds the lock); moves messages of
        blocked channels at the head of the queue aside."""
        blocked, held = self._blocked, self._held
        if blocked:
            while self._ready and self._ready[0][0] in blocked:
                held.append(self._ready.popleft())
        if self._ready:
            return True
        queue = self._queue
        if blocked:
            while queue and queue[0][0] in blocked:
                held.append(queue.popleft())
        return bool(queue)

    def block(self, channel: int) -> None:
        with self._lock:
            self._blocked.add(channel)

    def unblock_all(self) -> None:
        with self._lock:
            self._blocked.clear()
            self._ready.extend(self._held)
            self._held.clear()
            if self._ready:
                self._not_empty.notify_all()

    def pending(self, channel: int | None = None) -> int:
        with self._lock:
            if channel is None:
                return len(self._queue) + len(self._held) + len(self._ready)
            return self._counts[channel]

    def cancel(self) -> None:
        with self._lock:
            first = not self._cancelled
            self._cancelled = True
            self._not_empty.notify_all()
            self._not_full.notify_all()
        callback = self.on_cancel
        if first and callback is not None:
            callback()
