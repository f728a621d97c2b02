"""Flight channels beyond the shared contract: credits under a slow consumer, stream reopening
on schema change, abort and external cancellation, connect retry, shutdown, and a receiver in
another process."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

from flowsql import errors
from flowsql.messages import EndOfInput, IdleMarker, Watermark
from flowsql.runtime.network.client import ControlClient
from flowsql.runtime.network.exchange import FlightChannelWriter
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.network.server import FlowFlightServer
from flowsql.runtime.taskmanager.channels import InProcessInputGate
from tests.runtime.producers import put_in_thread

_keys = itertools.count()


@pytest.fixture(scope="module")
def server():
    registry = GateRegistry()
    srv = FlowFlightServer("127.0.0.1", 0, gates=registry).serve_in_thread()
    yield srv
    srv.shutdown()


def new_gate(server, num_channels: int = 1, capacity: int = 4) -> tuple[str, InProcessInputGate]:
    key = f"x{next(_keys)}/1.0"
    gate = InProcessInputGate(key, num_channels, capacity)
    server.gates.register(key, gate)
    return key, gate


def send_in_thread(writer: FlightChannelWriter, messages: list) -> threading.Thread:
    """Put ``messages`` then close the writer, in a producer thread (started)."""

    def produce() -> None:
        for m in messages:
            writer.put(m)
        writer.close()

    t = threading.Thread(target=produce)
    t.start()
    return t


def test_slow_consumer_never_has_more_than_capacity_in_flight(server):
    capacity = 4
    key, gate = new_gate(server, capacity=capacity)
    big = pa.record_batch({"v": pa.array(np.arange(65536, dtype=np.int64))})
    writer = FlightChannelWriter(server.location, key, 0)
    n = 500

    def produce() -> None:
        for _ in range(n):
            writer.put(big)
        writer.put(EndOfInput())
        writer.close()

    t = threading.Thread(target=produce)
    t.start()
    most_pending = rows = 0
    while True:
        most_pending = max(most_pending, gate.pending(0))
        _, msg = gate.get(timeout=30)
        if isinstance(msg, EndOfInput):
            break
        rows += msg.num_rows
        time.sleep(0.001)
    t.join()
    assert rows == n * 65536
    assert most_pending <= capacity
    assert writer.max_in_flight_seen == capacity  # the producer did run into backpressure
    assert server.receiver.book(gate).max_outstanding == [capacity]
    assert writer.sent == n + 1 and writer.streams_opened == 1


def test_schema_change_reopens_the_stream(server):
    key, gate = new_gate(server, capacity=2)
    writer = FlightChannelWriter(server.location, key, 0)
    a, b = pa.record_batch({"a": [1]}), pa.record_batch({"b": ["x"]})
    sent = [Watermark(1), a, a, b, Watermark(2), a, EndOfInput()]

    def produce() -> None:
        for m in sent:
            writer.put(m)
        writer.close()
        writer.close()  # idempotent

    t = threading.Thread(target=produce)
    t.start()
    got = [gate.get(timeout=10)[1] for _ in sent]
    t.join()
    assert [type(m).__name__ for m in got] == [type(m).__name__ for m in sent]
    assert writer.streams_opened == 4  # empty schema, a, b, a


def test_abort_wakes_a_producer_waiting_for_credits(server):
    key, gate = new_gate(server, capacity=1)
    writer = FlightChannelWriter(server.location, key, 0)
    writer.put(Watermark(0))
    t, outcome = put_in_thread(writer, Watermark(1))
    time.sleep(0.02)
    writer.abort()
    t.join(10)
    assert outcome == ["cancelled"]
    assert writer.credits == 0
    assert gate.get(timeout=1)[1] == Watermark(0)
    writer.close()  # after abort: nothing to do


def test_external_cancel_event_wakes_a_blocked_producer(server):
    key, _ = new_gate(server, capacity=1)
    cancelled = threading.Event()
    writer = FlightChannelWriter(server.location, key, 0, cancelled=cancelled)
    writer.put(Watermark(0))
    t, outcome = put_in_thread(writer, Watermark(1))
    cancelled.set()
    t.join(10)
    assert outcome == ["cancelled"]
    writer.abort()


def test_connect_retries_until_the_receiver_starts():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    registry = GateRegistry()
    gate = InProcessInputGate("late/1.0", 1)
    registry.register("late/1.0", gate)
    writer = FlightChannelWriter(f"grpc+tcp://127.0.0.1:{port}", "late/1.0", 0)
    started: list[FlowFlightServer] = []
    t = threading.Timer(0.3, lambda: started.append(FlowFlightServer("127.0.0.1", port, gates=registry)))
    t.start()
    try:
        writer.put(Watermark(5))
        writer.put(EndOfInput())
        writer.close()
        assert gate.get(timeout=10)[1] == Watermark(5)
    finally:
        t.join()
        for srv in started:
            srv.shutdown()


def test_shutdown_stops_connected_senders():
    registry = GateRegistry()
    srv = FlowFlightServer("127.0.0.1", 0, gates=registry)
    gate = InProcessInputGate("s/1.0", 1, capacity=1)
    registry.register("s/1.0", gate)
    writer = FlightChannelWriter(srv.location, "s/1.0", 0)
    writer.put(Watermark(0))
    outcome: list[BaseException] = []

    def blocked() -> None:
        try:
            writer.put(Watermark(1))
        except Exception as exc:  # noqa: BLE001 - checked below
            outcome.append(exc)

    t = threading.Thread(target=blocked)
    t.start()
    srv.shutdown()  # returns: the sender half-closed on the notice
    t.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], errors.ExecutionError)
    assert "shut down" in str(outcome[0])
    writer.abort()


RECEIVER = textwrap.dedent(
    """
    import sys, threading
    from flowsql.messages import EndOfInput
    from flowsql.runtime.network.gates import GateRegistry
    from flowsql.runtime.network.server import FlowFlightServer
    from flowsql.runtime.taskmanager.channels import InProcessInputGate

    registry = GateRegistry()
    gate = InProcessInputGate("p/1.0", 2, capacity=4)
    registry.register("p/1.0", gate)
    done = threading.Event()
    totals = {"rows": 0, "ended": 0}

    def drain():
        while totals["ended"] < 2:
            _, msg = gate.get()
            if isinstance(msg, EndOfInput):
                totals["ended"] += 1
            elif hasattr(msg, "num_rows"):
                totals["rows"] += msg.num_rows
        done.set()

    def result(payload):
        done.wait(payload["timeout"])
        return dict(totals)

    server = FlowFlightServer("127.0.0.1", 0, gates=registry, actions={"result": result})
    threading.Thread(target=drain, daemon=True).start()
    print(server.port, flush=True)
    sys.stdin.read()
    server.shutdown()
    """
)


def test_channels_into_another_process():
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        port = int(proc.stdout.readline())
        location = f"grpc+tcp://127.0.0.1:{port}"

        def produce(ch: int) -> None:
            w = FlightChannelWriter(location, "p/1.0", ch)
            for i in range(50):
                w.put(pa.record_batch({"i": pa.array(range(i * 100, i * 100 + 100))}))
            w.put(EndOfInput())
            w.close()

        threads = [threading.Thread(target=produce, args=(c,)) for c in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ControlClient(location).call("result", {"timeout": 30}) == {"rows": 10000, "ended": 2}
    finally:
        proc.stdin.close()
        proc.wait(30)


def test_coalescing_keeps_order_rows_and_credits(server):
    capacity = 2
    key, gate = new_gate(server, capacity=capacity)
    writer = FlightChannelWriter(server.location, key, 0, coalesce_rows=1000,
                                 coalesce_latency=60.0)  # only size / order flush here
    small = [pa.record_batch({"v": pa.array(np.arange(i * 100, i * 100 + 100, dtype=np.int64))})
             for i in range(40)]
    other = pa.record_batch({"w": ["x"]})
    sent = [*small[:15], Watermark(1), *small[15:30], other, *small[30:], EndOfInput()]

    t = send_in_thread(writer, sent)
    got = []
    while True:
        most = gate.pending(0)
        assert most <= capacity
        _, msg = gate.get(timeout=10)
        got.append(msg)
        if isinstance(msg, EndOfInput):
            break
        time.sleep(0.002)
    t.join()
    # batches of one schema arrive merged, in order; the watermark put behind 1,500 rows waits
    # in the buffer and rides the flush at 2,000 rows (one message, two credits)
    kinds = [type(m).__name__ if not isinstance(m, pa.RecordBatch) else m.schema.names[0]
             for m in got]
    assert kinds == ["v", "v", "Watermark", "v", "w", "v", "EndOfInput"]
    assert [m.num_rows for m in got[:2]] == [1000, 1000]
    v = pa.Table.from_batches([m for m in got if isinstance(m, pa.RecordBatch)
                               and m.schema.names == ["v"]])
    assert v.column("v").to_pylist() == list(range(4000))
    assert writer.sent == len(got) and writer.max_in_flight_seen <= capacity


@pytest.mark.parametrize("capacity", [1, 4])
def test_a_watermark_behind_buffered_rows_rides_the_flush_and_a_later_one_replaces_it(
        server, capacity):
    key, gate = new_gate(server, capacity=capacity)
    writer = FlightChannelWriter(server.location, key, 0, coalesce_rows=1000,
                                 coalesce_latency=60.0)
    batch = pa.record_batch({"v": pa.array(np.arange(300, dtype=np.int64))})
    sent = [Watermark(1), batch, Watermark(2), batch, Watermark(3), batch, batch,
            Watermark(4), IdleMarker(), EndOfInput()]

    t = send_in_thread(writer, sent)
    got = []
    while not got or not isinstance(got[-1], EndOfInput):
        got.append(gate.get(timeout=10)[1])
    t.join()
    shown = [m.num_rows if isinstance(m, pa.RecordBatch) else m for m in got]
    if capacity == 1:  # no room for a pair: every watermark is sent, after a flush
        assert shown == [Watermark(1), 300, Watermark(2), 300, Watermark(3), 600,
                         Watermark(4), IdleMarker(), EndOfInput()]
    else:  # held: W2 is replaced by W3, which rides the flush at 1,200 rows
        assert shown == [Watermark(1), 1200, Watermark(3), Watermark(4), IdleMarker(),
                         EndOfInput()]
    assert writer.sent == len(got)


def test_coalescing_flushes_an_idle_producer_within_its_latency_bound(server):
    key, gate = new_gate(server, capacity=4)
    writer = FlightChannelWriter(server.location, key, 0, coalesce_rows=1000,
                                 coalesce_latency=0.02)
    writer.put(pa.record_batch({"v": [1, 2, 3]}))
    started = time.monotonic()
    item = gate.get(timeout=5)
    assert item is not None and item[1].num_rows == 3
    assert time.monotonic() - started < 2.0
    writer.put(EndOfInput())
    writer.close()
    assert isinstance(gate.get(timeout=5)[1], EndOfInput)
