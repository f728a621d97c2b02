"""CPU per record of the JSON fast path: the C scanner against Arrow's JSON reader, on
bid-like records (~110 bytes: seq, auction, bidder, price, an 8-hex channel, a URL).

    taskset -c 1 .venv/bin/python bench/json_scan.py [--rows 10000 100000] [--repeat 7]

CPU time is the process's (``bench/cpu_per_row.py``; Arrow's reader runs in its thread pool, so
wall time would hide its cost); each figure is the best of ``--repeat`` runs after a
warm-up run, in us/record.
Rows: ``scan_values`` (the scanner over a binary array, through its offsets), ``scan_joined``
(over newline-joined records, the Kafka source's buffer), ``decode_json_values`` with the
scanner on and off (``FLOWSQL_JSON_NATIVE=0``: UTF-8 cast + newline join + Arrow's reader +
conform), and ``pyarrow.json.read_json`` alone on the joined buffer.
"""

from __future__ import annotations

import argparse
import json
import os
import random

import pyarrow as pa
import pyarrow.json as pajson
from cpu_per_row import cpu_us_per_row  # bench/ is the script's directory: on sys.path

from catalog.table import Column
from connectors.formats import json_scan
from connectors.formats.json_format import _fast_schema, decode_json_values

COLUMNS = [Column("seq", "BIGINT"), Column("auction", "BIGINT"), Column("bidder", "BIGINT"),
           Column("price", "BIGINT"), Column("channel", "STRING"), Column("url", "STRING")]
SCHEMA = _fast_schema(COLUMNS)


def bids(n: int) -> list[bytes]:
    r = random.Random(1)
    return [json.dumps({"seq": i, "auction": r.randint(1000, 1999),
                        "bidder": r.randint(1, 10**6), "price": r.randint(1, 10**7),
                        "channel": f"{r.getrandbits(32):08x}",
                        "url": f"http://x/{r.getrandbits(64):016x}"}).encode()
            for i in range(n)]


def measure(n: int, repeat: int) -> None:
    """Print one JSON line per case for ``n`` bid records."""
    records = bids(n)
    values = pa.array(records, pa.binary())
    joined = pa.py_buffer(b"\n".join(records))
    explicit = pajson.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")

    def arrow_off():
        os.environ["FLOWSQL_JSON_NATIVE"] = "0"
        try:
            return decode_json_values(values, COLUMNS, SCHEMA, {})
        finally:
            del os.environ["FLOWSQL_JSON_NATIVE"]

    cases = {
        "scan_values": lambda: json_scan.scan_values(values, SCHEMA),
        "scan_joined": lambda: json_scan.scan_joined(joined, n, SCHEMA),
        "decode_json_values (scanner)": lambda: decode_json_values(values, COLUMNS, SCHEMA, {}),
        "decode_json_values (Arrow reader)": arrow_off,
        "pyarrow.json.read_json alone": lambda: pajson.read_json(pa.BufferReader(joined),
                                                                 parse_options=explicit),
    }
    for name, fn in cases.items():
        us = cpu_us_per_row(fn, n, repeat)
        print(json.dumps({"rows": n, "bytes_per_row": round(len(joined) / n, 1), "case": name,
                          "cpu_us_per_row": round(us, 4)}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    for n in args.rows:
        measure(n, args.repeat)


if __name__ == "__main__":
    main()
