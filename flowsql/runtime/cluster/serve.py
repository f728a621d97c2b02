"""Running a JobManager or TaskManager process in the foreground (the CLI commands).

Contract:
- :func:`run_jobmanager` / :func:`run_taskmanager` start the process object, write the
  endpoint file (``<home>/cluster/<name>.json``: pid, ports, address) once it listens, and
  block until SIGTERM or SIGINT, then stop within :data:`STOP_DEADLINE_S` (tasks cancelled,
  servers stopped). A stop that does not finish in time exits anyway (``os._exit``): a
  stalled peer never keeps the process alive.
- Log records go to ``<home>/log/<name>.log`` and to stderr.
- These processes never fork: other processes are started by the launcher with subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

STOP_DEADLINE_S = 8.0


def _logging(home: Path, name: str) -> None:
    logger = logging.getLogger("flowsql")
    logger.setLevel(logging.INFO)
    fmt = logging.Formatter(f"%(asctime)s %(levelname)s {name}: %(message)s")
    log_dir = home / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    for handler in (logging.FileHandler(log_dir / f"{name}.log", encoding="utf-8"),
                    logging.StreamHandler(sys.stderr)):
        handler.setFormatter(fmt)
        logger.addHandler(handler)


def write_endpoint(home: Path, name: str, data: dict[str, Any]) -> Path:
    directory = home / "cluster"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), **data}))
    os.replace(tmp, path)
    return path


def _serve(proc: Any, home: Path, name: str, endpoint: dict[str, Any]) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    proc.start()
    path = write_endpoint(home, name, endpoint)
    while not stop.wait(0.5):
        pass
    logging.getLogger("flowsql.runtime").info("%s stopping", name)
    done = threading.Event()

    def stopper() -> None:
        try:
            proc.stop(timeout=STOP_DEADLINE_S / 2)
        finally:
            done.set()

    threading.Thread(target=stopper, daemon=True).start()
    clean = done.wait(STOP_DEADLINE_S)
    try:
        path.unlink()
    except OSError:
        pass
    logging.shutdown()
    if not clean:
        os._exit(0)
    return 0


def run_jobmanager(home: Path, *, bind: str, port: int, rest_port: int | None,
                   advertise: str | None, heartbeat_interval: float,
                   heartbeat_timeout: float) -> int:
    from flowsql.runtime.cluster.jobmanager_process import JobManagerProcess

    _logging(home, "jobmanager")
    proc = JobManagerProcess(home, bind=bind, port=port, rest_port=rest_port, advertise=advertise,
                             heartbeat_interval=heartbeat_interval,
                             heartbeat_timeout=heartbeat_timeout)
    endpoint = {"address": f"{advertise or bind}:{proc.port}", "port": proc.port}

    class _Started:
        def start(self) -> None:
            proc.start()
            endpoint["rest_port"] = proc.rest_port

        def stop(self, timeout: float) -> None:
            proc.stop(timeout)

    return _serve(_Started(), home, "jobmanager", endpoint)


def run_taskmanager(home: Path, *, jobmanager: str, slots: int, bind: str, data_port: int,
                    advertise: str | None, tm_id: str | None) -> int:
    from flowsql.runtime.cluster.taskmanager_process import TaskManagerProcess

    proc = TaskManagerProcess(jobmanager, slots=slots, bind=bind, data_port=data_port,
                              advertise=advertise, tm_id=tm_id)
    name = f"taskmanager-{proc.tm.tm_id}"
    _logging(home, name)
    return _serve(proc, home, name, {"tm_id": proc.tm.tm_id, "data_port": proc.data_port,
                                     "address": f"{proc.host}:{proc.data_port}"})
