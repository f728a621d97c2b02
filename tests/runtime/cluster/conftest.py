"""A real local cluster for tests: one JobManager and two TaskManager processes on 127.0.0.1.

Started with the launcher ``flowsql cluster start`` uses (subprocesses with pid files under a
temporary home, free ports), and stopped by those pids in teardown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.runtime.cluster import launcher
from flowsql.runtime.cluster.client import RemoteCluster

HEARTBEAT_TIMEOUT_S = 3.0


class LocalCluster:
    def __init__(self, home: Path, info: launcher.ClusterInfo) -> None:
        self.home = home
        self.address = info.address
        self.rest_port = info.rest_port
        self.pids = info.pids
        self.client = RemoteCluster(info.address)

    def session(self, parallelism: int = 2):
        """A Session (own catalog under a fresh home) that runs its jobs on this cluster."""
        from flowsql.session import Session

        s = Session()
        s.config.set("execution.target", "remote")
        s.config.set("jobmanager.address", self.address)
        s.config.set("parallelism.default", str(parallelism))
        return s

    def stop(self) -> dict[str, str]:
        return launcher.stop(self.home)


def start_cluster(home: Path, taskmanagers: int = 2, slots: int = 1) -> LocalCluster:
    home.mkdir(parents=True, exist_ok=True)
    info = launcher.start(home, taskmanagers=taskmanagers, slots=slots, port=0, rest_port=0,
                          heartbeat_timeout=HEARTBEAT_TIMEOUT_S)
    return LocalCluster(home, info)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """JobManager + 2 TaskManagers (1 slot each), shared by a test module."""
    c = start_cluster(tmp_path_factory.mktemp("cluster") / "home")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A cluster for one test (for tests that kill or stop its processes)."""
    c = start_cluster(tmp_path / "cluster-home")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def make_cluster():
    """Start clusters on demand (``make_cluster(home)``); every one is stopped in teardown."""
    started: list[LocalCluster] = []

    def make(home: Path, taskmanagers: int = 2, slots: int = 1) -> LocalCluster:
        c = start_cluster(home, taskmanagers, slots)
        started.append(c)
        return c

    try:
        yield make
    finally:
        for c in started:
            c.stop()
