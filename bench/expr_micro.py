"""Micro-benchmark of the vectorized expression compiler on Nexmark-like expressions.

Evaluates q1 (price * 0.908), q2 (MOD(auction, 123) = 0), a q14-like CASE over HOUR(), q21's
REGEXP_EXTRACT and q22's SPLIT_INDEX over N rows (default 10M) in 64K-row batches generated
once up front, and prints rows/s per expression (single thread: pyarrow's compute kernels run
on the calling thread for these element-wise functions).

Usage: .venv/bin/python bench/expr_micro.py [--rows 10000000] [--batch 65536]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa

from flowsql.expr.compile import compile_expression

EXPRESSIONS = {
    "q1  price * 0.908": "price * 0.908",
    "q2  MOD(auction, 123) = 0": "MOD(auction, 123) = 0",
    "q14 CASE/HOUR": (
        "CASE WHEN HOUR(date_time) >= 8 AND HOUR(date_time) <= 18 THEN 'dayTime' "
        "WHEN HOUR(date_time) <= 6 OR HOUR(date_time) >= 20 THEN 'nightTime' "
        "ELSE 'otherTime' END"
    ),
    "q21 REGEXP_EXTRACT": "REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)",
    "q22 SPLIT_INDEX": "SPLIT_INDEX(url, '/', 3)",
}


def make_batch(n: int, seed: int = 1) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    channels = np.array([
        f"https://www.nexmark.com/{a}/{b}/{c}/item.htm?query=1&channel_id={i}"
        for i, (a, b, c) in enumerate(zip(["foo", "bar", "baz"] * 4, ["x", "y"] * 6, "abcdefghijkl",
                                          strict=True))
    ])
    return pa.record_batch({
        "auction": pa.array(rng.integers(1000, 100_000, n)),
        "price": pa.array(rng.integers(1, 10_000_000, n)),
        "date_time": pa.array(1_600_000_000_000 + rng.integers(0, 86_400_000 * 3, n),
                              pa.timestamp("ms")),
        "url": pa.array(rng.choice(channels, n)),
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=65_536)
    args = parser.parse_args()
    # distinct batches would only measure the generator; cycle through a few pre-built ones
    pool = [make_batch(args.batch, seed) for seed in range(8)]
    n_batches = max(1, args.rows // args.batch)
    schema = pool[0].schema
    print(f"{n_batches * args.batch:,} rows in {n_batches} batches of {args.batch:,}")
    for label, text in EXPRESSIONS.items():
        compiled = compile_expression(text, schema)
        compiled.evaluate(pool[0])  # warm-up
        start = time.perf_counter()
        for i in range(n_batches):
            compiled.evaluate(pool[i % len(pool)])
        elapsed = time.perf_counter() - start
        rate = n_batches * args.batch / elapsed
        print(f"{label:30} {rate / 1e6:8.2f} M rows/s  ({elapsed:.2f} s)")


if __name__ == "__main__":
    main()
