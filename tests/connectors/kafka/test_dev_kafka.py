"""``flowsql dev kafka``: a broker in the foreground with topics; Ctrl-C stops the JVM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient


def test_dev_kafka_serves_topics_and_stops_on_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowsql", "dev", "kafka", "--port", "0", "--dir", str(tmp_path),
         "--topic", "clicks:2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while not any(line.startswith("Broker pid") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline().strip())
        bootstrap = re.search(r"'(127\.0\.0\.1:\d+)'", "\n".join(lines)).group(1)
        pid = int(re.search(r"Broker pid (\d+)", "\n".join(lines)).group(1))
        assert "Topics: clicks" in lines
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        assert len(topics["clicks"].partitions) == 2
        assert (tmp_path / "broker.log").exists()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Kafka stopped." in out
        try:
            os.kill(pid, 0)
            alive = open(f"/proc/{pid}/stat").read().split()[2] != "Z"
        except (ProcessLookupError, FileNotFoundError):
            alive = False
        assert not alive
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
