"""``flowsql cluster start|stop|status``: a local cluster of background processes.

Contract (like Flink's ``start-cluster.sh`` / ``stop-cluster.sh``):
- :func:`start` launches one JobManager and ``taskmanagers`` TaskManagers (``slots`` each)
  on 127.0.0.1 as background processes (subprocess, new session, never fork), each with a
  pid file ``<home>/cluster/pids/<name>.pid`` and a log ``<home>/log/<name>.out``. It returns
  once the JobManager answers and every TaskManager registered (or raises ExecutionError
  naming the log to read). A cluster already running under this home is an error.
- :func:`stop` sends SIGTERM (then SIGCONT, so a stopped process handles it too, like
  systemd does) to every process of the pid files, waits up to ``deadline``
  seconds (default 8), SIGKILLs what is left, and removes the pid files: it returns within the
  deadline plus a moment, whatever state the processes are in. Only processes whose pid file
  this home holds are signalled.
- :func:`status` reports the processes (alive or not) and, when the JobManager answers, its
  TaskManagers and slots.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowsql.errors import ExecutionError, FlowSQLError

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ClusterInfo:
    address: str
    rest_port: int | None
    pids: dict[str, int]


def _dirs(home: Path) -> tuple[Path, Path]:
    pids = home / "cluster" / "pids"
    logs = home / "log"
    pids.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    return pids, logs


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _pid_files(home: Path) -> dict[str, int]:
    pids, _ = _dirs(home)
    out = {}
    for path in sorted(pids.glob("*.pid")):
        try:
            out[path.stem] = int(path.read_text().strip())
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    return out


def _spawn(home: Path, name: str, args: list[str]) -> int:
    pids, logs = _dirs(home)
    with open(logs / f"{name}.out", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flowsql", *args], stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "FLOWSQL_HOME": str(home)},
        )
    (pids / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def _last_error(home: Path, name: str) -> str:
    """The last error-looking line of a process's output (what made it exit)."""
    try:
        lines = (home / "log" / f"{name}.out").read_text(errors="replace").splitlines()
    except OSError:
        return "no output"
    for line in reversed(lines):
        if "error" in line.lower():
            return line.strip().removeprefix("Execution error: ")[:300]
    return lines[-1].strip()[:300] if lines else "no output"


def _endpoint(home: Path, name: str) -> dict[str, Any] | None:
    path = home / "cluster" / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def start_jobmanager(home: Path, *, port: int, rest_port: int,
                     heartbeat_timeout: float) -> dict[str, Any]:
    """Start the JobManager process of ``home`` (also to restart one that died: its
    TaskManagers find it again on the same port) and wait for its endpoint file."""
    home = Path(home)
    (home / "cluster" / "jobmanager.json").unlink(missing_ok=True)
    jm_pid = _spawn(home, "jobmanager", [
        "jobmanager", "--bind", "127.0.0.1", "--port", str(port), "--rest-port", str(rest_port),
        "--home", str(home), "--heartbeat-timeout", str(heartbeat_timeout)])
    deadline = time.monotonic() + START_TIMEOUT_S
    endpoint = None
    while endpoint is None or endpoint.get("pid") != jm_pid:
        if not _alive(jm_pid):
            stop(home)
            raise ExecutionError(f"the JobManager exited at start: {_last_error(home, 'jobmanager')}",
                                 hint=f"see {home / 'log' / 'jobmanager.out'}")
        if time.monotonic() > deadline:
            stop(home)
            raise ExecutionError(f"the JobManager did not start within {START_TIMEOUT_S:g} s; "
                                 f"see {home / 'log' / 'jobmanager.out'}")
        time.sleep(0.1)
        endpoint = _endpoint(home, "jobmanager")
    return endpoint


def start_taskmanager(home: Path, address: str, index: int, slots: int = 1) -> int:
    """Start TaskManager ``tm-<index>`` of ``home`` (also to replace one that died); returns
    its pid. It registers with the JobManager at ``address`` by itself."""
    return _spawn(Path(home), f"taskmanager-{index}", [
        "taskmanager", "--jobmanager", address, "--slots", str(slots), "--bind", "127.0.0.1",
        "--data-port", "0", "--home", str(home), "--id", f"tm-{index}"])


def start(home: Path, *, taskmanagers: int = 1, slots: int = 1, port: int = 6123,
          rest_port: int = 8081, heartbeat_timeout: float = 10.0) -> ClusterInfo:
    home = Path(home)
    running = {n: p for n, p in _pid_files(home).items() if _alive(p)}
    if running:
        raise ExecutionError(
            f"a cluster is already running under {home} (pids {', '.join(map(str, running.values()))})",
            hint="`flowsql cluster stop` first, or use another --home")
    stop(home)  # clears stale pid files
    deadline = time.monotonic() + START_TIMEOUT_S
    endpoint = start_jobmanager(home, port=port, rest_port=rest_port,
                                heartbeat_timeout=heartbeat_timeout)
    address = str(endpoint["address"])
    for i in range(taskmanagers):
        start_taskmanager(home, address, i, slots)
    from flowsql.runtime.cluster.client import RemoteCluster

    client = RemoteCluster(address)
    while True:
        try:
            if len(client.overview()["taskmanagers"]) >= taskmanagers:
                break
        except FlowSQLError:
            pass
        dead = [n for n, p in _pid_files(home).items() if not _alive(p)]
        if dead or time.monotonic() > deadline:
            stop(home)
            why = f"{', '.join(dead)} exited" if dead else f"not all registered within {START_TIMEOUT_S:g} s"
            raise ExecutionError(f"the cluster did not start: {why}; see the logs in {home / 'log'}")
        time.sleep(0.1)
    return ClusterInfo(address, endpoint.get("rest_port"), _pid_files(home))


def stop(home: Path, deadline: float = 8.0) -> dict[str, str]:
    """Stop every process of this home's pid files; returns name -> how it ended."""
    home = Path(home)
    pids = _pid_files(home)
    outcome: dict[str, str] = {}
    for name, pid in pids.items():
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
                os.kill(pid, signal.SIGCONT)  # a stopped process acts on SIGTERM only once resumed
            except ProcessLookupError:
                pass
        else:
            outcome[name] = "not running"
    end = time.monotonic() + deadline
    while time.monotonic() < end and any(_alive(p) for n, p in pids.items() if n not in outcome):
        time.sleep(0.05)
    for name, pid in pids.items():
        if name in outcome:
            continue
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            outcome[name] = "killed"
        else:
            outcome[name] = "stopped"
    pid_dir, _ = _dirs(home)
    for name in pids:
        (pid_dir / f"{name}.pid").unlink(missing_ok=True)
    return outcome


def status(home: Path) -> dict[str, Any]:
    home = Path(home)
    procs = {n: {"pid": p, "alive": _alive(p)} for n, p in _pid_files(home).items()}
    out: dict[str, Any] = {"processes": procs, "jobmanager": None}
    endpoint = _endpoint(home, "jobmanager")
    if endpoint is not None:
        from flowsql.runtime.cluster.client import RemoteCluster

        try:
            out["jobmanager"] = {"address": endpoint["address"],
                                 "rest_port": endpoint.get("rest_port"),
                                 **RemoteCluster(str(endpoint["address"]), timeout=3.0).overview()}
        except FlowSQLError as e:
            out["error"] = e.message
    return out
