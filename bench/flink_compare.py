"""FlowSQL against Apache Flink (and against itself in batch mode), measured the same way.

Usage::

    .venv/bin/python bench/flink_compare.py [--rows 5000000,20000000] [--yardsticks a,b,c]
        [--queries q0_passthrough,q1_projection,...] [--cpu 1 | --no-pin]
        [--flink-python /tmp/flinkvenv/bin/python] [--json-out FILE]

Method (``/work/shared/bench/README.md``): every run is a fresh process tree pinned to one
core (``taskset -c <cpu>``, both engines the same core); its CPU-seconds are those of the
whole tree, read from ``/proc`` every 50 ms while it runs (user + system of every process
seen in the tree; at least the root's own rusage with every descendant it reaped), so
Flink's JVM counts too; its peak memory is the
largest sum of the tree's RSS. Each (engine, query) runs at two sizes, and the figure is the
marginal rate ``(rows₂ − rows₁) / (cpu₂ − cpu₁)`` events per CPU-second, so start-up (the
JVM, PyFlink's MiniCluster, Python imports, planning) cancels. One run each. The default
sizes are 5 M and 20 M: at 2 M / 6 M FlowSQL's marginal CPU (0.2-0.9 s on most queries, as
of 2026-12-03) was within the jitter of its ~1.5 s start-up (a 6 M run once cost less than
the 2 M one), and Flink's JIT compiler was still working at 2 M (yardstick ``n`` keeps
smaller sizes: give them with ``--rows``).

Yardsticks (one table each, then the smallest ratio):
- ``a``: each engine's own ``datagen`` source, on the SQL of ``/work/shared/bench/flink/sql``
  (``bid_source.sql`` + one query file, ``${ROWS}`` filled in) unchanged;
- ``b``: both engines read the same generated CSV file (the ``bid`` columns, no header) in
  streaming mode through the ``filesystem`` connector (Flink ships it, with ``csv``);
- ``c``: FlowSQL streaming against FlowSQL batch (DuckDB) on the same Parquet file;
- ``n``: the public Nexmark join / Top-N queries (``bench/nexmark.py``'s ``TABLES``: q3, q4,
  q5, q7, q8, q9, q18, q19, q20) on ``bench/nexmark/nexmark_tables.sql``: three ``datagen``
  tables person / auction / bid (1 : 3 : 46 of ``--rows`` events, keys that match; see the
  file), the same text on both engines. ``--queries`` defaults to those for this yardstick.

The ratio is FlowSQL's rate over the other engine's (for ``c``: streaming over batch).
Flink runs through ``run_flink_sql.py`` of the shared baseline (PyFlink's local
MiniCluster, parallelism 1, streaming); FlowSQL through ``flowsql shell -f`` with
``table.dml-sync`` on, in a temporary ``FLOWSQL_HOME``. Input files are generated at run
time under a temporary directory and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from nexmark import SQL_DIR, TABLES, render_source

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path("/work/shared/bench/flink")
DEFAULT_PYTHON = Path("/tmp/flinkvenv/bin/python")
QUERIES = ["q0_passthrough", "q1_projection", "q2_filter", "q5_tumble_count",
           "q7_tumble_max", "hop_count", "groupby_agg", "q11_session", "q21_regexp"]
CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- measuring a process tree ---------------------------------------------------------------
@dataclass
class Run:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    ok: bool
    tail: str = ""


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            out += [int(c) for c in text.split()]
    except OSError:
        pass
    return out


def _stat(pid: int) -> tuple[float, int] | None:
    """(own CPU seconds, RSS bytes) of one process. Its reaped children's CPU (cutime,
    cstime) is left out: those children are sampled themselves while they live."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime stime
    return ticks / CLK, int(fields[21]) * PAGE


def measure(cmd: list[str], env: dict[str, str], cwd: Path, timeout_s: float = 1800) -> Run:
    """Run ``cmd``; sample its process tree every 50 ms (see the module docstring)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    cpu_seen: dict[int, float] = {}
    peak = 0
    output: list[str] = []

    def sample() -> None:
        nonlocal peak
        todo, rss = [proc.pid], 0
        seen: set[int] = set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            st = _stat(pid)
            if st is None:
                continue
            cpu_seen[pid] = max(cpu_seen.get(pid, 0.0), st[0])
            rss += st[1]
            todo += _children(pid)
        peak = max(peak, rss)

    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    deadline = started + timeout_s
    usage_s = 0.0
    status = None
    while status is None:
        sample()
        # os.wait4 rather than Popen.poll: it also gives the root's rusage, which counts
        # the CPU of every descendant it reaped (a JVM ending between two samples)
        pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(code)
            usage_s = usage.ru_utime + usage.ru_stime
            break
        if time.perf_counter() > deadline:
            proc.kill()
        time.sleep(0.05)
    proc.returncode = status
    reader.join(timeout=5)
    wall = time.perf_counter() - started
    cpu = max(sum(cpu_seen.values()), usage_s)
    return Run(wall, cpu, peak / 2**20, status == 0, "".join(output[-20:]))


# -- inputs ---------------------------------------------------------------------------------
def bid_table(rows: int, seed: int = 1) -> pa.Table:
    """The ``bid`` columns of ``bid_source.sql``, with the same ranges."""
    rng = np.random.default_rng(seed)
    hexchars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

    def strings(length: int) -> pa.Array:
        data = hexchars[rng.integers(0, 16, rows * length, dtype=np.uint8)]
        offsets = np.arange(0, (rows + 1) * length, length, dtype=np.int32)
        return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets),
                                                         pa.py_buffer(data.tobytes())])

    return pa.table({
        "seq": pa.array(np.arange(1, rows + 1, dtype=np.int64)),
        "auction": pa.array(rng.integers(1000, 1110, rows, endpoint=True)),
        "bidder": pa.array(rng.integers(1000, 100000, rows, endpoint=True)),
        "price": pa.array(rng.integers(1, 10_000_000, rows, endpoint=True)),
        "channel": strings(8),
        "url": strings(32),
    })


def file_source(path: Path, fmt: str) -> str:
    """``bid_source.sql`` with the datagen connector replaced by a file."""
    text = (SHARED / "sql" / "bid_source.sql").read_text()
    head = text[: text.index(") WITH (")]
    head = "\n".join(line for line in head.splitlines() if not line.lstrip().startswith("--"))
    return f"{head}\n) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = '{fmt}');\n"


# -- engines --------------------------------------------------------------------------------
def flowsql_cmd(script: str, work: Path, mode: str) -> tuple[list[str], Path]:
    path = work / f"flowsql-{mode}.sql"
    path.write_text(f"SET 'execution.runtime-mode' = '{mode}';\nSET 'parallelism.default' = '1';\n"
                    "SET 'table.dml-sync' = 'true';\nSET 'table.local-time-zone' = 'UTC';\n"
                    + script)
    return [str(ROOT / ".venv" / "bin" / "flowsql"), "shell", "-f", str(path)], path


def query_file(query: str, yardstick: str = "a") -> Path:
    """The query's SQL file: ``bench/nexmark/`` for yardstick ``n``; otherwise the shared
    baseline's file, else FlowSQL's copy in ``bench/nexmark/`` (q11's SESSION and q21's
    REGEXP_EXTRACT, which the baseline lacks; Flink runs them unchanged)."""
    shared = SHARED / "sql" / f"{query}.sql"
    if yardstick != "n" and shared.exists():
        return shared
    return SQL_DIR / f"{query}.sql"


def flink_cmd(args: argparse.Namespace, source: Path, query: Path, rows: int) -> list[str]:
    return [str(args.flink_python), str(SHARED / "run_flink_sql.py"), str(source),
            str(query), "--rows", str(rows), "-p", "1"]


def run_one(args: argparse.Namespace, engine: str, yardstick: str, query: str, rows: int,
            work: Path) -> Run:
    query_path = query_file(query, yardstick)
    query_sql = query_path.read_text()
    env = dict(os.environ, FLOWSQL_HOME=str(work / "home"), COLUMNS="200")
    env.pop("PYTHONPATH", None)
    if yardstick == "n":  # placeholders filled in here: run_flink_sql.py knows only ${ROWS}
        source_sql = render_source("tables", rows)
        source_file = work / f"nexmark_tables-{rows}.sql"
        source_file.write_text(source_sql)
    elif yardstick == "a":
        source_sql = (SHARED / "sql" / "bid_source.sql").read_text()
        source_file = SHARED / "sql" / "bid_source.sql"
    else:
        fmt = "csv" if yardstick == "b" else "parquet"
        data = work / f"bid-{rows}.{fmt}"
        source_sql = file_source(data, fmt)
        source_file = work / f"bid_source_{fmt}.sql"
        source_file.write_text(source_sql)
    if engine == "flink":
        cmd = flink_cmd(args, source_file, query_path, rows)
    else:
        mode = "batch" if engine == "flowsql-batch" else "streaming"
        script = (source_sql + "\n" + query_sql).replace("${ROWS}", str(rows))
        cmd, _ = flowsql_cmd(script, work, mode)
    if args.cpu is not None:
        cmd = ["taskset", "-c", str(args.cpu)] + cmd
    shutil.rmtree(work / "home", ignore_errors=True)
    return measure(cmd, env, work)


def prepare(yardstick: str, rows: int, work: Path) -> None:
    if yardstick in ("a", "n"):
        return
    table = bid_table(rows)
    if yardstick == "b":
        pacsv.write_csv(table, work / f"bid-{rows}.csv",
                        pacsv.WriteOptions(include_header=False, quoting_style="none"))
    else:
        pq.write_table(table, work / f"bid-{rows}.parquet", row_group_size=1 << 20)


ENGINES = {"a": ("flowsql", "flink"), "b": ("flowsql", "flink"),
           "c": ("flowsql", "flowsql-batch"), "n": ("flowsql", "flink")}
TITLES = {"a": "(a) each engine's datagen", "b": "(b) the same CSV file, streaming",
          "c": "(c) FlowSQL streaming vs FlowSQL batch (DuckDB), same Parquet file",
          "n": "(n) Nexmark joins and Top-N on three datagen tables (nexmark_tables.sql)"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="5000000,20000000", help="two sizes: SMALL,LARGE")
    ap.add_argument("--yardsticks", default="a,b,c")
    ap.add_argument("--queries", default=None,
                    help="default: the yardstick's own (QUERIES; for n, nexmark.TABLES)")
    ap.add_argument("--cpu", type=int, default=1, help="core both engines are pinned to")
    ap.add_argument("--no-pin", dest="cpu", action="store_const", const=None)
    ap.add_argument("--flink-python", type=Path, default=DEFAULT_PYTHON)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    sizes = [int(x) for x in args.rows.split(",")]
    if len(sizes) != 2 or sizes[0] >= sizes[1]:
        ap.error("--rows takes two sizes, SMALL,LARGE (the marginal rate is taken between them)")
    small, large = sizes
    yardsticks = args.yardsticks.split(",")
    if "n" in yardsticks and any(s % 50 for s in sizes):
        ap.error("--rows for yardstick n: multiples of 50 (person : auction : bid = 1 : 3 : 46)")
    if any(ENGINES[y][1] == "flink" for y in yardsticks) and not args.flink_python.exists():
        print(f"Flink is not installed at {args.flink_python}: see /work/shared/bench/README.md",
              file=sys.stderr)
        return 2
    results: list[dict] = []
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="flink-compare-") as tmp:
        work = Path(tmp)
        for y in yardsticks:
            for rows in (small, large):
                prepare(y, rows, work)
            default = list(TABLES) if y == "n" else QUERIES
            for query in args.queries.split(",") if args.queries else default:
                line: dict = {"yardstick": y, "query": query}
                for engine in ENGINES[y]:
                    runs = [run_one(args, engine, y, query, rows, work) for rows in (small, large)]
                    if not all(r.ok for r in runs):
                        bad = next(r for r in runs if not r.ok)
                        line[engine] = {"error": bad.tail[-600:]}
                        continue
                    d_cpu = runs[1].cpu_s - runs[0].cpu_s
                    d_wall = runs[1].wall_s - runs[0].wall_s
                    line[engine] = {
                        "runs": [asdict(r) | {"tail": ""} for r in runs],
                        "events_per_cpu_s": round((large - small) / d_cpu) if d_cpu > 0 else None,
                        "events_per_wall_s": round((large - small) / d_wall) if d_wall > 0 else None,
                        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs)),
                    }
                a, b = (line[e].get("events_per_cpu_s") for e in ENGINES[y])
                line["ratio"] = round(a / b, 2) if a and b else None
                print(json.dumps(line), flush=True)
                results.append(line)
    load1 = os.getloadavg()
    print(f"\nrows {small:,} and {large:,}; pinned to cpu {args.cpu}; load {load0[0]:.2f} → "
          f"{load1[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for y in yardsticks:
        left, right = ENGINES[y]
        print(f"\n{TITLES[y]}\n\n| query | {left} events/CPU-s | {right} events/CPU-s | ratio "
              f"| peak RSS MB ({left} / {right}) |\n|---|---|---|---|---|")
        ratios = []
        for line in (r for r in results if r["yardstick"] == y):
            cells = []
            for e in (left, right):
                v = line[e].get("events_per_cpu_s")
                cells.append(f"{v:,}" if v else "error" if "error" in line[e] else "—")
            mem = " / ".join(str(line[e].get("peak_rss_mb", "—")) for e in (left, right))
            ratio = line["ratio"]
            if ratio:
                ratios.append(ratio)
            print(f"| {line['query']} | {cells[0]} | {cells[1]} | "
                  f"{f'{ratio}x' if ratio else '—'} | {mem} |")
        if ratios:
            print(f"\nminimum ratio: {min(ratios)}x")
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": [small, large], "cpu": args.cpu,
                                             "load": [load0, load1], "results": results},
                                            indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

