"""``flowsql dev kafka``: a broker in the foreground with topics; Ctrl-C stops the JVM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient


def _start(tmp_path, *args: str) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowsql", "dev", "kafka", "--port", "0", "--dir", str(tmp_path),
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while not any(line.startswith("Broker pid") for line in lines):
        assert time.monotonic() < deadline and proc.poll() is None, lines
        lines.append(proc.stdout.readline().strip())
    return proc, lines


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_dev_kafka_serves_topics_and_stops_on_ctrl_c(tmp_path):
    proc, lines = _start(tmp_path, "--topic", "clicks:2")
    try:
        bootstrap = re.search(r"'(127\.0\.0\.1:\d+)'", "\n".join(lines)).group(1)
        pid = int(re.search(r"Broker pid (\d+)", "\n".join(lines)).group(1))
        assert "Topics: clicks" in lines
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        assert len(topics["clicks"].partitions) == 2
        assert (tmp_path / "broker.log").exists()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Kafka stopped." in out
        assert not _alive(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_broker_dies_with_the_process_that_started_it(tmp_path):
    """kill -9 of the starting process: the JVM gets SIGTERM (PR_SET_PDEATHSIG), no orphan."""
    proc, lines = _start(tmp_path)
    pid = int(re.search(r"Broker pid (\d+)", "\n".join(lines)).group(1))
    try:
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 30
        while _alive(pid):
            assert time.monotonic() < deadline, "the broker outlived its parent"
            time.sleep(0.2)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
