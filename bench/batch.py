"""Batch-mode benchmark: FlowSQL (Flink SQL → DuckDB) vs the same query written for raw DuckDB.

Usage::

    .venv/bin/python bench/batch.py [--rows 10000000] [--runs 3] [--write-results]

1. Generates ``bench/data/bids_<rows>.parquet`` once (git-ignored): ``auction`` (1000 keys),
   ``bidder``, ``price``, ``channel`` and ``date_time`` (TIMESTAMP(3), +1 ms per row, in order).
2. For each query — (a) TUMBLE 10 s ``COUNT(*)``/``MAX(price)`` per auction, (b) ``GROUP BY
   auction`` ``COUNT``/``SUM`` — and each engine, runs ``--runs`` times in a fresh worker
   process (so peak memory is per engine): FlowSQL through a batch-mode Session (CREATE
   TABLE once, then the timed ``SELECT`` including parsing, planning, transpiling, sandbox set-up,
   DuckDB and the Arrow result), raw DuckDB through ``duckdb.sql(...).to_arrow_table()``.
3. Prints the median wall time, rows/s, CPU seconds (user+sys, ``resource.getrusage``),
   peak RSS and FlowSQL's overhead % (wall and CPU); ``--write-results`` rewrites the "Batch mode (DuckDB)"
   section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Batch mode (DuckDB)"

FLINK = {
    "a_tumble": (
        "SELECT auction, window_start, window_end, COUNT(*) AS bids, MAX(price) AS top "
        "FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(date_time), INTERVAL '10' SECOND)) "
        "GROUP BY auction, window_start, window_end"
    ),
    "b_group": "SELECT auction, COUNT(*) AS bids, SUM(price) AS total FROM bids GROUP BY auction",
}
DUCKDB = {
    "a_tumble": (
        "SELECT auction, time_bucket(INTERVAL 10 SECOND, date_time) AS window_start, "
        "window_start + INTERVAL 10 SECOND AS window_end, count(*) AS bids, max(price) AS top "
        "FROM read_parquet('{path}') GROUP BY auction, window_start"
    ),
    "b_group": "SELECT auction, count(*) AS bids, sum(price) AS total FROM read_parquet('{path}') GROUP BY auction",
}


def generate(rows: int) -> Path:
    """Write the bids Parquet file (once per row count)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = DATA / f"bids_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    base = 1_704_067_200_000
    channels = pa.array(["apple", "google", "facebook", "baidu"])
    table = pa.table(
        {
            "auction": rng.integers(1000, 2000, rows, dtype="int64"),
            "bidder": rng.integers(0, 100_000, rows, dtype="int64"),
            "price": rng.integers(1, 100_000, rows, dtype="int64"),
            "channel": pc.take(channels, pa.array(rng.integers(0, 4, rows))),
            "date_time": pa.array((base + np.arange(rows, dtype="int64")).astype("datetime64[ms]")),
        }
    )
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.rename(path)
    return path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(engine: str, query: str, path: str, runs: int) -> dict:
    """Run one (engine, query) ``runs`` times in this process; report times, CPU, peak RSS."""
    walls, cpus, out_rows = [], [], 0
    if engine == "flowsql":
        home = tempfile.mkdtemp(prefix="flowsql-bench-")
        os.environ["FLOWSQL_HOME"] = home
        from flowsql.session import Session

        session = Session(home=Path(home))
        session.execute_one("SET 'execution.runtime-mode' = 'batch'")
        session.execute_one(
            "CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, "
            "date_time TIMESTAMP(3), WATERMARK FOR date_time AS date_time - INTERVAL '1' SECOND) "
            f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet')"
        )
        for _ in range(runs):
            c0, t0 = _cpu(), time.perf_counter()
            result = session.execute_one(FLINK[query])
            walls.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
            out_rows = result.table.num_rows
        session.close()
    else:
        import duckdb

        sql = DUCKDB[query].format(path=path)
        for _ in range(runs):
            c0, t0 = _cpu(), time.perf_counter()
            con = duckdb.connect()
            table = con.sql(sql).to_arrow_table()
            con.close()
            walls.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
            out_rows = table.num_rows
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "peak_mb": peak_kb / 1024,
        "out_rows": out_rows,
    }


def _spawn(engine: str, query: str, path: Path, runs: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", engine, query, str(path), str(runs)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_results(text: str) -> None:
    header = "# FlowSQL benchmark results\n\nMeasured figures, with the command and date of each run.\n"
    old = RESULTS.read_text() if RESULTS.exists() else header
    if SECTION in old:
        start = old.index(SECTION)
        nxt = old.find("\n## ", start + len(SECTION))
        old = old[:start].rstrip() + "\n" + (old[nxt:] if nxt >= 0 else "")
    RESULTS.write_text(old.rstrip() + "\n\n" + text.rstrip() + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, engine, query, path, runs = sys.argv
        print(json.dumps(worker(engine, query, path, int(runs))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write-results", action="store_true")
    args = ap.parse_args()
    path = generate(args.rows)
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/batch.py --rows {args.rows} --runs {args.runs}"
        f"{' --write-results' if args.write_results else ''}`  ",
        f"Date: {dt.date.today().isoformat()}; {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; median of {args.runs} runs; input {args.rows:,} rows "
        "(Parquet). FlowSQL time includes parsing, catalog lookup, transpiling, sandbox set-up "
        "and fetching the Arrow result.",
        "",
        f"Load average at start: {os.getloadavg()[0]:.2f} (other processes share the machine; "
        "CPU seconds are the steadier comparison when wall times are noisy).",
        "",
        "| query | engine | wall s | rows/s | CPU s | peak RSS MB | result rows | overhead (wall) "
        "| overhead (CPU) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for query in FLINK:
        res = {e: _spawn(e, query, path, args.runs) for e in ("duckdb", "flowsql")}
        wall = (res["flowsql"]["wall"] / res["duckdb"]["wall"] - 1) * 100
        cpu = (res["flowsql"]["cpu"] / res["duckdb"]["cpu"] - 1) * 100
        for engine in ("duckdb", "flowsql"):
            r = res[engine]
            extra = f"{wall:+.1f}% | {cpu:+.1f}%" if engine == "flowsql" else " | "
            lines.append(
                f"| {query} | {engine} | {r['wall']:.3f} | {args.rows / r['wall']:,.0f} | "
                f"{r['cpu']:.2f} | {r['peak_mb']:.0f} | {r['out_rows']:,} | {extra} |"
            )
    text = "\n".join(lines)
    print(text)
    if args.write_results:
        _write_results(text)


if __name__ == "__main__":
    main()
