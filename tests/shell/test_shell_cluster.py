"""The shell against a real cluster, through the CLI as a user runs it.

``flowsql cluster start`` (2 TaskManagers x 1 slot, free ports) -> a ``flowsql shell -f``
script submits an unbounded INSERT and exits while the job keeps running on the cluster ->
a second, interactive shell (pexpect on a pty) sees it RUNNING in SHOW JOBS and stops it with
STOP JOB -> a live streaming SELECT in that shell shows rows in tableau mode until Ctrl-C, and
its job ends CANCELED on the cluster -> ``flowsql cluster stop``. Waits poll for evidence
with generous deadlines; no test asserts on elapsed time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pexpect

from flowsql.runtime.cluster.client import RemoteCluster
from tests.waiting import until as _until

FRESH_PROMPT = re.compile(r"\x1b\[\?2004h[^\n]*?FlowSQL>")
CTRL_C = "\x03"
TIMEOUT = 90

SCRIPT = """\
CREATE TABLE clicks (id BIGINT, k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '200',
  'fields.k.min' = '1', 'fields.k.max' = '3');
CREATE TABLE hole (id BIGINT, k INT) WITH ('connector' = 'blackhole');
INSERT INTO hole SELECT id, k FROM clicks;
"""


def _cli(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowsql", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})




def _pids(home: Path) -> list[int]:
    return [int(p.read_text()) for p in (home / "cluster" / "pids").glob("*.pid")]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] in "ZX"
    except FileNotFoundError:
        return True


def test_script_job_outlives_its_shell_and_a_second_shell_stops_it(tmp_path: Path) -> None:
    cluster_home, shell_home = tmp_path / "cluster", tmp_path / "shell"
    cluster_home.mkdir()
    shell_home.mkdir()
    started = _cli("cluster", "start", "--taskmanagers", "2", "--slots", "1", "--port", "0",
                   "--rest-port", "0", "--home", str(cluster_home))
    pids = _pids(cluster_home)
    child = None
    try:
        assert started.returncode == 0, started.stderr
        address = re.search(r"JobManager at (\S+:\d+)", started.stdout).group(1)
        rest_port = re.search(r"http://127\.0\.0\.1:(\d+)/", started.stdout).group(1)
        client = RemoteCluster(address)

        # 1. a script submits the unbounded INSERT; the shell exits, the job keeps running
        script = tmp_path / "job.sql"
        script.write_text(SCRIPT)
        ran = _cli("shell", "--jobmanager", address, "--home", str(shell_home), "-f", str(script))
        assert ran.returncode == 0, ran.stdout + ran.stderr
        job_id = re.search(r"Job (\w+) keeps running on the cluster", ran.stdout).group(1)
        _until("the job to run", lambda: client.job(job_id).state == "RUNNING")
        status = _cli("cluster", "status", "--home", str(cluster_home))
        assert status.returncode == 0, status.stdout + status.stderr
        assert "2 TaskManager(s)" in status.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}/jobs/overview", timeout=10) as r:
            jobs = {j["jid"]: j["state"] for j in json.load(r)["jobs"]}
        assert jobs[job_id] == "RUNNING"
        _until("rows to reach the sink", lambda: client.totals(job_id).records_out > 0)

        # 2. a second shell, interactive, sees it and stops it
        env = {**os.environ, "FLOWSQL_HOME": str(shell_home), "TERM": "xterm",
               "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "200", "LINES": "40"}
        env.pop("NO_COLOR", None)
        child = pexpect.spawn(sys.executable, ["-m", "flowsql", "shell", "--jobmanager", address],
                              env=env, cwd=str(tmp_path), encoding="utf-8", timeout=TIMEOUT,
                              dimensions=(40, 200))

        def run(statement: str) -> str:
            child.send(statement + "\r")
            child.expect(FRESH_PROMPT)
            return child.before

        child.expect(FRESH_PROMPT)
        shown = run("SHOW JOBS;")
        assert job_id in shown and "RUNNING" in shown, shown
        stopped = run(f"STOP JOB '{job_id}';")
        assert "Traceback" not in stopped, stopped
        _until("the job to end CANCELED", lambda: client.job(job_id).state == "CANCELED")

        # 3. a live SELECT on the cluster shows rows until Ctrl-C; its job ends CANCELED
        assert "succeeded" in run("SET 'sql-client.execution.result-mode' = 'tableau';")
        child.send("SELECT id, k FROM clicks;\r")
        child.expect(re.compile(r"\| +-?\d+ \| +[123] \|\r\n"))
        child.send(CTRL_C)
        child.expect(FRESH_PROMPT)
        assert re.search(r"Query terminated, received a total of \d+ rows", child.before)
        select_job = [j for j in client.list_jobs() if j.job_id != job_id]
        assert len(select_job) == 1
        _until("the SELECT's job to end CANCELED",
               lambda: client.job(select_job[0].job_id).state == "CANCELED")
        child.send("quit;\r")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert {j.state for j in client.list_jobs()} == {"CANCELED"}
    finally:
        if child is not None and child.isalive():
            child.terminate(force=True)
        stop = _cli("cluster", "stop", "--home", str(cluster_home), timeout=30)
        assert stop.returncode == 0, stop.stderr
    for pid in pids:
        _until(f"pid {pid} to end", lambda pid=pid: _gone(pid), timeout=10)
