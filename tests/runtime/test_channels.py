"""The channel contract, for every transport: order per channel, control messages in order,
backpressure, cancellation, schema changes. ``inproc`` writes through the gate's own writers;
``flight`` writes through FlightChannelWriter into the same kind of gate registered in a
FlowFlightServer on 127.0.0.1."""

from __future__ import annotations

import itertools
import threading
import time

import pyarrow as pa
import pytest

from flowsql.messages import (
    MAX_WATERMARK,
    CheckpointBarrier,
    EndOfInput,
    IdleMarker,
    Watermark,
)
from flowsql.runtime.network.exchange import FlightChannelWriter
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.network.server import FlowFlightServer
from flowsql.runtime.taskmanager.channels import ChannelWriter, InProcessInputGate, TaskCancelled
from tests.runtime.producers import put_in_thread

_keys = itertools.count()


class InProcess:
    name = "inproc"

    def gate(self, num_channels: int, capacity: int) -> InProcessInputGate:
        return InProcessInputGate("g", num_channels, capacity)

    def writer(self, gate: InProcessInputGate, channel: int) -> ChannelWriter:
        return gate.writer(channel)

    def close(self, writer: ChannelWriter) -> None:
        pass

    def teardown(self) -> None:
        pass


class Flight:
    name = "flight"

    def __init__(self, server: FlowFlightServer, registry: GateRegistry) -> None:
        self.server = server
        self.registry = registry
        self.keys: dict[int, str] = {}
        self.writers: list[FlightChannelWriter] = []

    def gate(self, num_channels: int, capacity: int) -> InProcessInputGate:
        key = f"job{next(_keys)}/1.0"
        gate = InProcessInputGate(key, num_channels, capacity)
        self.registry.register(key, gate)
        self.keys[id(gate)] = key
        return gate

    def writer(self, gate: InProcessInputGate, channel: int) -> ChannelWriter:
        w = FlightChannelWriter(self.server.location, self.keys[id(gate)], channel)
        self.writers.append(w)
        return w

    def close(self, writer: ChannelWriter) -> None:
        writer.close()

    def teardown(self) -> None:
        for w in self.writers:
            w.abort()
        for key in self.keys.values():
            self.registry.remove(key)


@pytest.fixture(scope="module")
def flight_server():
    registry = GateRegistry()
    server = FlowFlightServer("127.0.0.1", 0, gates=registry).serve_in_thread()
    yield server, registry
    server.shutdown()


@pytest.fixture(params=["inproc", "flight"])
def transport(request):
    if request.param == "inproc":
        t = InProcess()
    else:
        t = Flight(*request.getfixturevalue("flight_server"))
    yield t
    t.teardown()


def wait_pending(gate: InProcessInputGate, channel: int, n: int) -> None:
    """Remote puts return before the message reached the gate: wait until it did."""
    deadline = time.monotonic() + 10
    while gate.pending(channel) < n:
        assert time.monotonic() < deadline, f"channel {channel} never reached {n} messages"
        time.sleep(0.001)


def batch(*values: int) -> pa.RecordBatch:
    return pa.record_batch({"x": pa.array(values, pa.int64())})


def _deliver(transport, gate: InProcessInputGate, sent: list) -> list:
    """Put ``sent`` into channel 0 from a producer thread (then close it); returns what the
    gate handed out, ``(channel, message)`` each."""
    w = transport.writer(gate, 0)

    def produce() -> None:
        for m in sent:
            w.put(m)
        transport.close(w)

    t = threading.Thread(target=produce)
    t.start()
    got = [gate.get(timeout=10) for _ in sent]
    t.join()
    return got


def test_order_is_kept_per_channel_across_producers(transport):
    gate = transport.gate(num_channels=3, capacity=4)
    per_channel = 200
    errors: list[BaseException] = []

    def produce(ch: int) -> None:
        try:
            w = transport.writer(gate, ch)
            for i in range(per_channel):
                w.put(batch(i) if i % 3 else Watermark(i))
            w.put(EndOfInput())
            transport.close(w)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(c,)) for c in range(3)]
    for t in threads:
        t.start()
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}
    ended = 0
    while ended < 3:
        item = gate.get(timeout=10)
        assert item is not None, errors
        ch, msg = item
        if isinstance(msg, EndOfInput):
            ended += 1
        elif isinstance(msg, Watermark):
            seen[ch].append(msg.timestamp)
        else:
            seen[ch].append(msg.column(0)[0].as_py())
    for t in threads:
        t.join()
    assert not errors
    assert all(v == list(range(per_channel)) for v in seen.values())


def test_control_messages_interleave_with_batches_in_order(transport):
    gate = transport.gate(num_channels=1, capacity=3)
    sent = [
        Watermark(-(2**63)),
        IdleMarker(),
        batch(1, 2),
        CheckpointBarrier(7),
        IdleMarker(False),
        batch(3),
        Watermark(5),
        batch(4),
        Watermark(MAX_WATERMARK),
        EndOfInput(),
    ]
    got = _deliver(transport, gate, sent)
    assert [c for c, _ in got] == [0] * len(sent)
    for (_, g), s in zip(got, sent, strict=True):
        assert g.equals(s) if isinstance(s, pa.RecordBatch) else g == s


def test_schema_change_mid_stream(transport):
    gate = transport.gate(num_channels=1, capacity=2)
    other = pa.record_batch({"name": ["a", "b"], "v": pa.array([1.5, 2.5])})
    with_meta = batch(9).replace_schema_metadata({"k": "v"})
    sent = [Watermark(1), batch(1), batch(2), other, Watermark(2), with_meta, batch(3), EndOfInput()]
    got = [m for _, m in _deliver(transport, gate, sent)]
    for g, s in zip(got, sent, strict=True):
        if isinstance(s, pa.RecordBatch):
            assert g.schema.equals(s.schema, check_metadata=True)
            assert g.equals(s)
        else:
            assert g == s


def test_backpressure_blocks_only_the_full_channel(transport):
    gate = transport.gate(num_channels=2, capacity=2)
    full, other = transport.writer(gate, 0), transport.writer(gate, 1)
    full.put(batch(1))
    full.put(batch(1))
    wait_pending(gate, 0, 2)
    blocked_done = threading.Event()

    def blocked() -> None:
        full.put(Watermark(1))
        blocked_done.set()

    t = threading.Thread(target=blocked)
    t.start()
    other.put(batch(2))  # channel 1 still flows while channel 0 is full
    wait_pending(gate, 1, 1)
    assert not blocked_done.wait(0.05)  # the third put on channel 0 waits for the consumer
    assert gate.pending(0) == 2
    ch, _ = gate.get()
    assert ch == 0
    assert blocked_done.wait(10)  # space freed -> the producer continues
    t.join()
    wait_pending(gate, 0, 2)
    order = [gate.get(timeout=1) for _ in range(3)]
    assert [c for c, _ in order] == [0, 1, 0]
    assert order[-1][1] == Watermark(1)
    assert gate.get(timeout=0.01) is None


def test_in_flight_never_exceeds_capacity(transport):
    capacity = 3
    gate = transport.gate(num_channels=1, capacity=capacity)
    w = transport.writer(gate, 0)
    n = 100

    def produce() -> None:
        for i in range(n):
            w.put(batch(i))
        w.put(EndOfInput())
        transport.close(w)

    t = threading.Thread(target=produce)
    t.start()
    most = 0
    for i in range(n + 1):
        most = max(most, gate.pending(0))
        if i % 10 == 0:
            time.sleep(0.01)  # let the producer fill the channel
        gate.get(timeout=10)
    t.join()
    assert most <= capacity
    if isinstance(w, FlightChannelWriter):
        assert 0 < w.max_in_flight_seen <= capacity


def test_cancel_wakes_blocked_producer(transport):
    gate = transport.gate(num_channels=1, capacity=1)
    w = transport.writer(gate, 0)
    w.put(Watermark(0))
    wait_pending(gate, 0, 1)
    t, outcome = put_in_thread(w, Watermark(1))
    gate.cancel()
    t.join(10)
    assert outcome == ["cancelled"]
    with pytest.raises(TaskCancelled):
        gate.get()


def test_cancel_wakes_blocked_consumer(transport):
    gate = transport.gate(num_channels=2, capacity=2)
    transport.writer(gate, 0)
    errors: list[str] = []

    def consumer() -> None:
        try:
            gate.get()
        except TaskCancelled:
            errors.append("consumer")

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.02)
    gate.cancel()
    t.join(10)
    assert errors == ["consumer"]


def test_bad_channel_and_capacity():
    with pytest.raises(ValueError):
        InProcessInputGate("g", 1, capacity=0)
    with pytest.raises(IndexError):
        InProcessInputGate("g", 1).writer(1)


def test_hooks_and_put_remote():
    consumed: list[int] = []
    cancels: list[bool] = []
    gate = InProcessInputGate("g", 2, capacity=1, on_consumed=consumed.append)
    gate.on_cancel = lambda: cancels.append(True)
    gate.put_remote(1, Watermark(1))
    with pytest.raises(RuntimeError, match="exceeded its credits"):
        gate.put_remote(1, Watermark(2))
    gate.writer(0).put(Watermark(3))
    assert [gate.get()[0], gate.get()[0]] == [1, 0]
    assert consumed == [1, 0]
    gate.cancel()
    gate.cancel()
    assert cancels == [True] and gate.cancelled
    with pytest.raises(TaskCancelled):
        gate.put_remote(0, Watermark(4))


def test_a_blocked_channel_waits_in_order_while_others_flow():
    """Barrier alignment: block(1) holds channel 1's messages (in order, still counted against
    its capacity); unblock_all hands them out first."""
    gate = InProcessInputGate("g", 2, capacity=4)
    w0, w1 = gate.writer(0), gate.writer(1)
    gate.block(1)
    w1.put(batch(11))
    w1.put(batch(12))
    w0.put(batch(1))
    assert _got(gate.get(timeout=1)) == (0, 1)
    assert gate.get(timeout=0.05) is None  # only blocked messages are left
    assert gate.pending(1) == 2
    w0.put(batch(2))
    gate.unblock_all()
    assert [_got(gate.get(timeout=1)) for _ in range(3)] == [(1, 11), (1, 12), (0, 2)]


def _got(item: tuple[int, pa.RecordBatch]) -> tuple[int, int]:
    channel, message = item
    return channel, message.column(0)[0].as_py()
