"""In-process channels: order per channel, backpressure, cancellation."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from flowsql.messages import EndOfInput, Watermark
from flowsql.runtime.taskmanager.channels import InProcessInputGate, TaskCancelled


def test_order_is_kept_per_channel_across_producers():
    gate = InProcessInputGate("g", num_channels=3, capacity=4)
    per_channel = 200

    def produce(ch: int) -> None:
        w = gate.writer(ch)
        for i in range(per_channel):
            w.put(Watermark(i))
        w.put(EndOfInput())

    threads = [threading.Thread(target=produce, args=(c,)) for c in range(3)]
    for t in threads:
        t.start()
    seen: dict[int, list[int]] = {0: [], 1: [], 2: []}
    ended = 0
    while ended < 3:
        ch, msg = gate.get(timeout=10)
        if isinstance(msg, EndOfInput):
            ended += 1
        else:
            seen[ch].append(msg.timestamp)
    for t in threads:
        t.join()
    assert all(v == list(range(per_channel)) for v in seen.values())


def test_backpressure_blocks_only_the_full_channel():
    gate = InProcessInputGate("g", num_channels=2, capacity=2)
    full, other = gate.writer(0), gate.writer(1)
    batch = pa.record_batch({"x": [1]})
    full.put(batch)
    full.put(batch)
    other.put(batch)  # channel 1 still has room
    blocked_done = threading.Event()

    def blocked() -> None:
        full.put(Watermark(1))
        blocked_done.set()

    t = threading.Thread(target=blocked)
    t.start()
    assert not blocked_done.wait(0.05)  # the third put on channel 0 waits for the consumer
    assert gate.pending(0) == 2
    ch, _ = gate.get()
    assert ch == 0
    assert blocked_done.wait(10)  # space freed -> the producer continues
    t.join()
    order = [gate.get(timeout=1) for _ in range(3)]
    assert [c for c, _ in order] == [0, 1, 0]
    assert order[-1][1] == Watermark(1)
    assert gate.get(timeout=0.01) is None


def test_cancel_wakes_blocked_consumer_and_producer():
    gate = InProcessInputGate("g", num_channels=1, capacity=1)
    gate.writer(0).put(Watermark(0))
    errors: list[str] = []

    def producer() -> None:
        try:
            gate.writer(0).put(Watermark(1))
        except TaskCancelled:
            errors.append("producer")

    t = threading.Thread(target=producer)
    t.start()
    gate.cancel()
    t.join(10)
    assert errors == ["producer"]
    with pytest.raises(TaskCancelled):
        gate.get()


def test_bad_channel_and_capacity():
    with pytest.raises(ValueError):
        InProcessInputGate("g", 1, capacity=0)
    with pytest.raises(IndexError):
        InProcessInputGate("g", 1).writer(1)
