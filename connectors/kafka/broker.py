"""A local, single-node Apache Kafka broker (KRaft combined mode) for tests and ``flowsql dev kafka``.

Contract:
- :func:`ensure_jars` returns the folder of the broker's jars (Kafka 4.4.0 and a log4j slf4j
  binding, listed in ``broker-pom.xml`` beside this file). The folder is
  ``$FLOWSQL_KAFKA_LIB`` when set, else ``<repository>/.cache/kafka/lib``; when it holds no
  jars they are fetched once with ``mvn dependency:copy-dependencies`` (Maven Central), which
  is what ``make kafka`` runs too. A failed fetch raises ``ConnectorError`` with mvn's output.
- :func:`start` starts one broker and returns a :class:`Broker` once it serves metadata:
  1. a working folder (``dir``, or a new temporary one) gets ``server.properties``, a log4j2
     config and the KRaft storage, formatted with ``kafka.tools.StorageTool format``;
  2. the JVM is started DIRECTLY (``java -Xmx512m -cp <jars> kafka.Kafka server.properties``),
     so the recorded pid is the broker's own; stdout/stderr and log4j go to ``broker.log``; on
     Linux the JVM gets SIGTERM if the starting process dies first (``PR_SET_PDEATHSIG``);
  3. ``process.roles=broker,controller`` with a controller quorum of itself, PLAINTEXT
     listeners on free 127.0.0.1 ports (or the given broker port), replication factor 1 for
     the offsets and transaction-state topics (a single node needs it: without it group joins
     and ``init_transactions`` time out), auto topic creation off;
  4. it waits until an admin client lists the cluster's metadata (``timeout`` seconds; the
     broker is killed and ``ConnectorError`` with the log's tail is raised if it does not).
- :meth:`Broker.stop` stops it by pid: SIGTERM, then SIGKILL after ``grace`` seconds; it is
  idempotent. A temporary working folder is removed after the stop.
- :func:`restart` starts a stopped broker again on the same ports and folder (its topics,
  offsets and transaction state kept); the folder must not be temporary (pass ``dir``).
- :func:`create_topics` creates topics (``name`` or ``name:partitions``) on a running broker.
- Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from flowsql.errors import ConnectorError

POM = Path(__file__).with_name("broker-pom.xml")
REPO_ROOT = Path(__file__).resolve().parents[2]
HEAP = "-Xmx512m"

_LOG4J = """\
Configuration:
  Appenders:
    File:
      name: file
      fileName: "{log}"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: file
"""


def lib_dir() -> Path:
    """Where the broker's jars live (``$FLOWSQL_KAFKA_LIB`` or ``.cache/kafka/lib``)."""
    env = os.environ.get("FLOWSQL_KAFKA_LIB")
    return Path(env) if env else REPO_ROOT / ".cache" / "kafka" / "lib"


def ensure_jars(target: Path | None = None) -> Path:
    """The jar folder, fetched with Maven when it holds no jars yet (module contract)."""
    target = target or lib_dir()
    if any(target.glob("kafka_2.13-*.jar")):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ConnectorError(
            "the Kafka broker's jars are missing and Maven (mvn) is not installed",
            hint=f"install Maven, or put the jars of {POM.name} into {target}",
        )
    staging = target.with_name(target.name + f".part-{uuid.uuid4().hex[:8]}")
    cmd = [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
           f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConnectorError("fetching the Kafka broker's jars failed: "
                             + (proc.stdout + proc.stderr)[-2000:])
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(target)  # atomic: a concurrent fetch either wins or finds the folder
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    """A running broker: its bootstrap address, JVM pid, working folder and log file."""

    bootstrap: str
    pid: int
    workdir: Path
    log: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    temporary: bool = False
    controller_port: int = 0

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, grace: float = 15.0) -> str:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns how it ended."""
        how = "not running"
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            how = "stopped"
            deadline = time.monotonic() + grace
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.alive():
                os.kill(self.pid, signal.SIGKILL)
                how = "killed"
            if self.process is not None:
                self.process.wait(timeout=10)
        if self.temporary:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return how

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _properties(workdir: Path, port: int, controller_port: int) -> str:
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={workdir / 'data'}",
        "num.partitions=1",
        "auto.create.topics.enable=false",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=4",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "log.flush.interval.messages=9223372036854775807",
        "",
    ])


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java:
        raise ConnectorError("Java is not installed: the local Kafka broker needs a JRE (17+)")
    return java


def restart(broker: Broker, timeout: float = 60.0) -> Broker:
    """Start a stopped broker again: same ports, same folder (module contract)."""
    if broker.temporary:
        raise ConnectorError("a broker in a temporary folder cannot be restarted (its data is gone)")
    if broker.alive():
        raise ConnectorError(f"the Kafka broker (pid {broker.pid}) is still running")
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    return start(port=port, controller_port=broker.controller_port, dir=broker.workdir,
                 timeout=timeout)


def start(*, port: int = 0, dir: Path | str | None = None, timeout: float = 60.0,
          controller_port: int = 0) -> Broker:
    """Start a broker and wait until it serves metadata (module contract, steps 1-4)."""
    jars = ensure_jars()
    classpath = str(jars / "*")
    temporary = dir is None
    workdir = Path(tempfile.mkdtemp(prefix="flowsql-kafka-")) if dir is None else Path(dir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    controller_port = controller_port or free_port()
    log = workdir / "broker.log"
    props = workdir / "server.properties"
    # 1. configuration and KRaft storage (reformatting an existing folder is skipped)
    props.write_text(_properties(workdir, port, controller_port))
    log4j = workdir / "log4j2.yaml"
    log4j.write_text(_LOG4J.format(log=log))
    java = _java()
    jvm = [java, HEAP, f"-Dlog4j2.configurationFile={log4j}", "-cp", classpath]
    formatted = (workdir / "data" / "meta.properties").exists()  # a restart: keep its data
    fmt = subprocess.CompletedProcess([], 0, "", "") if formatted else subprocess.run(
        [*jvm, "kafka.tools.StorageTool", "format", f"--cluster-id={_cluster_id()}",
         f"--config={props}", "--ignore-formatted"],
        capture_output=True, text=True, timeout=120,
    )
    if fmt.returncode != 0:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
        raise ConnectorError("formatting the Kafka storage failed: " + (fmt.stdout + fmt.stderr)[-2000:])
    # 2. the broker's own JVM
    with open(log, "ab") as out:
        process = subprocess.Popen([*jvm, "kafka.Kafka", str(props)], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=_die_with_parent)
    broker = Broker(f"127.0.0.1:{port}", process.pid, workdir, log, process, temporary,
                    controller_port)
    # 4. ready when the admin client lists the cluster's metadata
    try:
        wait_ready(broker, timeout)
    except BaseException:
        broker.stop(grace=5)
        raise
    return broker


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (Linux
    prctl PR_SET_PDEATHSIG), so a killed test run or CLI never leaves a broker behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _cluster_id() -> str:
    """A random KRaft cluster id (base64 of 16 bytes; like Kafka's own, never starting with '-')."""
    import base64

    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def wait_ready(broker: Broker, timeout: float) -> None:
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 0})
    while time.monotonic() < deadline:
        if not broker.alive():
            raise ConnectorError("the Kafka broker exited while starting:\n" + broker.log_tail())
        try:
            md = admin.list_topics(timeout=1.0)
            if md.brokers:
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise ConnectorError(f"the Kafka broker did not start within {timeout:.0f} s:\n" + broker.log_tail())


def create_topics(bootstrap: str, specs: list[str], timeout: float = 20.0) -> list[str]:
    """Create topics given as ``name`` or ``name:partitions`` (replication factor 1); returns
    their names. An existing topic is an error naming it."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    topics = []
    for spec in specs:
        name, _, count = spec.partition(":")
        if not name or (count and not count.isdigit()):
            raise ConnectorError(f"bad topic '{spec}': expected NAME or NAME:PARTITIONS")
        topics.append(NewTopic(name, int(count or 1), 1))
    if not topics:
        return []
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(topics, operation_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            raise ConnectorError(f"cannot create topic '{name}': {exc.args[0].str()}") from None
    return [t.topic for t in topics]
