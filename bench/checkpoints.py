"""Checkpoint benchmark: what 1 s checkpoints cost, how long they take, and recovery time.

Usage::

    .venv/bin/python bench/checkpoints.py [--rows 2000000,6000000] [--queries hop_count,...]
        [--keys 1000000] [--skip-cluster] [--json-out FILE]

What it runs (a fresh client process per run, embedded engine, parallelism 1, not pinned):
1. Throughput: ``hop_count``, ``q5_tumble_count`` and ``groupby_agg`` from the shared Flink
   SQL files (``bid_source.sql`` + the query, ``${ROWS}`` filled in), without checkpoints and
   with ``execution.checkpointing.interval`` = 1 s (state to a temporary directory). events/s
   is the marginal rate between the two sizes, (rows₂ − rows₁) / (wall₂ − wall₁); the cost of
   checkpointing is 1 − rate(with) / rate(without). Also: checkpoints completed, their mean
   duration and size.
2. Large state: ``SELECT seq, COUNT(*) ... GROUP BY seq`` over ``--keys`` rows (one live key
   per row) with 1 s checkpoints: the duration and size of the largest checkpoint.
3. Alignment under backpressure: a TUMBLE aggregate at parallelism 2 (threads) into a
   blackhole sink that sleeps 20 ms per batch; the longest barrier alignment of any task.
4. Recovery (unless ``--skip-cluster``): a JobManager and three TaskManager processes, a paced
   job at parallelism 2 with 1 s checkpoints; one busy TaskManager is killed with -9 and the
   time until the job runs again (heartbeat timeout 3 s + restart delay 1 s included) and
   until its next completed checkpoint is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SQL_DIR = Path("/work/shared/bench/flink/sql")
if not DEFAULT_SQL_DIR.is_dir():
    DEFAULT_SQL_DIR = ROOT / "bench" / "nexmark"
QUERIES = ["hop_count", "q5_tumble_count", "groupby_agg"]


# -- workers (run in a child process) ---------------------------------------------------------
def _stats(job_id: str) -> dict:
    from flowsql.runtime.local import local_cluster

    view = local_cluster().jobmanager.checkpoint_stats(job_id)
    if view is None:
        return {"completed": 0}
    done = [h for h in view.history if h.status == "COMPLETED"]
    return {
        "completed": view.counts.completed,
        "failed": view.counts.failed,
        "mean_duration_ms": sum(h.duration_ms for h in done) / len(done) if done else None,
        "max_duration_ms": max((h.duration_ms for h in done), default=None),
        "max_size_bytes": max((h.size for h in done), default=None),
        "mean_size_bytes": sum(h.size for h in done) / len(done) if done else None,
        "max_alignment_ms": max((h.alignment_ms for h in done), default=None),
    }


def worker(args: dict) -> dict:
    from flowsql.session import Session

    home = Path(tempfile.mkdtemp(prefix="flowsql-chk-"))
    session = Session(home=home)
    try:
        session.execute_one("SET 'table.dml-sync' = 'true'")
        for key, value in args["settings"]:
            session.execute_one(f"SET '{key}' = '{value}'")
        if args.get("checkpoints"):
            session.execute_one("SET 'execution.checkpointing.interval' = '1 s'")
            session.execute_one(f"SET 'execution.checkpointing.dir' = '{home / 'chk'}'")
        for sql in args["setup"]:
            list(session.execute(sql))
        t0 = time.perf_counter()
        last = list(session.execute(args["insert"]))[-1]
        wall = time.perf_counter() - t0
        return {"wall_s": wall, **_stats(last.job_id)}
    finally:
        session.close()
        shutil.rmtree(home, ignore_errors=True)


def run(spec: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                          capture_output=True, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"worker failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def flink_query(sql_dir: Path, query: str, rows: int) -> tuple[list[str], str]:
    """(setup statements, the query file: its sink DDL and INSERT, timed together)."""
    source = (sql_dir / "bid_source.sql").read_text().replace("${ROWS}", str(rows))
    text = (sql_dir / f"{query}.sql").read_text().replace("${ROWS}", str(rows))
    return [source], text


# -- sections ---------------------------------------------------------------------------------
def throughput(sql_dir: Path, queries: list[str], sizes: list[int]) -> list[dict]:
    rows = []
    for query in queries:
        rates = {}
        for checkpoints in (False, True):
            runs = []
            for n in sizes:
                setup, insert = flink_query(sql_dir, query, n)
                runs.append(run({"settings": [], "setup": setup, "insert": insert,
                                 "checkpoints": checkpoints}))
            rate = (sizes[1] - sizes[0]) / (runs[1]["wall_s"] - runs[0]["wall_s"])
            rates[checkpoints] = rate
            row = {"query": query, "checkpoints": checkpoints, "events_per_s": round(rate),
                   "cpu_s": [round(r["cpu_s"], 2) for r in runs], **runs[1],
                   "load": os.getloadavg()[0]}
            rows.append(row)
            print(json.dumps(row), flush=True)
        cost = 1 - rates[True] / rates[False]
        print(f"{query}: 1 s checkpoints cost {100 * cost:.1f} % of the events/s", flush=True)
    return rows


def large_state(keys: int) -> dict:
    setup = [
        f"CREATE TABLE k (seq BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = "
        f"'{keys}', 'rows-per-second' = '{max(keys // 8, 1)}', 'fields.seq.kind' = 'sequence', "
        f"'fields.seq.start' = '1', 'fields.seq.end' = '{keys}')",
        "CREATE TABLE hole (seq BIGINT, n BIGINT) WITH ('connector' = 'blackhole')",
    ]
    out = run({"settings": [], "setup": setup, "checkpoints": True,
               "insert": "INSERT INTO hole SELECT seq, COUNT(*) FROM k GROUP BY seq"})
    print(json.dumps({"section": "large_state", "keys": keys, **out}), flush=True)
    return out


def alignment() -> dict:
    setup = [
        "CREATE TABLE src (k INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' "
        "SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '400000', "
        "'rows-per-second' = '100000', 'fields.k.min' = '1', 'fields.k.max' = '1000')",
        "CREATE TABLE hole (k INT, n BIGINT) WITH ('connector' = 'blackhole', "
        "'sink.sleep-per-batch' = '20 ms')",
    ]
    out = run({"settings": [("parallelism.default", "2"),
                            ("execution.embedded.parallelism", "threads")],
               "setup": setup, "checkpoints": True,
               "insert": "INSERT INTO hole SELECT k, COUNT(*) FROM TABLE(TUMBLE(TABLE src, "
                         "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, "
                         "window_end"})
    print(json.dumps({"section": "alignment", **out}), flush=True)
    return out


def recovery() -> dict:
    from flowsql.runtime.cluster import launcher
    from flowsql.session import Session

    home = Path(tempfile.mkdtemp(prefix="flowsql-recovery-"))
    info = launcher.start(home, taskmanagers=3, slots=1, port=0, rest_port=0,
                          heartbeat_timeout=3.0)
    try:
        from flowsql.runtime.cluster.client import RemoteCluster

        client = RemoteCluster(info.address)
        s = Session(home=home / "client")
        for sql in [
            "SET 'execution.target' = 'remote'", f"SET 'jobmanager.address' = '{info.address}'",
            "SET 'parallelism.default' = '2'",
            "CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = "
            "'20000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
            "'fields.id.end' = '100000000')",
            "CREATE TABLE hole (id BIGINT) WITH ('connector' = 'blackhole')",
            "SET 'execution.checkpointing.interval' = '1 s'",
            f"SET 'execution.checkpointing.dir' = '{home / 'chk'}'",
            "SET 'restart-strategy.type' = 'fixed-delay'",
            "SET 'restart-strategy.fixed-delay.delay' = '1 s'",
        ]:
            s.execute_one(sql)
        job_id = s.execute_one("INSERT INTO hole SELECT id FROM src").job_id
        while (client.job(job_id).last_checkpoint or 0) < 3:
            time.sleep(0.05)
        busy = next(t["tm_id"] for t in client.overview()["taskmanagers"]
                    if t["free_slots"] == 0 and t["state"] == "RUNNING")
        before = client.job(job_id).last_checkpoint
        os.kill(info.pids[f"taskmanager-{busy.split('-')[1]}"], signal.SIGKILL)
        killed = time.monotonic()
        while not (client.job(job_id).restarts >= 1 and client.job(job_id).state == "RUNNING"):
            time.sleep(0.02)
        running = time.monotonic() - killed
        while (client.job(job_id).last_checkpoint or 0) <= before:
            time.sleep(0.02)
        checkpointed = time.monotonic() - killed
        client.cancel(job_id)
    finally:
        launcher.stop(home)
        shutil.rmtree(home, ignore_errors=True)
    out = {"section": "recovery", "to_running_s": round(running, 2),
           "to_next_checkpoint_s": round(checkpointed, 2), "heartbeat_timeout_s": 3.0,
           "restart_delay_s": 1.0}
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="2000000,6000000")
    parser.add_argument("--queries", default=",".join(QUERIES))
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--sql-dir", type=Path, default=DEFAULT_SQL_DIR)
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, load {os.getloadavg()}", flush=True)
    sizes = [int(x) for x in args.rows.split(",")]
    results = {"throughput": throughput(args.sql_dir, args.queries.split(","), sizes),
               "large_state": large_state(args.keys), "alignment": alignment()}
    if not args.skip_cluster:
        results["recovery"] = recovery()
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
