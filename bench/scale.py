"""Scale-out benchmark: the same Flink SQL on one TaskManager vs two, and on the embedded engine.

Usage::

    .venv/bin/python bench/scale.py [--rows 2000000,6000000] [--queries hop_count,...]
        [--modes cluster-1x1-p1,cluster-2x1-p2,embedded-p1,embedded-p2-clamp,embedded-p2-threads]
        [--json-out FILE]

What it runs:
- Queries: ``hop_count``, ``q5_tumble_count`` and ``groupby_agg`` from the shared Flink SQL
  files (``/work/shared/bench/flink/sql``, or ``--sql-dir``), run unchanged after
  ``bid_source.sql`` with ``${ROWS}`` filled in, through a Session with ``table.dml-sync`` on,
  in a fresh client process per run (``bench/scale.py --worker``).
- Modes: ``cluster-1x1-p1`` (a JobManager and one TaskManager with 1 slot, parallelism 1),
  ``cluster-2x1-p2`` (two TaskManagers with 1 slot each, parallelism 2), both started with
  ``launcher.start`` under a temporary home, one fresh cluster per query (both sizes run on
  it); ``embedded-p1``, ``embedded-p2-clamp`` (``parallelism.default`` = 2 with the default
  'execution.embedded.parallelism' = 'clamp', i.e. runs at 1) and ``embedded-p2-threads``
  ('threads': 2 subtasks as threads of one process). Nothing is pinned: the point is using
  both cores.

What it reports, per mode and query:
- events/s: the marginal rate between the two sizes, (rows₂ − rows₁) / (wall₂ − wall₁),
  where wall is the INSERT statement's wall time in the client (planning, submission, the job,
  waiting for its end), so start-up and fixed costs cancel;
- CPU s: user + system CPU of the whole process tree during each run — the client (from
  ``wait4``: itself and its threads) plus, for a cluster, the JobManager and TaskManagers
  (``/proc/<pid>/stat`` utime + stime + cutime + cstime, before and after the run);
  the marginal CPU (CPU₂ − CPU₁) and events per marginal CPU-second;
- peak RSS per process (MB): the client's ``ru_maxrss`` and each cluster process's ``VmHWM``
  after the larger run;
- ``uptime`` load average before and after every run (others share the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SQL_DIR = Path("/work/shared/bench/flink/sql")
QUERIES = ["hop_count", "q5_tumble_count", "groupby_agg"]
MODES: dict[str, dict[str, Any]] = {
    "cluster-1x1-p1": {"taskmanagers": 1, "parallelism": 1},
    "cluster-2x1-p2": {"taskmanagers": 2, "parallelism": 2},
    "embedded-p1": {"parallelism": 1},
    "embedded-p2-clamp": {"parallelism": 2, "embedded": "clamp"},
    "embedded-p2-threads": {"parallelism": 2, "embedded": "threads"},
}
TICK = os.sysconf("SC_CLK_TCK")


# -- worker: one query in a client process ---------------------------------------------------
def worker(sql_dir: Path, query: str, rows: int, settings: list[tuple[str, str]]) -> dict:
    from flowsql.session import Session

    home = Path(tempfile.mkdtemp(prefix="flowsql-scale-"))
    session = Session(home=home)
    try:
        session.execute_one("SET 'table.dml-sync' = 'true'")
        for key, value in settings:
            session.execute_one(f"SET '{key}' = '{value}'")
        source = (sql_dir / "bid_source.sql").read_text().replace("${ROWS}", str(rows))
        list(session.execute(source))
        text = (sql_dir / f"{query}.sql").read_text().replace("${ROWS}", str(rows))
        t0 = time.perf_counter()
        results = list(session.execute(text))
        insert_s = time.perf_counter() - t0
        last = results[-1]
        warnings = list(getattr(last, "warnings", None) or [])
    finally:
        session.close()
        shutil.rmtree(home, ignore_errors=True)
    return {"insert_s": insert_s, "job_id": getattr(last, "job_id", None), "warnings": warnings}


# -- process-tree accounting -----------------------------------------------------------------
def proc_cpu(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(") ", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is state (field 3); utime is field 14 -> index 11
    return sum(int(x) for x in fields[11:15]) / TICK


def proc_hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_client(args: list[str]) -> tuple[dict, float, float]:
    """Run a worker; returns (its RESULT, its CPU s incl. reaped children, its peak RSS MB)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            text=True)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    record = None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            record = json.loads(line[len("RESULT "):])
    if record is None:
        raise SystemExit(f"worker failed ({proc.returncode}): {' '.join(args)}\n{err[-4000:]}")
    return record, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def measure(mode: str, query: str, sizes: list[int], sql_dir: Path) -> dict[str, Any]:
    spec = MODES[mode]
    settings = [("parallelism.default", str(spec["parallelism"]))]
    if "embedded" in spec:
        settings.append(("execution.embedded.parallelism", spec["embedded"]))
    cluster_pids: dict[str, int] = {}
    home: Path | None = None
    if "taskmanagers" in spec:
        from flowsql.runtime.cluster import launcher

        home = Path(tempfile.mkdtemp(prefix="flowsql-scale-cluster-"))
        info = launcher.start(home, taskmanagers=spec["taskmanagers"], slots=1, port=0,
                              rest_port=0)
        cluster_pids = dict(info.pids)
        settings += [("execution.target", "remote"), ("jobmanager.address", info.address)]
    runs = []
    try:
        for rows in sizes:
            extra = [x for k, v in settings for x in ("--set", f"{k}={v}")]
            before = {n: proc_cpu(p) for n, p in cluster_pids.items()}
            load0 = load()
            t0 = time.perf_counter()
            record, client_cpu, client_mb = run_client(
                [query, "--rows", str(rows), "--sql-dir", str(sql_dir), *extra])
            wall = time.perf_counter() - t0
            after = {n: proc_cpu(p) for n, p in cluster_pids.items()}
            cpu = {"client": client_cpu, **{n: after[n] - before[n] for n in cluster_pids}}
            rss = {"client": client_mb, **{n: proc_hwm_mb(p) for n, p in cluster_pids.items()}}
            runs.append({"rows": rows, "insert_s": record["insert_s"], "process_s": wall,
                         "cpu": cpu, "cpu_total": sum(cpu.values()), "rss_mb": rss,
                         "load_before": load0, "load_after": load(),
                         "warnings": record["warnings"]})
    finally:
        if home is not None:
            from flowsql.runtime.cluster import launcher

            launcher.stop(home)
            shutil.rmtree(home, ignore_errors=True)
    first, last = runs[0], runs[-1]
    d_rows = last["rows"] - first["rows"]
    d_wall = last["insert_s"] - first["insert_s"]
    d_cpu = last["cpu_total"] - first["cpu_total"]
    return {
        "mode": mode, "query": query, "runs": runs,
        "events_per_s": d_rows / d_wall if d_wall > 0 else None,
        "marginal_cpu_s": d_cpu,
        "events_per_cpu_s": d_rows / d_cpu if d_cpu > 0 else None,
        "cores_busy": d_cpu / d_wall if d_wall > 0 else None,
    }


def _fmt(x: float | None, spec: str = ",.0f") -> str:
    return "—" if x is None else format(x, spec)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| query | mode | events/s (marginal) | vs cluster p1 | CPU s (tree, per size) | "
        "events/CPU-s (marginal) | cores busy | peak RSS MB per process | load (1/5/15 min) |",
        "|" + "---|" * 9,
    ]
    base = {r["query"]: r["events_per_s"] for r in results if r["mode"] == "cluster-1x1-p1"}
    for r in results:
        ref = base.get(r["query"])
        ratio = f"{r['events_per_s'] / ref:.2f}x" if ref and r["events_per_s"] else ""
        cpu = " / ".join(f"{x['cpu_total']:.1f}" for x in r["runs"])
        rss = ", ".join(f"{n} {v:.0f}" for n, v in r["runs"][-1]["rss_mb"].items() if v)
        lines.append(
            f"| {r['query']} | {r['mode']} | {_fmt(r['events_per_s'])} | {ratio} | {cpu} | "
            f"{_fmt(r['events_per_cpu_s'])} | {_fmt(r['cores_busy'], '.2f')} | {rss} | "
            f"{r['runs'][0]['load_before']} → {r['runs'][-1]['load_after']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="2000000,6000000", help="two sizes, comma-separated")
    ap.add_argument("--queries", default=",".join(QUERIES))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--sql-dir", default=str(DEFAULT_SQL_DIR))
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--set", action="append", default=[], help=argparse.SUPPRESS)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sql_dir = Path(args.sql_dir)
    if args.worker:
        settings = [tuple(s.split("=", 1)) for s in args.set]
        rows = int(args.rows)
        record = worker(sql_dir, args.worker, rows, settings)  # type: ignore[arg-type]
        print("RESULT " + json.dumps(record), flush=True)
        return 0
    sizes = [int(x) for x in args.rows.split(",")]
    queries = [q for q in args.queries.split(",") if q]
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        ap.error(f"unknown modes {unknown}; known: {list(MODES)}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC  load {load()}  "
          f"cores {os.cpu_count()}  sizes {sizes}", flush=True)
    results = []
    for query in queries:
        for mode in modes:
            r = measure(mode, query, sizes, sql_dir)
            results.append(r)
            print(json.dumps(r), flush=True)
            if args.json_out:
                with open(args.json_out, "a") as f:
                    f.write(json.dumps(r) + "\n")
    print(table(results))
    warnings = {w for r in results for run in r["runs"] for w in run["warnings"]}
    for w in sorted(warnings):
        print(f"warning seen: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
