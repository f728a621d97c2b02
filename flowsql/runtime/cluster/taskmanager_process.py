"""``flowsql taskmanager``: a TaskManager process that registers with a JobManager.

Contract:
1. It serves one Arrow Flight server on ``bind:data_port``: data channels from other
   processes (DoPut into the gates of its tasks) and the JobManager's ``deploy`` {task} and
   ``cancel`` {task_id} actions.
2. It registers its slots and its address (``advertise`` or ``bind``, and the actual port)
   with the JobManager, retrying until the JobManager answers.
3. Every heartbeat interval (the JobManager's answer to ``register``, with its heartbeat
   timeout) it sends a heartbeat
   carrying its running tasks' metrics and its RSS and CPU time. When the JobManager no
   longer knows this registration (it declared the TaskManager lost: fenced), every task
   still running here is cancelled and the TaskManager registers again with a new
   registration number. Tasks the JobManager lists in ``cancel`` are cancelled. When no
   heartbeat got through for longer than the heartbeat timeout, the JobManager is taken as
   lost: every task is cancelled (the JobManager fails their jobs on its side) and the
   TaskManager keeps trying to register.
4. Channels to other processes are :class:`~flowsql.runtime.network.exchange.FlightChannelWriter`
   streams that coalesce small batches (``RUNTIME_COALESCE_ROWS``); their errors name the
   peer TaskManager.
5. :meth:`TaskManagerProcess.stop` (SIGTERM/SIGINT) cancels every task, waits at most a
   deadline for them, and stops the server; it never waits for an unreachable peer.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.runtime.cluster.remote_gateways import RemoteJobManagerGateway
from flowsql.runtime.descriptors import TaskDeploymentDescriptor
from flowsql.runtime.network.client import ControlClient
from flowsql.runtime.network.exchange import RUNTIME_COALESCE_ROWS, FlightChannelWriter
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.network.server import FlowFlightServer
from flowsql.runtime.process_stats import process_stats
from flowsql.runtime.taskmanager.channels import ChannelWriter, Message
from flowsql.runtime.taskmanager.taskmanager import TaskManager

log = logging.getLogger("flowsql.runtime")
DEFAULT_DATA_PORT = 6124


class PeerChannelWriter(ChannelWriter):
    """A Flight channel whose errors name the TaskManager (or JobManager) at the other end."""

    def __init__(self, inner: FlightChannelWriter, peer: str, location: str) -> None:
        self.inner = inner
        self.peer = peer
        self.location = location

    def _named(self, e: ExecutionError) -> ExecutionError:
        where = self.location.split("://", 1)[-1]
        return ExecutionError(f"channel to {self.peer} ({where}) failed: {e.message}", hint=e.hint)

    def put(self, message: Message) -> None:
        try:
            self.inner.put(message)
        except ExecutionError as e:
            raise self._named(e) from e

    def close(self) -> None:
        try:
            self.inner.close()
        except ExecutionError as e:
            raise self._named(e) from e

    def abort(self) -> None:
        self.inner.abort()

    @property
    def credits(self) -> int:
        return self.inner.credits

    def flow_stats(self) -> tuple[int, int | None]:
        return self.inner.flow_stats()


class TaskManagerProcess:
    def __init__(
        self,
        jobmanager: str,
        *,
        slots: int = 1,
        bind: str = "127.0.0.1",
        data_port: int = DEFAULT_DATA_PORT,
        advertise: str | None = None,
        tm_id: str | None = None,
    ) -> None:
        self.gates = GateRegistry()
        self.server = FlowFlightServer(bind, data_port, gates=self.gates, actions={
            "deploy": self._deploy,
            "cancel": self._cancel,
            "trigger_checkpoint": lambda p: {"ok": self.tm.trigger_checkpoint(
                str(p["task_id"]), int(p["checkpoint_id"]), p.get("target"),
                bool(p.get("stop")), bool(p.get("drain")))},
            "commit_final": lambda p: {"committed": self.tm.commit_final(
                str(p["job_id"]), int(p["attempt"]))},
            "discard_final": lambda p: self.tm.discard_final(str(p["job_id"])) or {},
            "checkpoint_complete": lambda p: self.tm.notify_checkpoint_complete(
                [str(t) for t in p["task_ids"]], int(p["checkpoint_id"])) or {},
            "ping": lambda p: {"tm_id": self.tm.tm_id},
        })
        self.host = advertise or bind
        self.data_port = self.server.port
        self.location = f"grpc+tcp://{self.host}:{self.data_port}"
        self.tm = TaskManager(tm_id or f"tm-{uuid.uuid4().hex[:8]}", slots, gates=self.gates,
                              remote_writer=self._remote_writer)
        target = jobmanager if "://" in jobmanager else f"grpc+tcp://{jobmanager}"
        self.jm_client = ControlClient(target, timeout=5.0)
        self.jm_gateway = RemoteJobManagerGateway(self.jm_client)
        self.heartbeat_interval = 1.0
        self.heartbeat_timeout = 10.0
        self._last_ok = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.server.serve_in_thread()
        self._thread = threading.Thread(target=self._run, name="flowsql-taskmanager-heartbeat",
                                        daemon=True)
        self._thread.start()
        log.info("TaskManager %s serving on %s", self.tm.tm_id, self.location)

    def wait(self) -> None:
        self._stop.wait()

    def stop(self, timeout: float = 5.0) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self.tm.cancel_all()
        self.tm.join_all(timeout)
        self.server.shutdown(timeout=2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._register():
                continue
            while not self._stop.wait(self.heartbeat_interval):
                if not self._heartbeat():
                    break

    def _register(self) -> bool:
        try:
            reply = self.jm_client.call("register", {
                "tm_id": self.tm.tm_id, "slots": self.tm.num_slots, "host": self.host,
                "data_port": self.data_port, "location": self.location,
            })
        except FlowSQLError as e:
            log.info("JobManager not reachable yet: %s", e)
            self._stop.wait(min(1.0, self.heartbeat_interval))
            return False
        self.heartbeat_interval = float(reply.get("heartbeat_interval", 1.0))
        self.heartbeat_timeout = float(reply.get("heartbeat_timeout", 10.0))
        self._last_ok = time.monotonic()
        self.tm.connect(self.jm_gateway, int(reply["registration"]))
        log.info("registered with the JobManager as %s (registration %s)",
                 self.tm.tm_id, reply["registration"])
        return True

    def _heartbeat(self) -> bool:
        """One heartbeat; False when this TaskManager must register again."""
        try:
            reply = self.jm_client.call("heartbeat", {
                "tm_id": self.tm.tm_id, "registration": self.tm.registration,
                "metrics": self.tm.task_metrics(), "process": process_stats(),
            })
        except FlowSQLError as e:
            silent = time.monotonic() - self._last_ok
            log.warning("heartbeat to the JobManager failed (%.1f s without one): %s", silent, e)
            if silent > self.heartbeat_timeout:
                cancelled = self.tm.cancel_all()
                log.warning("JobManager lost: cancelled %d task(s); registering again",
                            len(cancelled))
                return False
            return True
        self._last_ok = time.monotonic()
        if reply.get("status") == "unknown":
            cancelled = self.tm.cancel_all()
            log.warning("the JobManager fenced %s; cancelled its %d stale task(s)",
                        self.tm.tm_id, len(cancelled))
            self.tm.join_all(5.0)
            return False
        for task_id in reply.get("cancel") or ():
            self.tm.cancel(task_id)
        return True

    # -- actions -----------------------------------------------------------------------------
    def _deploy(self, p: dict[str, Any]) -> dict[str, Any]:
        self.tm.deploy(TaskDeploymentDescriptor.from_dict(p["task"]))
        return {}

    def _cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"cancelled": self.tm.cancel(str(p["task_id"]))}

    def _remote_writer(self, location: str, gate: str, channel: int,
                       cancelled: threading.Event, peer: str) -> ChannelWriter:
        inner = FlightChannelWriter(location, gate, channel, cancelled=cancelled,
                                    coalesce_rows=RUNTIME_COALESCE_ROWS)
        return PeerChannelWriter(inner, peer, location)
