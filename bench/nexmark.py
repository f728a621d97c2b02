"""Streaming benchmark: Nexmark-style queries on FlowSQL, one query per fresh process.

Usage::

    .venv/bin/python bench/nexmark.py [--events 10000000] [--source datagen|nexmark|all]
        [--queries q0_passthrough,q5_tumble_count,...] [--no-pin] [--set KEY=VALUE ...]
        [--json-out FILE] [--profile]
    .venv/bin/python bench/nexmark.py --latency [--rate 10000] [--seconds 20]

Throughput mode:
1. Every query is a SQL file in ``bench/nexmark/``, run after its source file:
   ``bid_source.sql`` (Flink's ``datagen`` bid table, ``${ROWS}`` = ``--events``; the Flink
   baseline's files are copied there verbatim, so both engines run the same text) or
   ``nexmark_source.sql`` (the ``nexmark`` connector's unified table and the person / auction /
   bid views, ``${EVENTS}`` = ``--events``, 100K events per second of event time). Every query
   writes into a ``blackhole`` sink.
2. Each query runs in a fresh worker process (``bench/nexmark.py --worker``), pinned to one
   core with ``taskset -c 1`` when available: a Session with ``table.dml-sync`` on runs the
   source DDL, the sink DDL and the ``INSERT``.
3. The worker prints one ``RESULT {json}`` line: ``job_s`` (the job's run time, start to end
   as the job manager saw it — excludes interpreter start, imports and planning, like Flink's
   net run time), ``events_per_s`` (events / ``job_s``), ``insert_s`` (the INSERT statement:
   planning + job), ``cpu_s`` (user + system CPU of the whole worker process, self + children,
   ``resource.getrusage``), ``job_cpu_s`` (CPU during the INSERT only), ``peak_mb``
   (``ru_maxrss``) and ``sink_rows`` (rows that reached the sink, from the job's metrics).
4. ``--profile`` runs each worker with a cProfile per thread (task threads included) and
   prints where the time goes.

Latency mode (``--latency``): a paced run at ``--rate`` rows/s (datagen
``rows-per-second``), with the worker timing batches as the source reader yields them and as
the sink receives them (by wrapping the datagen reader and the blackhole writer in the worker
process; the engine is not changed):
- q1: ``seq`` travels with each row, so each row's latency is its sink arrival time minus the
  time the source yielded its block; p50 / p99 / max are printed (target p99 < 50 ms);
- tumble: a 10 s TUMBLE ``COUNT(*)``; a window closes when the watermark
  (``max(date_time) - 4 s - 1 ms``, ``date_time`` = ``seq`` ms) passes its end, i.e. when the
  source yields the row ``seq = window_end + 4000``; the delay from that moment to the
  window's row at the sink is printed per window (target < 100 ms).
Both run with the default settings and with ``table.exec.mini-batch.allow-latency`` lowered
(``--low-latency-ms``), since the source's default buffering bound (200 ms) is a throughput
setting.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "bench" / "nexmark"

# query -> (source file, target category)
DATAGEN: dict[str, str] = {
    "src_only": "stateless",
    "q0_passthrough": "stateless",
    "q1_projection": "stateless",
    "q2_filter": "stateless",
    "q14_calc": "stateless",
    "q21_regexp": "stateless",
    "q22_split": "stateless",
    "q5_tumble_count": "window",
    "q7_tumble_max": "window",
    "hop_count": "window",
    "q12_tumble_bidder": "window",
    "q11_session": "session",
    "groupby_agg": "group",
    "q17_group_day": "group",
}
NEXMARK: dict[str, str] = {
    "nexmark_q0": "stateless",
    "nexmark_q1": "stateless",
    "nexmark_q2": "stateless",
    "nexmark_q14": "stateless",
    "nexmark_q21": "stateless",
    "nexmark_q22": "stateless",
    "nexmark_q5": "window",
    "nexmark_q7": "window",
    "nexmark_q12": "window",
    "nexmark_q11": "session",
    "nexmark_q17": "group",
}
# the public Nexmark join / Top-N queries on nexmark_tables.sql (three datagen tables); their
# target is relative (3x Flink's events per CPU-second, bench/flink_compare.py --yardsticks n)
TABLES: dict[str, str] = {
    "q3_local_item": "join",
    "q4_avg_price": "join",
    "q5_hot_items": "join",
    "q7_highest_bid": "join",
    "q8_new_users": "join",
    "q9_winning_bids": "join",
    "q18_last_bid": "rank",
    "q19_auction_top10": "rank",
    "q20_expand_bid": "join",
}
TARGETS = {"stateless": 2_000_000, "window": 1_000_000, "session": 400_000, "group": 1_000_000}
SOURCES = {"datagen": "bid_source.sql", "nexmark": "nexmark_source.sql",
           "tables": "nexmark_tables.sql"}


def source_of(query: str) -> str:
    if query in TABLES:
        return "tables"
    return "nexmark" if query.startswith("nexmark_") else "datagen"


def category_of(query: str) -> str:
    return {**DATAGEN, **NEXMARK, **TABLES}[query]


def table_counts(events: int) -> dict[str, int]:
    """Rows of person / auction / bid for ``events`` events (Nexmark's 1 : 3 : 46; ``events``
    is rounded down to a multiple of 50)."""
    unit = events // 50
    return {"PERSONS": unit, "AUCTIONS": 3 * unit, "BIDS": 46 * unit}


def render_source(source: str, events: int, *, rate: int | None = None) -> str:
    text = (SQL_DIR / SOURCES[source]).read_text()
    text = text.replace("${ROWS}", str(events)).replace("${EVENTS}", str(events))
    for name, rows in table_counts(events).items():
        text = text.replace("${" + name + "}", str(rows))
    if rate is not None:
        text = re.sub(r"'rows-per-second' = '\d+'", f"'rows-per-second' = '{rate}'", text)
    return text


# -- worker (one query, in this process) ----------------------------------------------------
def _cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_mb() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) / 1024.0  # ru_maxrss is in KiB on Linux


def _new_session(settings: list[tuple[str, str]]) -> tuple[Any, Path]:
    from flowsql.session import Session

    home = Path(tempfile.mkdtemp(prefix="flowsql-bench-"))
    session = Session(home=home)
    session.execute_one("SET 'table.dml-sync' = 'true'")
    for key, value in settings:
        session.execute_one(f"SET '{key}' = '{value}'")
    return session, home


def run_script(session: Any, text: str) -> list[Any]:
    return list(session.execute(text))


def worker(query: str, events: int, settings: list[tuple[str, str]]) -> dict[str, Any]:
    """Run one query to completion; returns the RESULT record (see the module docstring)."""
    from flowsql.session import streaming

    session, home = _new_session(settings)
    try:
        run_script(session, render_source(source_of(query), events))
        cpu0, t0 = _cpu_s(), time.perf_counter()
        results = run_script(session, (SQL_DIR / f"{query}.sql").read_text())
        insert_s = time.perf_counter() - t0
        job_cpu = _cpu_s() - cpu0
        job_id = results[-1].job_id
        info = streaming.cluster().job(job_id)
        metrics = streaming.cluster().metrics(job_id)
        graph = results[-1].extra.get("graph")
        sink_id = graph.operators[-1].id if graph is not None else None
        sink_rows = metrics[sink_id].records_in if sink_id in metrics else None
    finally:
        session.close()
        shutil.rmtree(home, ignore_errors=True)
    job_s = (info.end_time - info.start_time) if info.start_time and info.end_time else insert_s
    return {
        "query": query,
        "source": source_of(query),
        "events": events if source_of(query) != "tables" else events // 50 * 50,
        "state": info.state,
        "job_s": round(job_s, 3),
        "insert_s": round(insert_s, 3),
        "events_per_s": round(events // 50 * 50 / job_s if source_of(query) == "tables"
                              else events / job_s) if job_s > 0 else None,
        "cpu_s": round(_cpu_s(), 2),
        "job_cpu_s": round(job_cpu, 2),
        "peak_mb": round(_peak_mb()),
        "sink_rows": sink_rows,
        "settings": dict(settings),
    }


def profiled(fn: Any, *args: Any, top: int = 30) -> Any:
    """Run ``fn`` with a cProfile in every thread it starts (the job's task threads), then
    print the merged statistics by own time and by cumulative time."""
    import cProfile
    import pstats
    import threading

    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        profiles.append(prof)
        prof.runcall(original, self)

    threading.Thread.run = run  # type: ignore[method-assign]
    main = cProfile.Profile()
    profiles.append(main)
    try:
        result = main.runcall(fn, *args)
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]
    stats = pstats.Stats(profiles[0], stream=sys.stderr)
    for prof in profiles[1:]:
        try:
            stats.add(prof)
        except TypeError:  # a thread still running has no stats yet
            pass
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return result


# -- latency mode (in a worker) -------------------------------------------------------------
LATENCY_Q1 = """
CREATE TABLE lat_q1 (seq BIGINT, auction BIGINT, price DECIMAL(23, 3), date_time TIMESTAMP(3))
WITH ('connector' = 'blackhole');
INSERT INTO lat_q1 SELECT seq, auction, price * 0.908 AS price, date_time FROM bid;
"""
LATENCY_TUMBLE = """
CREATE TABLE lat_tumble (window_start TIMESTAMP(3), window_end TIMESTAMP(3), num BIGINT)
WITH ('connector' = 'blackhole');
INSERT INTO lat_tumble
SELECT window_start, window_end, COUNT(*) AS num
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(date_time), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
"""
WATERMARK_DELAY_MS = 4000


def _instrument() -> tuple[list[tuple[int, int, float]], list[tuple[Any, float]]]:
    """Wrap the datagen reader and the blackhole writer of this process to record when each
    block is yielded ((first seq, last seq, time)) and when each batch reaches the sink."""
    from connectors.blackhole.factory import BlackholeStreamWriter
    from connectors.datagen.reader import DatagenReader

    yielded: list[tuple[int, int, float]] = []
    arrived: list[tuple[Any, float]] = []
    read, write = DatagenReader.read, BlackholeStreamWriter.write

    def timed_read(self: Any, split: str) -> Any:
        for batch in read(self, split):
            if batch is not None and batch.num_rows:
                seq = batch.column(batch.schema.get_field_index("seq"))
                yielded.append((seq[0].as_py(), seq[-1].as_py(), time.perf_counter()))
            yield batch

    def timed_write(self: Any, batch: Any) -> None:
        arrived.append((batch, time.perf_counter()))
        write(self, batch)

    DatagenReader.read = timed_read  # type: ignore[method-assign]
    BlackholeStreamWriter.write = timed_write  # type: ignore[method-assign]
    return yielded, arrived


class _Stamps:
    """When the source yielded each block: ``time_of(seq)`` for an array of seq values (NaN
    for a seq no block held)."""

    def __init__(self, yielded: list[tuple[int, int, float]]) -> None:
        import numpy as np

        starts = np.array([y[0] for y in yielded], np.int64)
        order = np.argsort(starts)
        self.starts = starts[order]
        self.ends = np.array([y[1] for y in yielded], np.int64)[order]
        self.times = np.array([y[2] for y in yielded], np.float64)[order]

    def time_of(self, seq: Any) -> Any:
        import numpy as np

        i = np.clip(np.searchsorted(self.starts, seq, side="right") - 1, 0, None)
        if not len(self.starts):
            return np.full(len(seq), np.nan)
        ok = (seq >= self.starts[i]) & (seq <= self.ends[i])
        return np.where(ok, self.times[i], np.nan)


def latency_worker(rate: int, seconds: float, settings: list[tuple[str, str]]) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    yielded, arrived = _instrument()
    rows = int(rate * seconds)
    out: dict[str, Any] = {"rate": rate, "rows": rows, "settings": dict(settings)}
    for name, sql in (("q1", LATENCY_Q1), ("tumble", LATENCY_TUMBLE)):
        yielded.clear()
        arrived.clear()
        session, home = _new_session(settings)
        try:
            run_script(session, render_source("datagen", rows, rate=rate))
            run_script(session, sql)
        finally:
            session.close()
            shutil.rmtree(home, ignore_errors=True)
        stamps = _Stamps(yielded)
        lat: list[np.ndarray] = []
        for batch, t in arrived:
            if name == "q1":
                seq = batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64)
            else:  # the row that moved the watermark past window_end
                end = batch.column(1).cast(pa.int64()).to_numpy(zero_copy_only=False)
                seq = end + WATERMARK_DELAY_MS
            lat.append(t - stamps.time_of(seq))
        values = np.concatenate(lat) * 1000.0 if lat else np.array([])
        values = values[~np.isnan(values)]
        if name == "tumble":
            values = values[:-1] if len(values) > 1 else values  # the last one fires at end
        out[name] = {
            "samples": int(len(values)),
            "p50_ms": round(float(np.percentile(values, 50)), 2) if len(values) else None,
            "p99_ms": round(float(np.percentile(values, 99)), 2) if len(values) else None,
            "max_ms": round(float(values.max()), 2) if len(values) else None,
        }
    return out


# -- driver ---------------------------------------------------------------------------------
def _pin() -> list[str]:
    return ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def spawn(args: list[str], pin: bool, echo_stderr: bool = False) -> dict[str, Any]:
    cmd = [*(_pin() if pin else []), sys.executable, str(Path(__file__).resolve()), *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if echo_stderr or proc.returncode:
        sys.stderr.write(proc.stderr[-20000:])
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            record = json.loads(line[len("RESULT "):])
            record["process_s"] = round(wall, 2)
            return record
    return {"error": f"exit {proc.returncode}", "args": args, "stderr": proc.stderr[-2000:]}


def _parse_settings(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, _, value = item.partition("=")
        out.append((key.strip(), value.strip()))
    return out


def _table(records: list[dict[str, Any]]) -> str:
    head = ("| query | source | events | job s | events/s | target | CPU s (process) | "
            "CPU s (job) | peak MB | sink rows |")
    lines = [head, "|" + "---|" * 10]
    for r in records:
        if "error" in r:
            lines.append(f"| {' '.join(r['args'][:4])} | error: {r['error']} |||||||||")
            continue
        target = TARGETS.get(category_of(r["query"]))
        eps = r["events_per_s"] or 0
        mark = "" if target is None or eps >= target else " (missed)"
        lines.append(
            f"| {r['query']} | {r['source']} | {r['events']:,} | {r['job_s']:.2f} | {eps:,} | "
            f"{f'{target:,}' if target else '3x Flink'}{mark} | {r['cpu_s']:.1f} | {r['job_cpu_s']:.1f} | {r['peak_mb']} | "
            f"{r['sink_rows'] if r['sink_rows'] is not None else ''} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--source", choices=["datagen", "nexmark", "tables", "all"], default="all")
    ap.add_argument("--queries", default="", help="comma-separated query names (default: all)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin workers to core 1")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="session setting for every query")
    ap.add_argument("--json-out", default=None, help="append RESULT records here (JSON lines)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of each worker")
    ap.add_argument("--latency", action="store_true", help="latency mode (see module docstring)")
    ap.add_argument("--rate", type=int, default=10_000, help="latency mode: rows per second")
    ap.add_argument("--seconds", type=float, default=20.0, help="latency mode: run length")
    ap.add_argument("--low-latency-ms", type=int, default=10,
                    help="latency mode: table.exec.mini-batch.allow-latency of the second run")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--latency-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    settings = _parse_settings(args.set)

    if args.latency_worker:
        print("RESULT " + json.dumps(latency_worker(args.rate, args.seconds, settings)), flush=True)
        return 0
    if args.worker:
        fn = worker if not args.profile else (lambda *a: profiled(worker, *a))
        print("RESULT " + json.dumps(fn(args.worker, args.events, settings)), flush=True)
        return 0

    if args.latency:
        runs = [settings, [*settings, ("table.exec.mini-batch.allow-latency",
                                       f"{args.low_latency_ms} ms")]]
        for s in runs:
            extra = [x for k, v in s for x in ("--set", f"{k}={v}")]
            record = spawn(["--latency-worker", "--rate", str(args.rate), "--seconds",
                            str(args.seconds), *extra], pin=not args.no_pin)
            print(json.dumps(record), flush=True)
        return 0

    if args.queries:
        queries = [q.strip() for q in args.queries.split(",") if q.strip()]
        known = {**DATAGEN, **NEXMARK, **TABLES}
        unknown = [q for q in queries if q not in known]
        if unknown:
            ap.error(f"unknown queries {unknown}; known: {sorted(known)}")
    else:
        queries = [*(DATAGEN if args.source in ("datagen", "all") else []),
                   *(NEXMARK if args.source in ("nexmark", "all") else []),
                   *(TABLES if args.source in ("tables", "all") else [])]
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  load average {os.getloadavg()}  "
          f"events {args.events:,}  pinned {bool(_pin()) and not args.no_pin}", flush=True)
    records = []
    for query in queries:
        extra = [x for k, v in settings for x in ("--set", f"{k}={v}")]
        record = spawn(["--worker", query, "--events", str(args.events), *extra,
                        *(["--profile"] if args.profile else [])],
                       pin=not args.no_pin, echo_stderr=args.profile)
        records.append(record)
        print(json.dumps(record), flush=True)
        if args.json_out:
            with open(args.json_out, "a") as f:
                f.write(json.dumps(record) + "\n")
    print(_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
