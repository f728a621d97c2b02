"""Exchange benchmark: FlowSQL's credit-based Flight channel vs raw pyarrow.flight DoPut.

Usage::

    .venv/bin/python bench/exchange.py [--seconds 2 | --batches N] [--repeats 3]

The receiver runs in another process (started with subprocess, never fork), the sender in this
one, over loopback. Batches hold 4 numeric columns (2 int64, 2 float64) and a short string
column, at 1 K and 64 K rows.

- ``flowsql``: a FlowFlightServer with an InProcessInputGate (capacity 16) and a consumer
  thread draining it; the sender is a FlightChannelWriter configured as the TaskManagers
  configure theirs (coalescing batches below ``RUNTIME_COALESCE_ROWS`` rows) (puts,
  EndOfInput, close). The clock stops when the consumer has taken EndOfInput out of the gate.
- ``flowsql-1:1``: the same without coalescing (every put is one Flight message).
- ``raw``: a bare FlightServerBase whose do_put reads every chunk; the sender writes the same
  batches with ``do_put``/``write_batch``/``close``.

Prints MB/s (Arrow buffer bytes) and batches/s per case (median of ``--repeats``; raw and
flowsql runs alternate) and the ratio flowsql/raw.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flowsql.messages import EndOfInput  # noqa: E402
from flowsql.runtime.network.client import ControlClient  # noqa: E402
from flowsql.runtime.network.exchange import (  # noqa: E402
    RUNTIME_COALESCE_ROWS,
    FlightChannelWriter,
)
from flowsql.runtime.network.gates import GateRegistry  # noqa: E402
from flowsql.runtime.network.server import FlowFlightServer  # noqa: E402
from flowsql.runtime.taskmanager.channels import InProcessInputGate  # noqa: E402

CAPACITY = 16


def make_batch(rows: int) -> pa.RecordBatch:
    rng = np.random.default_rng(7)
    return pa.record_batch(
        {
            "a": pa.array(np.arange(rows, dtype=np.int64)),
            "b": pa.array(rng.integers(0, 1000, rows, dtype=np.int64)),
            "c": pa.array(rng.random(rows)),
            "d": pa.array(rng.random(rows)),
            "s": pa.array([f"ch{i % 100}" for i in range(rows)]),
        }
    )


# -- receivers (run in the child process) ------------------------------------------------------


class _RawServer(flight.FlightServerBase):
    def do_put(self, context, descriptor, reader, writer):
        rows = 0
        for chunk in reader:
            rows += chunk.data.num_rows


def serve_flowsql() -> None:
    registry = GateRegistry()
    finished: dict[str, threading.Event] = {}
    counts: dict[str, int] = {}

    def drain(key: str, gate: InProcessInputGate) -> None:
        rows = 0
        while True:
            _, msg = gate.get()
            if isinstance(msg, EndOfInput):
                break
            if isinstance(msg, pa.RecordBatch):
                rows += msg.num_rows
        counts[key] = rows
        registry.remove(key)
        finished[key].set()

    def open_gate(payload: dict) -> dict:
        key = payload["key"]
        gate = InProcessInputGate(key, 1, CAPACITY)
        finished[key] = threading.Event()
        registry.register(key, gate)
        threading.Thread(target=drain, args=(key, gate), daemon=True).start()
        return {}

    def wait(payload: dict) -> dict:
        finished[payload["key"]].wait()
        return {"rows": counts[payload["key"]]}

    server = FlowFlightServer(
        "127.0.0.1", 0, gates=registry, actions={"open": open_gate, "wait": wait}
    )
    print(server.port, flush=True)
    sys.stdin.read()
    server.shutdown()


def serve_raw() -> None:
    server = _RawServer("grpc+tcp://127.0.0.1:0")
    print(server.port, flush=True)
    sys.stdin.read()
    server.shutdown()


# -- senders -----------------------------------------------------------------------------------


def _count(batches: int | None, seconds: float, start: float, sent: int) -> bool:
    """True while the sender should go on."""
    if batches is not None:
        return sent < batches
    return time.perf_counter() - start < seconds


def send_flowsql(location: str, key: str, batch: pa.RecordBatch, batches, seconds,
                 coalesce_rows: int = RUNTIME_COALESCE_ROWS) -> tuple:
    control = ControlClient(location, timeout=600)
    control.call("open", {"key": key})
    writer = FlightChannelWriter(location, key, 0, coalesce_rows=coalesce_rows)
    start = time.perf_counter()
    sent = 0
    while _count(batches, seconds, start, sent):
        writer.put(batch)
        sent += 1
    writer.put(EndOfInput())
    writer.close()
    rows = control.call("wait", {"key": key})["rows"]
    elapsed = time.perf_counter() - start
    assert rows == sent * batch.num_rows, (rows, sent)
    return sent, elapsed


def send_raw(location: str, key: str, batch: pa.RecordBatch, batches, seconds) -> tuple:
    client = flight.FlightClient(location)
    start = time.perf_counter()
    writer, _ = client.do_put(flight.FlightDescriptor.for_path(key), batch.schema)
    sent = 0
    while _count(batches, seconds, start, sent):
        writer.write_batch(batch)
        sent += 1
    writer.close()
    elapsed = time.perf_counter() - start
    client.close()
    return sent, elapsed


def start_receiver(mode: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    port = int(proc.stdout.readline())
    return proc, f"grpc+tcp://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seconds", type=float, default=2.0, help="per measurement (default 2)")
    group.add_argument("--batches", type=int, help="batches per measurement instead of --seconds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--serve", choices=["flowsql", "raw"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "flowsql":
        return serve_flowsql()
    if args.serve == "raw":
        return serve_raw()

    modes = ("raw", "flowsql", "flowsql-1:1")
    receivers = {mode: start_receiver(mode) for mode in ("raw", "flowsql")}
    receivers["flowsql-1:1"] = receivers["flowsql"]
    senders = {
        "raw": send_raw,
        "flowsql": send_flowsql,
        "flowsql-1:1": lambda *a: send_flowsql(*a, coalesce_rows=0),
    }
    results: dict[tuple[str, int], tuple[float, float]] = {}
    run = 0
    try:
        for rows in (1024, 65536):
            batch = make_batch(rows)
            mbs: dict[str, list[float]] = {m: [] for m in modes}
            bps: dict[str, list[float]] = {m: [] for m in modes}
            for _ in range(args.repeats):  # raw and flowsql alternate: same machine noise
                for mode in modes:
                    run += 1
                    sent, elapsed = senders[mode](
                        receivers[mode][1], f"bench/{run}", batch, args.batches, args.seconds
                    )
                    mbs[mode].append(sent * batch.nbytes / elapsed / 1e6)
                    bps[mode].append(sent / elapsed)
            for mode in mbs:
                results[(mode, rows)] = (statistics.median(mbs[mode]), statistics.median(bps[mode]))
    finally:
        for mode in ("raw", "flowsql"):
            proc = receivers[mode][0]
            proc.stdin.close()
            proc.wait(30)

    how = f"{args.batches} batches" if args.batches else f"{args.seconds:g} s"
    print(f"exchange over loopback, receiver in a subprocess, {how} x {args.repeats} (median); "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'rows/batch':>10} {'transport':>11} {'MB/s':>9} {'batches/s':>10} {'vs raw':>7}")
    for rows in (1024, 65536):
        raw_mb = results[("raw", rows)][0]
        for mode in modes:
            mb, bps = results[(mode, rows)]
            print(f"{rows:>10} {mode:>11} {mb:>9.0f} {bps:>10.0f} {mb / raw_mb:>7.0%}")


if __name__ == "__main__":
    main()
