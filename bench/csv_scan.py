"""CPU per row of the CSV fast path: the C scanner against Arrow's streaming CSV reader, on
bid-like rows (seq, auction, bidder, price as BIGINT, an 8-hex channel, a 32-hex URL; ~72
bytes a row), projecting 2, 3 and all 6 columns.

    taskset -c 0 .venv/bin/python bench/csv_scan.py [--rows 100000 1000000] [--repeat 7]

Rows (per projection): ``scan_file`` (the scanner alone, reading the file in
``_FAST_BLOCK_BYTES`` blocks), ``pyarrow.csv open_csv`` (the fast path's Arrow reader alone,
same settings and block size), and ``stream_csv`` (what the streaming filesystem source
calls per file) with the scanner on and off (``FLOWSQL_CSV_NATIVE=0``). The file is in the
page cache (the warm-up run reads it); its reading counts in every row. CPU time is the
process's (``bench/cpu_per_row.py``), each figure the best of ``--repeat`` runs, in us/row.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile

import pyarrow as pa
from cpu_per_row import cpu_us_per_row

from catalog.table import Column
from connectors.base import columns_schema
from connectors.formats import csv_format, csv_scan

COLUMNS = [Column("seq", "BIGINT"), Column("auction", "BIGINT"), Column("bidder", "BIGINT"),
           Column("price", "BIGINT"), Column("channel", "STRING"), Column("url", "STRING")]
NAMES = [c.name for c in COLUMNS]
PROJECTIONS = [["auction", "price"], ["auction", "price", "channel"], NAMES]


def write_bids(path: str, n: int) -> float:
    """``n`` bid rows into ``path``; returns the bytes per row."""
    r = random.Random(1)
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"{i},{r.randint(1000, 1999)},{r.randint(1, 10**6)},{r.randint(1, 10**7)},"
                    f"{r.getrandbits(32):08x},{r.getrandbits(128):032x}\n")
    return os.path.getsize(path) / n


def _off(fn):
    def run():
        os.environ["FLOWSQL_CSV_NATIVE"] = "0"
        try:
            return fn()
        finally:
            del os.environ["FLOWSQL_CSV_NATIVE"]
    return run


def measure(path: str, n: int, bytes_per_row: float, read: list[str], repeat: int) -> None:
    """Print one JSON line per case for the projection ``read``."""
    schema = columns_schema([c for c in COLUMNS if c.name in read])
    scan = csv_scan.scanner(len(NAMES), ",", '"', [NAMES.index(f) for f in schema.names], schema)
    assert scan is not None, "the scanner is not built or is switched off"

    def scanned():
        return pa.Table.from_batches(list(csv_scan.scan_file(path, scan, csv_format._FAST_BLOCK_BYTES)))

    def arrow():
        return pa.Table.from_batches(list(csv_format._arrow_batches(path, NAMES, schema, {})))

    def stream():
        return csv_format.stream_csv(path, COLUMNS, read, {}).read_all()

    cases = {
        "scan_file (scanner)": scanned,
        "pyarrow.csv open_csv": _off(arrow),
        "stream_csv (scanner)": stream,
        "stream_csv (Arrow reader)": _off(stream),
    }
    for name, fn in cases.items():
        us = cpu_us_per_row(fn, n, repeat)
        print(json.dumps({"rows": n, "bytes_per_row": round(bytes_per_row, 1),
                          "columns": len(read), "case": name, "cpu_us_per_row": round(us, 4)}),
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            path = os.path.join(tmp, f"bids-{n}.csv")
            bytes_per_row = write_bids(path, n)
            for read in PROJECTIONS:
                measure(path, n, bytes_per_row, read, args.repeat)


if __name__ == "__main__":
    main()
