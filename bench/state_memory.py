"""State memory per key: ``groupby_agg`` and ``hop_count`` at 1 M and 10 M distinct keys.

Usage::

    .venv/bin/python bench/state_memory.py [--keys 1000000,10000000] [--queries groupby_agg,hop_count]

What it runs: the shared Flink SQL's ``groupby_agg`` (``COUNT(*)``, ``SUM(price)`` per
``auction``) and ``hop_count`` (``COUNT(*)`` per ``auction`` in 10 s HOP windows sliding by
2 s) over a ``datagen`` bid table of ``2 × keys`` rows where ``auction = seq % keys`` (every key
arrives twice) and, for the HOP query, event time spans 8 s in total, so every key is live in
the open windows at once (each key's two rows land in two of the five 2 s slices). Each run is
a fresh worker process (``--worker``) at parallelism 1, unpinned.

What it prints per query and key count:
- ``state MB``: the aggregation operator's state at its largest — for the GROUP BY when its
  input ended, for the HOP window just before the final watermark fires every window —
  measured by walking the operator object: numpy arrays (``nbytes``), Arrow arrays, batches
  and tables (buffer sizes), and Python containers and objects (``sys.getsizeof``), each
  object counted once;
- ``B/entry``: that divided by the state entries (distinct keys for the GROUP BY, live
  (key, slice) cells for the HOP window), and ``raw B``: the bytes of one entry's key and
  accumulators as fixed-width values (BIGINT key 8 + COUNT 8 (+ SUM 8)), so ``×raw`` is the
  overhead factor (issue 11's target: within 2×);
- ``peak MB``: the worker's peak RSS (``ru_maxrss``) and ``RSS before`` the INSERT, so the
  growth includes Arrow/numpy temporaries and the source's buffers, not only state.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

SOURCE = """
CREATE TABLE bid (
  seq BIGINT, price BIGINT, bidder BIGINT, channel VARCHAR, url VARCHAR,
  auction AS seq % {keys},
  date_time AS CAST(TO_TIMESTAMP_LTZ(seq * {span_ms} / {rows}, 3) AS TIMESTAMP(3)),
  WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen', 'number-of-rows' = '{rows}', 'rows-per-second' = '1000000000',
  'fields.seq.kind' = 'sequence', 'fields.seq.start' = '1', 'fields.seq.end' = '{rows}',
  'fields.price.min' = '1', 'fields.price.max' = '10000000',
  'fields.bidder.min' = '1000', 'fields.bidder.max' = '100000',
  'fields.channel.length' = '8', 'fields.url.length' = '32'
);
"""
QUERIES = {
    "groupby_agg": ("CREATE TABLE sink_g (auction BIGINT, num BIGINT, sum_price BIGINT) "
                    "WITH ('connector' = 'blackhole');\n"
                    "INSERT INTO sink_g SELECT auction, COUNT(*) AS num, SUM(price) AS sum_price "
                    "FROM bid GROUP BY auction;", 24),
    "hop_count": ("CREATE TABLE sink_h (auction BIGINT, window_start TIMESTAMP(3), "
                  "window_end TIMESTAMP(3), num BIGINT) WITH ('connector' = 'blackhole');\n"
                  "INSERT INTO sink_h SELECT auction, window_start, window_end, COUNT(*) AS num "
                  "FROM TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL '2' SECOND, "
                  "INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end;", 16),
}


def deep_size(root: Any) -> int:
    """Bytes held by ``root`` and everything reachable from its attributes (module doc)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (type, type(deep_size))):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes if obj.base is None or id(obj.base) not in seen else 0
            if obj.base is not None:
                seen.add(id(obj.base))
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
        elif isinstance(obj, (pa.Array, pa.ChunkedArray, pa.RecordBatch, pa.Table)):
            total += obj.get_total_buffer_size()
        elif isinstance(obj, (pa.Buffer,)):
            total += obj.size
        elif isinstance(obj, dict):
            total += sys.getsizeof(obj)
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            total += sys.getsizeof(obj)
            stack.extend(obj)
        elif isinstance(obj, (int, float, str, bytes, bool)):
            total += sys.getsizeof(obj)
        elif hasattr(obj, "__dict__") or hasattr(obj, "__slots__"):
            total += sys.getsizeof(obj)
            if hasattr(obj, "__dict__"):
                stack.append(vars(obj))
            for name in getattr(type(obj), "__slots__", ()):
                stack.append(getattr(obj, name, None))
    return total


def worker(query: str, keys: int) -> dict[str, Any]:
    from flowsql.operators.group_aggregate import GroupAggregateOperator
    from flowsql.operators.window_aggregate import WindowAggregateOperator
    from flowsql.session import Session

    peak: dict[str, Any] = {"bytes": 0, "entries": 0}

    def measure(op: Any) -> None:
        size = deep_size(op)
        if size > peak["bytes"]:
            peak["bytes"] = size
            peak["entries"] = state_entries(op)

    close = GroupAggregateOperator.close
    on_watermark = WindowAggregateOperator.on_watermark

    def closing(self: Any, out: Any) -> Any:
        measure(self)
        return close(self, out)

    def watermark(self: Any, wm: Any, out: Any) -> Any:
        if wm.timestamp >= 2**62:  # the final watermark: every window is about to fire
            measure(self)
        return on_watermark(self, wm, out)

    GroupAggregateOperator.close = closing  # type: ignore[method-assign]
    WindowAggregateOperator.on_watermark = watermark  # type: ignore[method-assign]
    home = Path(tempfile.mkdtemp(prefix="flowsql-mem-"))
    session = Session(home=home)
    try:
        session.execute_one("SET 'table.dml-sync' = 'true'")
        rows = 2 * keys
        list(session.execute(SOURCE.format(keys=keys, rows=rows, span_ms=8000)))
        before = _rss_mb()
        list(session.execute(QUERIES[query][0]))
    finally:
        session.close()
        shutil.rmtree(home, ignore_errors=True)
    return {"query": query, "keys": keys, "rows": rows, "state_bytes": peak["bytes"],
            "entries": peak["entries"], "raw_bytes": QUERIES[query][1],
            "rss_before_mb": round(before), "peak_mb": round(_peak_mb())}


def state_entries(op: Any) -> int:
    """Distinct keys of a GROUP BY operator (its key index); live (key, slice) cells of a
    window operator (the cells of every open slice)."""
    slices = getattr(op, "slices", None)
    if isinstance(slices, dict):
        return sum(int(cells.n) for cells in slices.values())
    return int(op.index.size)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keys", default="1000000,10000000")
    ap.add_argument("--queries", default="groupby_agg,hop_count")
    ap.add_argument("--worker", nargs=2, metavar=("QUERY", "KEYS"))
    args = ap.parse_args(argv)
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker[0], int(args.worker[1]))), flush=True)
        return 0
    print("| query | keys | state MB | entries | B/entry | raw B | ×raw | RSS before MB | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for query in args.queries.split(","):
        for keys in (int(k) for k in args.keys.split(",")):
            proc = subprocess.run([sys.executable, __file__, "--worker", query, str(keys)],
                                  capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if not lines:
                print(f"| {query} | {keys:,} | failed: {proc.stderr.strip()[-300:]} |")
                continue
            r = json.loads(lines[-1][7:])
            per = r["state_bytes"] / r["entries"] if r["entries"] else float("nan")
            print(f"| {query} | {keys:,} | {r['state_bytes'] / 2**20:,.1f} | {r['entries']:,} | "
                  f"{per:.1f} | {r['raw_bytes']} | {per / r['raw_bytes']:.2f} | "
                  f"{r['rss_before_mb']} | {r['peak_mb']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
