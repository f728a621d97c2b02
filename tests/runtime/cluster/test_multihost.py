"""Multi-host: the JobManager and each TaskManager in its own network namespace.

Topology (``<p>`` is a prefix unique to the test, ``X`` a third octet no address or route of
the root namespace uses; every address below is one this test creates)::

    root namespace: this test process (the client: Session / RemoteCluster)
        fsqh<id>  10.213.X.254/24
            | veth
    <p>-br:  br0 (bridge; ports host, jm, tm1, tm2)
            | veth               | veth                 | veth
    <p>-jm: eth0 10.213.X.1   <p>-tm1: eth0 10.213.X.11   <p>-tm2: eth0 10.213.X.12
            JobManager :6123           TaskManager tm-a :6124      TaskManager tm-b :6124

Why a veth end in the root namespace: the client then runs in this process like any other
cluster test (no helper script inside a namespace, times measured here), and it only ever
talks to 10.213.X.1. Deleting ``<p>-br`` deletes every veth pair (the root end included),
so teardown is: SIGTERM then SIGKILL the processes by pid, then delete the namespaces.

The processes are started with ``ip netns exec <ns> python -m flowsql ...`` (``ip`` execs
python, so the Popen pid is the process), each with its own home and ``--bind`` /
``--advertise`` its own address; the TaskManagers know the JobManager only as 10.213.X.1.

The windowed query reads a filesystem table (two CSV files with fixed timestamps, on the
filesystem every namespace shares) at parallelism 2, so its rows are compared exactly with the
same query run embedded at parallelism 1 and with totals computed here.

Taking a TaskManager's link down is done on the bridge side (``ip -n <p>-br link set tm1
down``): a cut cable. Nothing errors inside tm1; the JobManager learns of it only from the
missing heartbeats.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from flowsql.errors import FlowSQLError
from flowsql.runtime.cluster.client import RemoteCluster

HEARTBEAT_TIMEOUT_S = 3.0
JM_PORT = 6123
REST_PORT = 8081
DATA_PORT = 6124
START_TIMEOUT_S = 60.0
# The JobManager's monitor declares a TaskManager lost once it was silent for the heartbeat
# timeout; the slack covers the heartbeat interval, the monitor's tick and a loaded machine.
FAILED_SLACK_S = 7.0


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def _free_octet() -> int:
    """A third octet for 10.213.X.0/24 that no address or route of the root namespace uses."""
    used = _ip("-4", "addr").stdout + _ip("-4", "route").stdout
    candidates = [x for x in range(1, 255) if f"10.213.{x}." not in used]
    if not candidates:
        pytest.skip("no free 10.213.X.0/24 subnet in the root namespace")
    return random.choice(candidates)


@dataclass
class NetnsCluster:
    prefix: str
    octet: int
    root: Path
    namespaces: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def addr(self, host: int) -> str:
        return f"10.213.{self.octet}.{host}"

    @property
    def jm_address(self) -> str:
        return f"{self.addr(1)}:{JM_PORT}"

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    # -- topology ----------------------------------------------------------------------------
    def add_namespace(self, name: str) -> None:
        _ip("netns", "add", self.ns(name))
        self.namespaces.append(self.ns(name))
        _ip("-n", self.ns(name), "link", "set", "lo", "up")

    def build(self) -> None:
        br = self.ns("br")
        self.add_namespace("br")
        _ip("-n", br, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
        _ip("-n", br, "link", "set", "br0", "up")
        for name, host in (("jm", 1), ("tm1", 11), ("tm2", 12)):
            self.add_namespace(name)
            # created directly in the two namespaces: the names never exist in the root one
            _ip("link", "add", "eth0", "netns", self.ns(name), "type", "veth", "peer", "name", name,
                "netns", br)
            _ip("-n", self.ns(name), "addr", "add", f"{self.addr(host)}/24", "dev", "eth0")
            _ip("-n", self.ns(name), "link", "set", "eth0", "up")
            _ip("-n", br, "link", "set", name, "master", "br0")
            _ip("-n", br, "link", "set", name, "up")
        host_end = f"fsqh{self.prefix[-8:]}"  # <= 15 characters
        _ip("link", "add", host_end, "type", "veth", "peer", "name", "host", "netns", br)
        _ip("-n", br, "link", "set", "host", "master", "br0")
        _ip("-n", br, "link", "set", "host", "up")
        _ip("addr", "add", f"{self.addr(254)}/24", "dev", host_end)
        _ip("link", "set", host_end, "up")

    def link_down(self, name: str) -> None:
        """Cut ``name``'s cable: its port on the bridge goes down."""
        _ip("-n", self.ns("br"), "link", "set", name, "down")

    # -- processes ---------------------------------------------------------------------------
    def spawn(self, name: str, ns: str, args: list[str]) -> None:
        home = self.root / "homes" / name
        home.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{name}.out"
        self.logs[name] = log
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                ["ip", "netns", "exec", self.ns(ns), sys.executable, "-m", "flowsql", *args,
                 "--home", str(home)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "FLOWSQL_HOME": str(home)},
            )

    def start(self) -> None:
        self.spawn("jobmanager", "jm", [
            "jobmanager", "--bind", self.addr(1), "--advertise", self.addr(1),
            "--port", str(JM_PORT), "--rest-port", str(REST_PORT),
            "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT_S)])
        client = RemoteCluster(self.jm_address, timeout=3.0)
        self._until(lambda: client.overview() is not None, "the JobManager to answer")
        for tm_id, ns, host in (("tm-a", "tm1", 11), ("tm-b", "tm2", 12)):
            self.spawn(tm_id, ns, [
                "taskmanager", "--jobmanager", self.jm_address, "--slots", "1",
                "--bind", self.addr(host), "--advertise", self.addr(host),
                "--data-port", str(DATA_PORT), "--id", tm_id])
        self._until(lambda: len(client.overview()["taskmanagers"]) == 2,
                    "both TaskManagers to register")

    def _until(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise AssertionError(f"{', '.join(dead)} exited while waiting for {what}\n{self.log_tails()}")
            try:
                if ready():
                    return
            except FlowSQLError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n{self.log_tails()}")
            time.sleep(0.2)

    def log_tails(self, lines: int = 30) -> str:
        out = []
        for name, path in self.logs.items():
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                text = []
            out.append(f"--- {name} ({path}) ---\n" + "\n".join(text))
        return "\n".join(out)

    def teardown(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10.0
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5.0)
        for ns in reversed(self.namespaces):  # the bridge namespace last: its veths go with it
            _ip("netns", "del", ns, check=False)


@pytest.fixture
def netns_cluster(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("the `ip` command (iproute2) is not installed")
    prefix = f"fsq{os.getpid() % 100000:05d}{random.randrange(16**3):03x}"
    probe = _ip("netns", "add", f"{prefix}-probe", check=False)
    if probe.returncode != 0:
        pytest.skip(f"`ip netns add` failed: {probe.stderr.strip()}")
    _ip("netns", "del", f"{prefix}-probe", check=False)
    c = NetnsCluster(prefix, _free_octet(), tmp_path / "netns-cluster")
    try:
        c.build()
        c.start()
        yield c
    finally:
        c.teardown()


def _window_input(directory: Path) -> dict[tuple[int, str], tuple[int, int]]:
    """Two CSV files (one per source subtask) of bids with fixed timestamps over one hour;
    returns the expected (count, sum of price) per (auction, 10-minute window start)."""
    directory.mkdir(parents=True)
    rng = random.Random(11)
    start = datetime(2024, 1, 1, 12, 0, 0)
    expected: dict[tuple[int, str], list[int]] = {}
    for part in range(2):
        lines = []
        for i in range(3000):
            ts = start + timedelta(seconds=i * 1.2 + part * 0.5)
            auction, price = rng.randint(1, 7), rng.randint(1, 1000)
            lines.append(f"{auction},{price},{ts:%Y-%m-%d %H:%M:%S.%f}"[:-3])
            window = ts.replace(minute=ts.minute - ts.minute % 10, second=0, microsecond=0)
            acc = expected.setdefault((auction, f"{window:%Y-%m-%d %H:%M:%S}"), [0, 0])
            acc[0] += 1
            acc[1] += price
        (directory / f"part-{part}.csv").write_text("\n".join(lines) + "\n")
    return {k: (n, s) for k, (n, s) in expected.items()}


WINDOW_SQL = (
    "SELECT auction, window_start, COUNT(*) AS n, SUM(price) AS s FROM TABLE(TUMBLE(TABLE bid, "
    "DESCRIPTOR(ts), INTERVAL '10' MINUTE)) GROUP BY auction, window_start, window_end"
)


def _session(address: str | None, parallelism: int):
    from flowsql.session import Session

    s = Session()
    if address is None:
        s.config.set("execution.target", "local")
    else:
        s.config.set("execution.target", "remote")
        s.config.set("jobmanager.address", address)
    s.config.set("parallelism.default", str(parallelism))
    return s


def _rows(table) -> list[tuple[int, str, int, int]]:
    return sorted((r["auction"], f"{r['window_start']:%Y-%m-%d %H:%M:%S}", r["n"], r["s"])
                  for r in table.to_pylist())


def test_window_query_across_namespaces_matches_embedded(netns_cluster, tmp_path):
    c = netns_cluster
    client = RemoteCluster(c.jm_address)
    tms = {t["tm_id"]: t for t in client.overview()["taskmanagers"]}
    assert {t: (v["host"], v["data_port"]) for t, v in tms.items()} == {
        "tm-a": (c.addr(11), DATA_PORT), "tm-b": (c.addr(12), DATA_PORT)}

    expected = _window_input(tmp_path / "bids")
    remote = _session(c.jm_address, parallelism=2)
    # the watermark trails by a day: no row is late however the two files interleave
    remote.execute_one(
        "CREATE TABLE bid (auction BIGINT, price BIGINT, ts TIMESTAMP(3), "
        "WATERMARK FOR ts AS ts - INTERVAL '1' DAY) WITH ('connector' = 'filesystem', "
        f"'path' = '{tmp_path / 'bids'}', 'format' = 'csv')")
    on_cluster = _rows(remote.execute_one(WINDOW_SQL).table)
    embedded = _rows(_session(None, parallelism=1).execute_one(WINDOW_SQL).table)

    assert on_cluster == embedded
    assert on_cluster == sorted((a, w, n, s) for (a, w), (n, s) in expected.items())
    jobs = client.list_jobs()
    assert [j.state for j in jobs] == ["FINISHED"], c.log_tails()


def test_link_down_fails_the_job_naming_the_taskmanager(netns_cluster):
    c = netns_cluster
    client = RemoteCluster(c.jm_address)
    s = _session(c.jm_address, parallelism=2)
    s.execute_one(
        "CREATE TABLE src (k INT, v BIGINT, ts TIMESTAMP(3), "
        "WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', "
        "'rows-per-second' = '200', 'fields.k.min' = '1', 'fields.k.max' = '20')")
    s.execute_one("CREATE TABLE out (k INT, window_start TIMESTAMP(3), n BIGINT) "
                  "WITH ('connector' = 'blackhole')")
    job_id = s.execute_one(
        "INSERT INTO out SELECT k, window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE src, "
        "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end").job_id

    # running on both TaskManagers (one slot each, parallelism 2), records flowing
    deadline = time.monotonic() + 30.0
    while True:
        info = client.job(job_id)
        busy = [t["tm_id"] for t in client.overview()["taskmanagers"] if t["free_slots"] == 0]
        flowing = info.state == "RUNNING" and any(
            m.records_out > 0 for m in client.metrics(job_id).values())
        if flowing and sorted(busy) == ["tm-a", "tm-b"]:
            break
        assert info.state in ("CREATED", "RUNNING"), (info, client.error(job_id), c.log_tails())
        assert time.monotonic() < deadline, (info, busy, c.log_tails())
        time.sleep(0.2)
    time.sleep(1.0)  # a few windows' worth of rows across the link

    c.link_down("tm1")
    cut = time.monotonic()
    while (state := client.job(job_id).state) not in ("FAILED", "FINISHED", "CANCELED"):
        assert time.monotonic() - cut < HEARTBEAT_TIMEOUT_S + 30.0, (state, c.log_tails())
        time.sleep(0.1)
    elapsed = time.monotonic() - cut
    print(f"job {job_id} FAILED {elapsed:.2f} s after tm-a's link went down")

    assert state == "FAILED", c.log_tails()
    assert elapsed < HEARTBEAT_TIMEOUT_S + FAILED_SLACK_S, (elapsed, c.log_tails())
    error, _ = client.error(job_id)
    assert error is not None
    assert "tm-a" in error.message and f"{c.addr(11)}:{DATA_PORT}" in error.message, error.message
    assert "tm-b" not in error.message, error.message

    # tm-b is still registered, and its tasks were cancelled (its slot is free again)
    tms = {t["tm_id"]: t for t in client.overview()["taskmanagers"]}
    assert {k: t["state"] for k, t in tms.items()} == {"tm-a": "LOST", "tm-b": "RUNNING"}
    assert tms["tm-b"]["free_slots"] == 1
