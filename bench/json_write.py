"""CPU per row of the Kafka sink's json encoding of q1's output rows (auction BIGINT, bidder
BIGINT, price DECIMAL(23,3), date_time TIMESTAMP(3)): the C writer against Arrow's kernels.

    taskset -c 1 .venv/bin/python bench/json_write.py [--rows 10000 40000] [--repeat 9]

CPU time is the process's (``time.process_time``); each figure is the best of ``--repeat``
runs after a warm-up run, in us/row. Cases: ``encode(..., "json")`` with the C writer on, and
off (``FLOWSQL_JSON_NATIVE=0``: the Arrow-kernel path of ``_json_concat``); the two outputs
are checked equal first.
"""

from __future__ import annotations

import argparse
import json
import os
from decimal import Decimal

import numpy as np
import pyarrow as pa
from cpu_per_row import cpu_us_per_row  # bench/ is the script's directory: on sys.path

from catalog.table import Column
from connectors.kafka.encode import encode

COLUMNS = [Column("auction", "BIGINT"), Column("bidder", "BIGINT"), Column("price", "DECIMAL(23, 3)"),
           Column("date_time", "TIMESTAMP(3)")]


def q1_rows(n: int) -> pa.Table:
    rng = np.random.default_rng(1)
    prices = rng.integers(1, 10**7, n) * 908  # price * 0.908: three decimals
    return pa.table({
        "auction": pa.array(rng.integers(1000, 2000, n), pa.int64()),
        "bidder": pa.array(rng.integers(1, 10**6, n), pa.int64()),
        "price": pa.array([Decimal(f"{p}e-3") for p in prices.tolist()], pa.decimal128(23, 3)),
        "date_time": pa.array(1_700_000_000_000 + np.arange(n) * 7, pa.int64()).cast(pa.timestamp("ms")),
    })


def measure(n: int, repeat: int) -> None:
    table = q1_rows(n)

    def kernels():
        os.environ["FLOWSQL_JSON_NATIVE"] = "0"
        try:
            return encode(table, COLUMNS, "json", {})
        finally:
            del os.environ["FLOWSQL_JSON_NATIVE"]

    def native():
        return encode(table, COLUMNS, "json", {})

    assert native().equals(kernels())
    for name, fn in {"C writer": native, "Arrow kernels": kernels}.items():
        us = cpu_us_per_row(fn, n, repeat)
        print(json.dumps({"rows": n, "case": name, "cpu_us_per_row": round(us, 4)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 40_000])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    for n in args.rows:
        measure(n, args.repeat)


if __name__ == "__main__":
    main()
