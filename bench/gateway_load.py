"""Load on the SQL gateway: concurrent REST and Postgres sessions, point queries and live ones.

Usage::

    .venv/bin/python bench/gateway_load.py [--rest 50] [--pg 50] [--seconds 20] [--rounds 1]
        [--json-out F]

What it does:
1. starts ``flowsql gateway`` as a subprocess on 127.0.0.1 (free REST and Postgres ports, a
   temporary home) and creates one bounded table, ``points`` (datagen, 1,000 rows);
2. opens ``--rest`` sessions over Flink's REST API (httpx) and ``--pg`` over the Postgres
   wire (psycopg), all at once, each in its own thread;
3. every session runs one live query first (streaming mode, an unbounded datagen SELECT: a
   few result pages, then close), then switches to batch mode (``execution.runtime-mode`` =
   ``batch``: a point query runs on DuckDB) and runs point queries (``SELECT v FROM points WHERE k = <random>``) until
   ``--seconds`` have passed; every statement's latency is recorded, every error counted;
4. closes every session and reads the gateway's RSS (``/proc/<pid>/status`` VmRSS) at start
   (after a warm-up session ran the same statements once and closed, so code and caches
   loaded once are the baseline), at its peak (``VmHWM``) and a few seconds after the
   sessions closed, and its session gauge (``flowsql_gateway_sessions`` on ``/metrics``).

Prints, per protocol: statements/s (point queries over the whole run, all sessions), p50 and
p99 latency (ms), errors; then the CPU seconds of the gateway and of this client process
(its 100 threads share one GIL, so on 2 cores the clients themselves take a large share),
the memory figures and the session gauge before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
POINTS = ("CREATE TABLE points (k INT, v BIGINT) WITH ('connector' = 'datagen', "
          "'number-of-rows' = '1000', 'fields.k.kind' = 'sequence', 'fields.k.start' = '1', "
          "'fields.k.end' = '1000')")
LIVE_TABLE = ("CREATE TEMPORARY TABLE live (id BIGINT, k INT) WITH ('connector' = 'datagen', "
              "'rows-per-second' = '200')")
BATCH_MODE = "SET 'execution.runtime-mode' = 'batch'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    """user + system CPU seconds of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _check(r: httpx.Response) -> None:
    if r.status_code >= 400:
        raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")


class Rest:
    """One REST session (Flink's SQL Gateway API, v2)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        body = self.http.post("/v2/sessions", json={"properties": {}}).json()
        self.path = f"/v2/sessions/{body['sessionHandle']}"

    def run(self, sql: str, pages: int | None = None) -> int:
        """Run ``sql``; read every page (or ``pages`` non-empty ones, then close)."""
        op = self.http.post(f"{self.path}/statements", json={"statement": sql})
        _check(op)
        handle = op.json()["operationHandle"]
        base = f"{self.path}/operations/{handle}"
        token, rows, seen = 0, 0, 0
        while True:
            r = self.http.get(f"{base}/result/{token}", params={"rowFormat": "JSON"})
            _check(r)
            body = r.json()
            if body["resultType"] == "EOS":
                break
            if body["resultType"] == "PAYLOAD":
                data = body["results"]["data"]
                rows += len(data)
                seen += bool(data)
                token = int(re.search(r"/result/(\d+)", body["nextResultUri"]).group(1))
                if pages is not None and seen >= pages:
                    break
            else:
                time.sleep(0.01)
        self.http.delete(f"{base}/close")
        return rows

    def close(self) -> None:
        self.http.delete(self.path)
        self.http.close()


class Pg:
    """One Postgres-wire session (psycopg 3)."""

    def __init__(self, port: int) -> None:
        import psycopg

        self.conn = psycopg.connect(host="127.0.0.1", port=port, user="bench", dbname="flowsql",
                                    autocommit=True)

    def run(self, sql: str, pages: int | None = None) -> int:
        if pages is None:
            cur = self.conn.execute(sql)
            return len(cur.fetchall()) if cur.description is not None else 0
        with self.conn.cursor(name="live") as cur:  # a server-side cursor: read, then close
            cur.execute(sql)
            return sum(len(cur.fetchmany(20)) for _ in range(pages))

    def close(self) -> None:
        self.conn.close()


def worker(kind: str, make, seconds: float, out: dict[str, Any], start: threading.Barrier) -> None:
    lat: list[float] = []
    errors: list[str] = []
    client = None
    try:
        client = make()
        start.wait()
        try:  # streaming mode (the default): one live query
            client.run(LIVE_TABLE)
            client.run("SELECT id, k FROM live", pages=2)
            client.run(BATCH_MODE)
        except Exception as e:  # noqa: BLE001 - counted and reported
            errors.append(f"live: {type(e).__name__}: {e}")
        deadline = time.monotonic() + seconds
        rng = random.Random()
        while time.monotonic() < deadline:
            t = time.perf_counter()
            try:
                client.run(f"SELECT v FROM points WHERE k = {rng.randint(1, 1000)}")
                lat.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001
                errors.append(f"{type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001
        errors.append(f"setup: {type(e).__name__}: {e}")
        try:
            start.abort()
        except threading.BrokenBarrierError:
            pass
    finally:
        if client is not None:
            try:
                client.close()
            except Exception as e:  # noqa: BLE001
                errors.append(f"close: {type(e).__name__}: {e}")
    out.setdefault(kind, {"lat": [], "errors": []})
    out[kind]["lat"].extend(lat)
    out[kind]["errors"].extend(errors)


def gauge(url: str) -> float | None:
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    m = re.search(r"^flowsql_gateway_sessions(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rest", type=int, default=50)
    ap.add_argument("--pg", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat the whole load (new sessions each time): RSS per round shows "
                         "whether memory grows or plateaus")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="flowsql-gw-load-"))
    rest_port, pg_port = free_port(), free_port()
    log = open(home / "gateway.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowsql", "gateway", "--bind", "127.0.0.1", "--port",
         str(rest_port), "--pg-port", str(pg_port)],
        cwd=ROOT, env={**os.environ, "FLOWSQL_HOME": str(home)}, stdout=log,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{rest_port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/v1/info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        setup = Rest(url)
        setup.run(POINTS)
        # warm-up: one session does what every session will (code and caches loaded once are
        # the baseline, not growth)
        setup.run(LIVE_TABLE)
        setup.run("SELECT id, k FROM live", pages=2)
        setup.run(BATCH_MODE)
        setup.run("SELECT v FROM points WHERE k = 1")
        setup.close()
        time.sleep(2)
        rss0 = rss_kb(proc.pid)
        g0 = gauge(url)
        out: dict[str, Any] = {}
        load0 = os.getloadavg()
        cpu0, own0 = cpu_s(proc.pid), time.process_time()
        started = time.monotonic()
        after_close: list[int] = []
        g_mid = g1 = None
        for _ in range(args.rounds):
            barrier = threading.Barrier(max(args.rest + args.pg, 1))
            threads = [threading.Thread(target=worker, args=("rest", lambda: Rest(url),
                                                              args.seconds, out, barrier))
                       for _ in range(args.rest)]
            threads += [threading.Thread(target=worker, args=("pg", lambda: Pg(pg_port),
                                                               args.seconds, out, barrier))
                        for _ in range(args.pg)]
            for t in threads:
                t.start()
            time.sleep(min(5.0, args.seconds / 2))
            g_mid = gauge(url)
            for t in threads:
                t.join()
            time.sleep(5)
            after_close.append(rss_kb(proc.pid) // 1024)
            g1 = gauge(url)
        wall = time.monotonic() - started
        gateway_cpu, client_cpu = cpu_s(proc.pid) - cpu0, time.process_time() - own0
        peak = rss_kb(proc.pid, "VmHWM")
        report = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                  "sessions": {"rest": args.rest, "pg": args.pg}, "seconds": args.seconds,
                  "wall_s": round(wall, 1), "load": [load0, os.getloadavg()],
                  "cpu_s": {"gateway": round(gateway_cpu, 1), "clients": round(client_cpu, 1)},
                  "rss_mb": {"start": rss0 // 1024, "peak": peak // 1024,
                             "after_close_per_round": after_close},
                  "session_gauge": {"before": g0, "during": g_mid, "after": g1}}
        for kind in ("rest", "pg"):
            r = out.get(kind, {"lat": [], "errors": []})
            report[kind] = {"statements_per_s": round(len(r["lat"]) / (args.seconds * args.rounds),
                                                      1),
                            "p50_ms": round(pct(r["lat"], 0.5), 1),
                            "p99_ms": round(pct(r["lat"], 0.99), 1),
                            "statements": len(r["lat"]), "errors": len(r["errors"]),
                            "first_errors": r["errors"][:5]}
        print(json.dumps(report, indent=2))
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(report))
        return 0 if all(report[k]["errors"] == 0 for k in ("rest", "pg")) else 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
