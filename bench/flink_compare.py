"""Run FlowSQL's datagen benchmark queries on Apache Flink (PyFlink's local MiniCluster).

Usage::

    .venv/bin/python bench/flink_compare.py [--rows 3000000] [--queries q0_passthrough,...]
        [--flink-python /tmp/flinkvenv/bin/python]
        [--runner /work/shared/bench/flink/run_flink_sql.py] [--pin] [--json-out FILE]

1. For each query of ``bench/nexmark.py``'s datagen list, runs the Flink baseline's runner
   (``run_flink_sql.py``, see ``/work/shared/bench/flink/README.md``) on the very files FlowSQL
   runs — ``bench/nexmark/bid_source.sql`` and ``bench/nexmark/<query>.sql`` — at
   parallelism 1, streaming mode, in a fresh process (optionally under ``taskset -c 1``).
2. Collects the runner's ``RESULT {json}`` line (``net_s``: Flink's net job run time;
   ``events_per_s_net`` = rows / ``net_s``) and the process wall time, and prints one JSON
   line per query, then a Markdown table. (Flink's CPU time is not measured here: the JVM is
   not a waited-for child; ``run_suite.py`` of the baseline samples /proc for that.)
3. Reads the baseline figures of ``results/summary.md`` next to the runner (streaming, p = 1)
   so each line also shows the baseline's events/s for the same query when it has one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "bench" / "nexmark"
sys.path.insert(0, str(ROOT / "bench"))

from nexmark import DATAGEN  # noqa: E402

DEFAULT_RUNNER = Path("/work/shared/bench/flink/run_flink_sql.py")
DEFAULT_PYTHON = Path("/tmp/flinkvenv/bin/python")


def baseline(runner: Path) -> dict[str, int]:
    """events/s (net, median) of the baseline's streaming p=1 lines, by query."""
    summary = runner.parent / "results" / "summary.md"
    out: dict[str, int] = {}
    if not summary.exists():
        return out
    for line in summary.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 7 and cells[0] == "streaming" and cells[2] == "1":
            try:
                out[cells[1]] = int(cells[7].replace(",", ""))
            except ValueError:
                continue
    return out


def run_flink(python: Path, runner: Path, query: str, rows: int, pin: bool) -> dict:
    cmd = [str(python), str(runner), str(SQL_DIR / "bid_source.sql"), str(SQL_DIR / f"{query}.sql"),
           "--rows", str(rows), "-p", "1", "--label", query]
    if pin and shutil.which("taskset"):
        cmd = ["taskset", "-c", "1", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            record = json.loads(line[len("RESULT "):])
            # rusage of children covers the Python driver, not the JVM it starts (py4j's
            # gateway is not waited for), so these are not Flink's CPU figures
            record.update(query=query, process_s=round(wall, 1), driver_cpu_s=round(cpu, 1))
            return record
    return {"query": query, "error": f"exit {proc.returncode}", "stderr": proc.stderr[-3000:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--queries", default="", help="comma-separated (default: all datagen ones)")
    ap.add_argument("--flink-python", type=Path, default=DEFAULT_PYTHON)
    ap.add_argument("--runner", type=Path, default=DEFAULT_RUNNER)
    ap.add_argument("--pin", action="store_true", help="run Flink under taskset -c 1")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args(argv)
    if not args.flink_python.exists() or not args.runner.exists():
        ap.error(f"need PyFlink at {args.flink_python} and the runner at {args.runner}")
    queries = [q for q in args.queries.split(",") if q] or list(DATAGEN)
    base = baseline(args.runner)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  load average {os.getloadavg()}  "
          f"rows {args.rows:,}", flush=True)
    records = []
    for query in queries:
        record = run_flink(args.flink_python, args.runner, query, args.rows, args.pin)
        record["baseline_events_per_s"] = base.get(query)
        records.append(record)
        print(json.dumps({k: v for k, v in record.items() if k != "stderr"}), flush=True)
        if "error" in record:
            print(record["stderr"], file=sys.stderr)
        if args.json_out:
            with open(args.json_out, "a") as f:
                f.write(json.dumps(record) + "\n")
    print("| query | Flink events/s (net) | net s | process s | baseline events/s |")
    print("|---|---|---|---|---|")
    for r in records:
        eps = r.get("events_per_s_net")
        b = r.get("baseline_events_per_s")
        print(f"| {r['query']} | {f'{eps:,}' if eps else r.get('error', '')} | "
              f"{r.get('net_s', '')} | {r.get('process_s', '')} | {f'{b:,}' if b else ''} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
