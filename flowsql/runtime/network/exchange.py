"""Data channels between processes: Arrow Flight DoPut streams with credit-based flow control.

Contract:
- One channel (producer subtask → one channel of a consumer's input gate) is one Flight DoPut
  stream on its own gRPC connection, described by ``FlightDescriptor.for_path("gate", key,
  str(channel))``. :class:`FlightChannelWriter` is the producer's end (a
  :class:`~flowsql.runtime.taskmanager.channels.ChannelWriter`); :class:`ExchangeReceiver`,
  called from the server's ``do_put``, puts what arrives into the gate registered under ``key``
  (an :class:`~flowsql.runtime.taskmanager.channels.InProcessInputGate`).
- Order: batches travel as Flight data messages and control messages (``Watermark``,
  ``IdleMarker``, ``EndOfInput``, ``CheckpointBarrier``) as metadata-only messages
  (``app_metadata``, :mod:`.codec`) on the same stream, so the gate sees them in sending order.
- Schemas: a Flight stream has one schema. The writer opens its stream lazily: with the first
  batch's schema, or with an empty schema when a control message comes first. A batch whose
  schema differs from the open stream's (including metadata) ends that stream completely
  (half-close, wait for the receiver to finish and answer) and opens a new one with the new
  schema, so order is kept across the switch. A channel whose batches share one schema and that
  starts with a batch uses a single stream.
- Credits (no reliance on HTTP/2 flow control): every message costs one credit. When a stream
  starts, the receiver grants ``capacity - outstanding`` credits, where ``outstanding`` counts
  this channel's messages received into the gate and not yet taken out by the consumer; then it
  grants one credit per message the consumer takes out of that channel (reported by the gate's
  ``on_consumed``), in batches of ``max(1, capacity // 2)``. Grants travel back as
  JSON metadata on the DoPut stream (``{"c": n}``, the first one ``{"c": n, "cap": capacity}``)
  and a background thread per stream reads them. Hence messages sent but not yet consumed
  never exceed the gate's capacity, and the receiver never blocks on a full channel.
- Other server → writer notices: ``{"x": "cancelled"}`` (the gate was cancelled: the writer's
  ``put`` raises ``TaskCancelled``), ``{"x": "closing"}`` (the receiving server shuts down) and
  ``{"x": "error", "e": ...}`` (an encoded FlowSQL error, e.g. the gate was never registered).
  On a notice the writer half-closes its stream so the receiver's handler returns.
- :meth:`FlightChannelWriter.abort` never waits for the receiver (it tears the stream down in
  the background), so cancelling a task is prompt even when its peer hangs.
- Coalescing (optional, ``coalesce_rows`` > 0; the TaskManagers' channels use
  :data:`RUNTIME_COALESCE_ROWS`): batches of fewer than ``coalesce_rows`` rows are buffered
  and sent as one concatenated batch (one message, one credit) once the buffer holds
  ``coalesce_rows`` rows or ``coalesce_bytes`` bytes, or its first batch is
  ``coalesce_latency`` seconds old (a daemon thread flushes an idle producer's buffer when a
  credit is free; it never waits for credits). A ``Watermark`` put while the buffer holds
  batches is held, not sent: a later watermark replaces it, and the flush sends the held one
  after the concatenated batch, in the same Flight message (the batch with the watermark as
  its ``app_metadata``; such a message costs two credits and counts as two messages at the
  receiver, which puts the batch and then the watermark into the gate; a receiver of capacity
  1 gets watermarks unheld). Delaying a watermark
  behind later rows is allowed (a watermark only promises that older rows stop coming; the
  receiver still sees every row before it), and it means one watermark step downstream per
  flushed buffer instead of one per put. Any other control message, a large batch, a batch of
  another schema and ``close`` flush the buffer (and the held watermark) first, so order is
  kept; ``abort`` drops both. With ``coalesce_rows`` = 0 (the default) every ``put`` is one
  message.
- Failures reach the producer as :class:`~flowsql.errors.ExecutionError` naming the location,
  gate and channel; connecting retries for up to ``connect_timeout`` seconds while the peer
  refuses connections (it may still be starting). ``abort`` returns at once and ends the stream
  in the background: cancelling a task never waits for an unreachable receiver.
- :class:`ResultStreams` serves a gate's batches to a DoGet client (the JobManager relaying a
  collect sink): one stream with the first batch's schema, ending when every channel sent
  ``EndOfInput``; other control messages are not forwarded.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.flight as flight

from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.messages import EndOfInput, Watermark
from flowsql.runtime.network.codec import (
    decode_message,
    encode_message,
    error_from_dict,
    error_to_dict,
)
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.taskmanager.channels import (
    ChannelWriter,
    InProcessInputGate,
    InputGate,
    Message,
    TaskCancelled,
)

_EMPTY_SCHEMA = pa.schema([])
_POLL = 0.05  # how often a blocked put looks at an external cancel event
_GATE_POLL = 0.2  # how often a waiting receiver looks at its closing flag
# One gRPC connection per channel: a channel never shares a TCP connection with another one.
_CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]
# Coalescing of small batches (FlightChannelWriter(coalesce_rows=...)); the TaskManagers'
# channels use RUNTIME_COALESCE_ROWS (16,384 rows: two source batches; measured with
# bench/exchange.py: 1 K-row puts reach ~90 % of raw Flight against ~61 % at 8,192).
COALESCE_BYTES = 4 << 20
COALESCE_LATENCY_S = 0.005
RUNTIME_COALESCE_ROWS = 16384


def gate_descriptor(gate_key: str, channel: int) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_path("gate", gate_key, str(channel))


def _parse_descriptor(descriptor: flight.FlightDescriptor) -> tuple[str, int]:
    path = descriptor.path or []
    if len(path) != 3 or path[0] != b"gate":
        raise ExecutionError(f"not a gate channel descriptor: {path!r}")
    try:
        return path[1].decode(), int(path[2])
    except (UnicodeDecodeError, ValueError):
        raise ExecutionError(f"not a gate channel descriptor: {path!r}") from None


# ---------------------------------------------------------------------------------------------
# Receiver side


class _InboundStream:
    """One open DoPut stream of a channel, as seen by the receiver."""

    __slots__ = ("channel", "writer", "held", "open")

    def __init__(self, channel: int, writer: flight.FlightMetadataWriter) -> None:
        self.channel = channel
        self.writer = writer
        self.held = 0  # credits earned but not yet sent
        self.open = True


class _CreditBook:
    """Credit accounting of the remote channels of one gate (installed as its hooks)."""

    def __init__(self, gate: InProcessInputGate) -> None:
        self.gate = gate
        self.capacity = gate.capacity
        self.grant_batch = max(1, gate.capacity // 2)
        self._lock = threading.Lock()
        self._outstanding = [0] * gate.num_channels
        self.max_outstanding = [0] * gate.num_channels
        self._streams: dict[int, _InboundStream] = {}

    def attach(self, channel: int, writer: flight.FlightMetadataWriter) -> _InboundStream:
        with self._lock:
            if channel in self._streams:
                raise ExecutionError(
                    f"gate {self.gate.name} channel {channel} already has a connected sender"
                )
            stream = _InboundStream(channel, writer)
            self._streams[channel] = stream
            initial = self.capacity - self._outstanding[channel]
            self._send(stream, {"c": initial, "cap": self.capacity})
            return stream

    def detach(self, stream: _InboundStream) -> None:
        with self._lock:
            stream.open = False
            if self._streams.get(stream.channel) is stream:
                del self._streams[stream.channel]

    def received(self, channel: int) -> None:
        with self._lock:
            self._outstanding[channel] += 1
            if self._outstanding[channel] > self.max_outstanding[channel]:
                self.max_outstanding[channel] = self._outstanding[channel]

    def unreceived(self, channel: int) -> None:
        with self._lock:
            self._outstanding[channel] -= 1

    def consumed(self, channel: int) -> None:
        """Gate hook: the consumer took a message of ``channel`` out of the gate."""
        with self._lock:
            if self._outstanding[channel] == 0:
                return  # a local (in-process) channel of the same gate
            self._outstanding[channel] -= 1
            stream = self._streams.get(channel)
            if stream is None:
                return
            stream.held += 1
            if stream.held >= self.grant_batch:
                held, stream.held = stream.held, 0
                self._send(stream, {"c": held})

    def cancelled(self) -> None:
        """Gate hook: tell every connected sender that the gate was cancelled."""
        self.notify_all({"x": "cancelled"})

    def notify_all(self, doc: dict[str, Any]) -> None:
        with self._lock:
            for stream in list(self._streams.values()):
                self._send(stream, doc)

    def _send(self, stream: _InboundStream, doc: dict[str, Any]) -> None:
        if not stream.open:
            return
        try:
            stream.writer.write(pa.py_buffer(orjson.dumps(doc)))
        except Exception:  # noqa: BLE001 - the sender is gone; its handler ends the stream
            stream.open = False


class ExchangeReceiver:
    """Server side of the data channels; call :meth:`handle_put` from ``do_put``."""

    def __init__(self, gates: GateRegistry, gate_timeout: float = 30.0) -> None:
        self._gates = gates
        self._gate_timeout = gate_timeout
        self._lock = threading.Lock()
        self._books: weakref.WeakKeyDictionary[InProcessInputGate, _CreditBook] = (
            weakref.WeakKeyDictionary()
        )
        self._closing = False

    def book(self, gate: InputGate) -> _CreditBook:
        """The credit book of ``gate``, installing its hooks on first use."""
        if not isinstance(gate, InProcessInputGate):
            raise ExecutionError(f"gate {type(gate).__name__} cannot receive remote channels")
        with self._lock:
            book = self._books.get(gate)
            if book is None:
                book = _CreditBook(gate)
                gate.on_consumed = book.consumed
                gate.on_cancel = book.cancelled
                self._books[gate] = book
            return book

    def handle_put(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.FlightMetadataWriter,
    ) -> None:
        try:
            key, channel = _parse_descriptor(descriptor)
            gate = self._wait_gate(key)
            if not 0 <= channel < gate.num_channels:
                raise ExecutionError(f"gate {key!r} has no channel {channel}")
            book = self.book(gate)
            if gate.cancelled:
                writer.write(pa.py_buffer(orjson.dumps({"x": "cancelled"})))
                raise flight.FlightCancelledError(f"gate {key!r} is cancelled")
            stream = book.attach(channel, writer)
        except FlowSQLError as exc:
            writer.write(pa.py_buffer(orjson.dumps({"x": "error", "e": error_to_dict(exc)})))
            raise flight.FlightServerError(str(exc)) from None
        try:
            if self._closing:
                book.notify_all({"x": "closing"})
            while True:
                try:
                    chunk = reader.read_chunk()
                except StopIteration:
                    return
                messages: list[Message] = []
                if chunk.data is not None:
                    messages.append(chunk.data)
                if chunk.app_metadata is not None:  # a control message, or one riding a batch
                    messages.append(decode_message(chunk.app_metadata.to_pybytes()))
                for message in messages:
                    book.received(channel)
                    try:
                        gate.put_remote(channel, message)
                    except TaskCancelled:
                        book.unreceived(channel)
                        raise flight.FlightCancelledError(f"gate {key!r} is cancelled") from None
        finally:
            book.detach(stream)

    def close(self) -> None:
        """Tell every connected sender that this receiver shuts down (they half-close)."""
        with self._lock:
            self._closing = True
            books = list(self._books.values())
        for book in books:
            book.notify_all({"x": "closing"})

    def _wait_gate(self, key: str) -> InputGate:
        deadline = time.monotonic() + self._gate_timeout
        while True:
            if self._closing:
                raise ExecutionError(f"receiver shuts down; gate {key!r} is not served")
            left = deadline - time.monotonic()
            try:
                return self._gates.get(key, max(0.0, min(_GATE_POLL, left)))
            except ExecutionError:
                if time.monotonic() >= deadline:
                    raise ExecutionError(
                        f"input gate {key!r} was not registered within {self._gate_timeout:g} s",
                        hint="the consumer task is not deployed on this TaskManager",
                    ) from None


# ---------------------------------------------------------------------------------------------
# Sender side


class _OutboundStream:
    """One DoPut stream of a writer, with the credit state the background reader updates."""

    def __init__(self, writer: flight.FlightStreamWriter, meta: flight.FlightMetadataReader):
        self.writer = writer
        self.meta = meta
        self.credits = 0
        self.capacity: int | None = None
        self.notice: str | None = None  # "cancelled" | "closing"
        self.error: FlowSQLError | None = None  # decoded error sent by the receiver
        self.failure: BaseException | None = None  # transport failure of the metadata stream
        self.ended = False
        self.half_closed = False
        self.finished = False
        self.thread: threading.Thread | None = None


class FlightChannelWriter(ChannelWriter):
    """Producer end of one remote channel. Not thread-safe except :meth:`abort` (the
    coalescing flusher thread takes ``_put_lock`` like ``put``).

    ``put`` blocks while the channel has no credit and raises ``TaskCancelled`` when
    ``cancelled`` is set, :meth:`abort` was called or the receiving gate was cancelled.
    :meth:`close` (idempotent) ends the stream cleanly and waits for the receiver to have put
    everything into the gate; call it after ``EndOfInput``. Call :meth:`close` or :meth:`abort`
    in every case, so the stream's connection and reader thread end.
    """

    def __init__(
        self,
        location: str,
        gate_key: str,
        channel: int,
        *,
        cancelled: threading.Event | None = None,
        connect_timeout: float = 30.0,
        coalesce_rows: int = 0,
        coalesce_bytes: int = COALESCE_BYTES,
        coalesce_latency: float = COALESCE_LATENCY_S,
    ) -> None:
        self.location = location
        self.gate_key = gate_key
        self.channel = channel
        self._cancel_event = cancelled
        self._connect_timeout = connect_timeout
        self.coalesce_rows = max(0, int(coalesce_rows))
        self.coalesce_bytes = coalesce_bytes
        self.coalesce_latency = coalesce_latency
        self._put_lock = threading.Lock()  # the producer's put vs the flusher thread
        self._buf: list[pa.RecordBatch] = []
        self._buf_rows = 0
        self._buf_bytes = 0
        self._buf_due = 0.0
        self._held: Watermark | None = None  # a watermark waiting behind the buffered batches
        self._cond = threading.Condition()
        self._io_lock = threading.Lock()
        self._client: flight.FlightClient | None = None
        self._stream: _OutboundStream | None = None
        self._schema: pa.Schema | None = None
        self._aborted = False
        self._closed = False
        self.sent = 0
        self.streams_opened = 0
        self.max_in_flight_seen = 0

    @property
    def credits(self) -> int:
        stream = self._stream
        return stream.credits if stream is not None else 0

    @property
    def capacity(self) -> int | None:
        stream = self._stream
        return stream.capacity if stream is not None else None

    def flow_stats(self) -> tuple[int, int | None]:
        """``(max_in_flight, capacity)``: the most messages this channel ever had sent and not
        yet consumed by the receiver (by credits), and the receiver's capacity (None before
        the first stream opened)."""
        return self.max_in_flight_seen, self.capacity

    def _where(self) -> str:
        return f"{self.location} (gate {self.gate_key!r}, channel {self.channel})"

    # -- put -----------------------------------------------------------------------------------

    def put(self, message: Message) -> None:
        if self._closed:
            raise ExecutionError(f"channel to {self._where()} is closed")
        if not self.coalesce_rows:
            return self._send(message)
        with self._put_lock:
            if isinstance(message, pa.RecordBatch):
                rows = message.num_rows
                if rows < self.coalesce_rows:
                    buf = self._buf
                    if buf and not message.schema.equals(buf[0].schema, check_metadata=True):
                        self._flush_locked()
                        buf = self._buf
                    if not buf:
                        self._buf_due = time.monotonic() + self.coalesce_latency
                        _flusher().schedule(self, self._buf_due)
                    buf.append(message)
                    self._buf_rows += rows
                    self._buf_bytes += message.get_total_buffer_size()  # cheap; >= nbytes
                    if (
                        self._buf_rows >= self.coalesce_rows
                        or self._buf_bytes >= self.coalesce_bytes
                        or time.monotonic() >= self._buf_due
                    ):
                        self._flush_locked()
                    return None
            elif isinstance(message, Watermark) and self._buf and (self.capacity or 0) >= 2:
                self._held = message  # rides the buffer's flush
                return None
            if self._buf:
                self._flush_locked()  # control messages and large batches keep their order
            return self._send(message)

    def _flush_locked(self) -> None:
        """Send the buffered small batches as one batch (caller holds ``_put_lock``)."""
        buf = self._buf
        if not buf:
            return
        held, self._held = self._held, None
        self._buf = []
        self._buf_rows = self._buf_bytes = 0
        batch = buf[0] if len(buf) == 1 else pa.concat_batches(buf)
        self._send(batch, held)

    def _flush_due(self) -> float | None:
        """Flusher thread: send a buffer past its latency bound if a credit is free now
        (never blocks on credits); returns when to look again, or None."""
        if not self._put_lock.acquire(blocking=False):
            return time.monotonic() + self.coalesce_latency / 4  # the producer is in put
        try:
            if not self._buf or self._closed or self._aborted:
                return None
            if time.monotonic() < self._buf_due:
                return self._buf_due
            stream = self._stream
            if stream is not None and stream.credits < (2 if self._held is not None else 1):
                return time.monotonic() + self.coalesce_latency / 4
            try:
                self._flush_locked()
            except Exception:  # noqa: BLE001 - the stream failed: the producer's next put or
                pass  # its close raises it (the batches were for a failing job)
            return None
        finally:
            self._put_lock.release()

    def _send(self, message: Message, watermark: Watermark | None = None) -> None:
        """Send one message; a ``watermark`` rides a batch as its app_metadata when the
        receiver's capacity allows two credits per message, else it follows it."""
        if isinstance(message, pa.RecordBatch):
            stream = self._stream
            if (
                stream is None
                or self._schema is None
                or not message.schema.equals(self._schema, check_metadata=True)
            ):
                if stream is not None:
                    self._finish(stream)
                stream = self._open(message.schema)
        else:
            payload = encode_message(message)
            stream = self._stream if self._stream is not None else self._open(_EMPTY_SCHEMA)
        riding = watermark is not None and (stream.capacity or 0) >= 2  # always, if held
        self._take_credit(stream, 2 if riding else 1)
        with self._io_lock:
            self._check(stream)
            if stream.half_closed:
                self._check(stream, ended=True)
            try:
                if riding:
                    stream.writer.write_with_metadata(
                        message, pa.py_buffer(encode_message(watermark)))
                elif isinstance(message, pa.RecordBatch):
                    stream.writer.write_batch(message)
                else:
                    stream.writer.write_metadata(pa.py_buffer(payload))
            except (flight.FlightError, pa.ArrowException) as exc:
                raise self._failure(stream, exc) from None
        self.sent += 2 if riding else 1
        if watermark is not None and not riding:
            self._send(watermark)

    def _take_credit(self, stream: _OutboundStream, n: int = 1) -> None:
        """Take ``n`` credits (``n`` <= the receiver's capacity), waiting for them."""
        with self._cond:
            while True:
                self._check(stream)
                if stream.credits >= n:
                    stream.credits -= n
                    in_flight = (stream.capacity or 0) - stream.credits
                    if in_flight > self.max_in_flight_seen:
                        self.max_in_flight_seen = in_flight
                    return
                if stream.ended:
                    self._check(stream, ended=True)
                self._cond.wait(_POLL if self._cancel_event is not None else None)

    def _check(self, stream: _OutboundStream, ended: bool = False) -> None:
        """Raise why ``stream`` cannot take a message, if it cannot."""
        if self._aborted or (self._cancel_event is not None and self._cancel_event.is_set()):
            raise TaskCancelled(self._where())
        if stream.notice == "cancelled":
            raise TaskCancelled(self._where())
        if stream.error is not None:
            raise stream.error
        if stream.notice == "closing":
            raise ExecutionError(f"the receiver at {self._where()} shut down")
        if ended or stream.ended:
            raise self._failure(stream, stream.failure)

    def _failure(self, stream: _OutboundStream, exc: BaseException | None) -> Exception:
        if self._aborted or stream.notice == "cancelled":
            return TaskCancelled(self._where())
        if stream.error is not None:
            return stream.error
        if stream.notice == "closing":
            return ExecutionError(f"the receiver at {self._where()} shut down")
        detail = f": {_short(exc)}" if exc is not None else ""
        return ExecutionError(f"lost the connection to {self._where()}{detail}")

    # -- stream lifecycle ----------------------------------------------------------------------

    def _open(self, schema: pa.Schema) -> _OutboundStream:
        deadline = time.monotonic() + self._connect_timeout
        delay = 0.05
        while True:
            if self._aborted or (self._cancel_event is not None and self._cancel_event.is_set()):
                raise TaskCancelled(self._where())
            unavailable: BaseException | None = None
            stream: _OutboundStream | None = None
            try:
                if self._client is None:
                    self._client = flight.FlightClient(
                        self.location, generic_options=_CHANNEL_OPTIONS
                    )
                writer, meta = self._client.do_put(
                    gate_descriptor(self.gate_key, self.channel), schema
                )
            except flight.FlightUnavailableError as exc:
                unavailable = exc
            except (flight.FlightError, pa.ArrowException) as exc:
                raise ExecutionError(
                    f"cannot open a channel to {self._where()}: {_short(exc)}"
                ) from None
            else:
                stream = _OutboundStream(writer, meta)
                with self._cond:
                    self._stream = stream
                    self._schema = schema
                stream.thread = threading.Thread(
                    target=self._read_grants,
                    args=(stream,),
                    name=f"flowsql-credits-{self.gate_key}-{self.channel}",
                    daemon=True,
                )
                stream.thread.start()
                with self._cond:
                    while stream.capacity is None and not stream.ended and stream.notice is None:
                        if self._aborted or (
                            self._cancel_event is not None and self._cancel_event.is_set()
                        ):
                            break
                        self._cond.wait(_POLL)
                if stream.capacity is not None:
                    self.streams_opened += 1
                    return stream
                if isinstance(stream.failure, flight.FlightUnavailableError):
                    unavailable = stream.failure
                    self._teardown(stream)
                    with self._cond:
                        self._stream = None
                else:
                    self._check(stream, ended=True)
            if time.monotonic() + delay > deadline:
                raise ExecutionError(
                    f"cannot reach {self._where()} within {self._connect_timeout:g} s: "
                    f"{_short(unavailable)}",
                    hint="is the TaskManager at that address running?",
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _read_grants(self, stream: _OutboundStream) -> None:
        try:
            while True:
                buf = stream.meta.read()
                if buf is None:
                    break
                doc = orjson.loads(buf.to_pybytes())
                notice = doc.get("x")
                with self._cond:
                    if "c" in doc:
                        stream.credits += int(doc["c"])
                        if "cap" in doc:
                            stream.capacity = int(doc["cap"])
                    elif notice == "error":
                        stream.error = error_from_dict(doc["e"])
                    elif notice in ("cancelled", "closing"):
                        stream.notice = notice
                    self._cond.notify_all()
                if notice is not None:
                    self._half_close(stream)
        except Exception as exc:  # noqa: BLE001 - recorded; the producer raises it
            stream.failure = exc
        finally:
            with self._cond:
                stream.ended = True
                self._cond.notify_all()

    def _half_close(self, stream: _OutboundStream) -> None:
        with self._io_lock:
            if not stream.half_closed:
                stream.half_closed = True
                try:
                    stream.writer.done_writing()
                except Exception:  # noqa: BLE001 - the stream is already gone
                    pass

    def _finish(self, stream: _OutboundStream) -> None:
        """End ``stream`` cleanly: half-close, wait for the receiver's answer; raise failures."""
        self._half_close(stream)
        while stream.thread is not None and stream.thread.is_alive():
            if self._aborted:
                raise TaskCancelled(self._where())
            stream.thread.join(_POLL)
        with self._io_lock:
            if stream.finished:
                return
            stream.finished = True
            self._stream = None
            try:
                stream.writer.close()
            except (flight.FlightError, pa.ArrowException) as exc:
                raise self._failure(stream, exc) from None
        if stream.error is not None or stream.notice is not None:
            self._check(stream)

    def _teardown(self, stream: _OutboundStream) -> None:
        """End ``stream`` without caring about the outcome."""
        self._half_close(stream)
        if stream.thread is not None:
            stream.thread.join(5.0)
        with self._io_lock:
            if stream.finished:
                return
            stream.finished = True
            try:
                stream.writer.close()
            except Exception:  # noqa: BLE001 - tearing down
                pass

    def close(self) -> None:
        """End the channel's stream cleanly (idempotent); raises if the receiver failed."""
        if self._closed:
            return
        if self._buf and not self._aborted:
            with self._put_lock:
                self._flush_locked()
        self._closed = True
        _flusher().cancel(self)
        try:
            stream = self._stream
            if stream is not None:
                if self._aborted:
                    self._teardown(stream)
                else:
                    self._finish(stream)
        finally:
            self._close_client()

    def abort(self) -> None:
        """From any thread: wake a blocked ``put`` with ``TaskCancelled`` and end the stream.

        Returns at once: the stream is ended in a background thread, since a receiver that
        became unreachable (host down, link cut) never answers the half-close and its grants
        reader stays blocked until the connection dies; a task's cancel never waits for it."""
        with self._cond:
            self._aborted = True
            self._cond.notify_all()
        self._closed = True
        _flusher().cancel(self)
        self._buf = []
        self._held = None
        threading.Thread(target=self._end_aborted, args=(self._stream,), daemon=True,
                         name=f"flowsql-abort-{self.gate_key}-{self.channel}").start()

    def _end_aborted(self, stream: _OutboundStream | None) -> None:
        if stream is not None:
            self._teardown(stream)
        self._close_client()

    def _close_client(self) -> None:
        with self._io_lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing
                pass


class _Flusher:
    """One daemon thread that sends coalescing buffers past their latency bound."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[FlightChannelWriter, float] = {}
        self._thread: threading.Thread | None = None

    def schedule(self, writer: FlightChannelWriter, when: float) -> None:
        with self._cond:
            earliest = min(self._due.values(), default=None)
            self._due[writer] = when
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="flowsql-flusher",
                                                daemon=True)
                self._thread.start()
            if earliest is None or when < earliest:
                self._cond.notify()

    def cancel(self, writer: FlightChannelWriter) -> None:
        with self._cond:
            self._due.pop(writer, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    ready = [w for w, t in self._due.items() if t <= now]
                    if ready:
                        for w in ready:
                            del self._due[w]
                        break
                    self._cond.wait(min(self._due.values(), default=now + 1.0) - now)
            for w in ready:
                again = w._flush_due()
                if again is not None:
                    with self._cond:
                        self._due.setdefault(w, again)


_FLUSHER: _Flusher | None = None
_FLUSHER_LOCK = threading.Lock()


def _flusher() -> _Flusher:
    global _FLUSHER
    if _FLUSHER is None:
        with _FLUSHER_LOCK:
            if _FLUSHER is None:
                _FLUSHER = _Flusher()
    return _FLUSHER


def _short(exc: BaseException | None) -> str:
    return describe_flight_error(exc) if exc is not None else "no answer"


def describe_flight_error(exc: BaseException) -> str:
    """The gist of a Flight/gRPC error: its first line without Flight's prefix and gRPC's
    debug context."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    text = text.split(". gRPC client debug context")[0]
    if text.startswith("Flight returned ") and "with message: " in text:
        text = text.split("with message: ", 1)[1]
    return text


# ---------------------------------------------------------------------------------------------
# Result streams (DoGet)


class ResultStreams:
    """Serve the batches arriving in a registered gate to one DoGet client per key."""

    def __init__(self, gates: GateRegistry, gate_timeout: float = 30.0) -> None:
        self._gates = gates
        self._gate_timeout = gate_timeout
        self._closing = threading.Event()

    def serve(self, key: str) -> flight.GeneratorStream:
        """A stream of the gate's batches until every channel sent EndOfInput; then the gate
        leaves the registry.

        Waits for the first batch to learn the stream's schema (an empty schema when every
        channel ends without a batch)."""
        gate = self._gates.get(key, self._gate_timeout)
        ended: set[int] = set()
        first: pa.RecordBatch | None = None
        while first is None and len(ended) < gate.num_channels:
            channel, message = self._next(gate, key)
            if isinstance(message, pa.RecordBatch):
                first = message
            elif isinstance(message, EndOfInput):
                ended.add(channel)
        schema = first.schema if first is not None else _EMPTY_SCHEMA

        def batches() -> Iterator[pa.RecordBatch]:
            if first is not None:
                yield first
            while len(ended) < gate.num_channels:
                channel, message = self._next(gate, key)
                if isinstance(message, pa.RecordBatch):
                    yield message
                elif isinstance(message, EndOfInput):
                    ended.add(channel)
            self._gates.remove(key)  # every channel ended: the result is delivered

        return flight.GeneratorStream(schema, batches())

    def _next(self, gate: InputGate, key: str) -> tuple[int, Message]:
        while True:
            if self._closing.is_set():
                raise flight.FlightCancelledError(f"result stream {key!r}: server shuts down")
            try:
                item = gate.get(timeout=_GATE_POLL)
            except TaskCancelled:
                raise flight.FlightCancelledError(f"result stream {key!r} was cancelled") from None
            if item is not None:
                return item

    def close(self) -> None:
        """End every open result stream (their clients see a cancelled call)."""
        self._closing.set()
