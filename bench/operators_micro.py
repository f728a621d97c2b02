"""Micro-benchmark of the aggregation operators: TUMBLE, HOP, CUMULATE, SESSION, GROUP BY.

Pushes N synthetic rows (default 5M) in 64K-row batches through each operator on one thread,
with a watermark after every batch (max ts seen - 1 s), and prints rows/s (wall) and rows
per CPU-second of the process (``time.process_time``, steadier on a shared machine).
Targets: ≥1M rows/s TUMBLE/HOP, ≥400K rows/s SESSION, ≥1M rows/s GROUP BY.

    taskset -c 0 .venv/bin/python bench/operators_micro.py [--rows 5000000] [--keys 10000 ...]
        [--only tumble hop cumulate session group]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from flowsql.messages import MAX_WATERMARK, Watermark
from flowsql.operators.base import Collector, OperatorContext
from flowsql.operators.group_aggregate import GroupAggregateOperator
from flowsql.operators.session_window import SessionWindowOperator
from flowsql.operators.specs import AggCall, GroupAggregateSpec, WindowAggregateSpec, WindowSpec
from flowsql.operators.window_aggregate import WindowAggregateOperator

BATCH = 64 * 1024
AGGS = (AggCall("COUNT_STAR", None, "c"), AggCall("SUM", "price", "s"),
        AggCall("MAX", "price", "m"))


class Counter(Collector):
    def __init__(self) -> None:
        self.rows = 0

    def emit(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows


def batches(rows: int, keys: int, rate_per_ms: int = 100):
    """Event time advances ``rate_per_ms`` rows per ms, with up to 500 ms of disorder."""
    rng = np.random.default_rng(7)
    start = 1_700_000_000_000
    for lo in range(0, rows, BATCH):
        n = min(BATCH, rows - lo)
        ts = start + (np.arange(lo, lo + n) // rate_per_ms) - rng.integers(0, 500, n)
        yield pa.record_batch({
            "auction": rng.integers(0, keys, n),
            "price": rng.integers(1, 10_000, n),
            "ts": pa.array(ts, pa.timestamp("ms")),
        })


def run(name: str, op, data: list[pa.RecordBatch]) -> None:
    op.open(OperatorContext(name))
    out = Counter()
    top = None
    t0, c0 = time.perf_counter(), time.process_time()
    for b in data:
        op.process_batch(b, out)
        mx = b.column("ts").cast(pa.int64()).to_numpy().max()
        top = mx if top is None else max(top, mx)
        op.on_watermark(Watermark(int(top) - 1000), out)
    op.on_watermark(Watermark(MAX_WATERMARK), out)
    op.close(out)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = sum(b.num_rows for b in data)
    print(f"{name:<28} {rows / dt / 1e6:6.2f} M rows/s  {rows / cpu / 1e6:6.2f} M rows/CPU-s  "
          f"({rows} rows in {dt:5.2f} s, {cpu:5.2f} CPU-s, {out.rows} rows out)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--keys", type=int, nargs="+", default=[10_000])
    p.add_argument("--only", nargs="+", default=["tumble", "hop", "session", "group"])
    a = p.parse_args()
    keys = ("auction",)
    cols = ("window_start", "window_end")
    ops = {
        "tumble": ("TUMBLE(10s)", lambda: WindowAggregateOperator(WindowAggregateSpec(
            WindowSpec("TUMBLE", "ts", size_ms=10_000), keys, AGGS, cols))),
        "hop": ("HOP(2s slide, 10s size)", lambda: WindowAggregateOperator(WindowAggregateSpec(
            WindowSpec("HOP", "ts", size_ms=10_000, slide_ms=2_000), keys, AGGS, cols))),
        "cumulate": ("CUMULATE(2s step, 10s size)", lambda: WindowAggregateOperator(
            WindowAggregateSpec(WindowSpec("CUMULATE", "ts", size_ms=10_000, step_ms=2_000),
                                keys, AGGS, cols))),
        "session": ("SESSION(gap 1s)", lambda: SessionWindowOperator(WindowAggregateSpec(
            WindowSpec("SESSION", "ts", gap_ms=1_000), keys, AGGS, cols))),
        "group": ("GROUP BY (changelog)",
                  lambda: GroupAggregateOperator(GroupAggregateSpec(keys, AGGS))),
    }
    for k in a.keys:
        print(f"-- {k} keys")
        data = list(batches(a.rows, k))
        for name in a.only:
            label, make = ops[name]
            run(label, make(), data)


if __name__ == "__main__":
    main()
