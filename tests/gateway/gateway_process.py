"""Start ``flowsql gateway`` as a real subprocess on 127.0.0.1 (a free port) and stop it by pid."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60


@dataclass
class Gateway:
    url: str
    proc: subprocess.Popen
    home: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def start(home: Path, *args: str, env: dict[str, str] | None = None) -> Gateway:
    cmd = [sys.executable, "-m", "flowsql", "gateway", "--bind", "127.0.0.1", "--port", "0",
           "--pg-port", "0", "--home", str(home), *args]
    full_env = {**os.environ, "FLOWSQL_HOME": str(home), **(env or {})}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full_env)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            stop_process(proc)
            raise AssertionError("the gateway did not start in time") from None
        if line is None:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"the gateway exited with {proc.wait()}: {err}")
        if line.startswith("REST API on "):
            return Gateway(line.split(" on ", 1)[1].strip(), proc, home)


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


@contextmanager
def running(home: Path, *args: str, env: dict[str, str] | None = None):
    gw = start(home, *args, env=env)
    try:
        yield gw
    finally:
        stop_process(gw.proc)
