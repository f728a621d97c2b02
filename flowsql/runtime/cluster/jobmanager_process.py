"""``flowsql jobmanager``: the JobManager as a long-running process.

Contract:
- One Arrow Flight server on ``bind:port`` carries the control plane (actions below, JSON
  bodies versioned by :mod:`flowsql.runtime.network.server`) and the result gates of remote
  SELECTs (collect sinks write into them with DoPut; the client reads with DoGet on ticket
  ``"<job>/result"``). The REST API, web dashboard and ``/metrics`` are served on
  ``bind:rest_port`` (:mod:`flowsql.runtime.rest`) when a REST port is given.
- Actions: from TaskManagers ``register`` {tm_id, slots, host, data_port, location} ->
  {registration, heartbeat_interval, heartbeat_timeout}, ``heartbeat`` {tm_id, registration, metrics, process}
  -> {status, cancel}, ``task_state`` {tm_id, registration, task_id, state, error, details,
  metrics}, ``checkpoint_ack`` {tm_id, registration, task_id, checkpoint_id, attempt, size,
  error}; from clients ``submit`` {graph, config, result} -> {job_id}, ``cancel`` {job_id,
  wait}, ``stop_with_savepoint`` {job_id, directory, timeout, drain} -> {path}, ``jobs``, ``job``, ``wait`` {job_id, timeout <= 5 s}, ``metrics``, ``totals``,
  ``error``, ``overview``.
- Jobs are kept under ``<home>/jobmanager/jobs`` (:mod:`flowsql.runtime.jobmanager.store`), so a
  restarted JobManager lists them.
- :meth:`JobManagerProcess.stop` (SIGTERM/SIGINT) cancels the running jobs, waits at most a
  deadline for their tasks, and stops the servers.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from flowsql.physical import serde
from flowsql.runtime.cluster.remote_gateways import RemoteTaskManagerGateway
from flowsql.runtime.cluster.wire import error_to_data, info_to_data, report_from_data
from flowsql.runtime.descriptors import CheckpointAck
from flowsql.runtime.jobmanager.jobmanager import JobManager
from flowsql.runtime.jobmanager.store import JobStore
from flowsql.runtime.network.exchange import ResultStreams
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.network.server import FlowFlightServer

log = logging.getLogger("flowsql.runtime")
DEFAULT_PORT = 6123
DEFAULT_REST_PORT = 8081
MAX_WAIT_S = 5.0


class JobManagerProcess:
    def __init__(
        self,
        home: Path,
        *,
        bind: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        rest_port: int | None = DEFAULT_REST_PORT,
        advertise: str | None = None,
        heartbeat_interval: float = 1.0,
        heartbeat_timeout: float = 10.0,
    ) -> None:
        self.home = Path(home)
        self.bind = bind
        self.heartbeat_interval = heartbeat_interval
        self.gates = GateRegistry()
        self.server = FlowFlightServer(bind, port, gates=self.gates, actions=self._actions(),
                                       streams=self._stream)
        self.port = self.server.port
        host = advertise or bind
        self.location = f"grpc+tcp://{host}:{self.port}"
        self.jobmanager = JobManager(
            location=self.location, gates=self.gates, heartbeat_timeout=heartbeat_timeout,
            store=JobStore(self.home / "jobmanager" / "jobs"),
        )
        self._results = ResultStreams(self.gates)
        self.rest_port = rest_port
        self._rest: Any = None
        self._stopped = threading.Event()

    # -- serving -----------------------------------------------------------------------------
    def start(self) -> None:
        self.server.serve_in_thread()
        if self.rest_port is not None:
            from flowsql.runtime.rest.app import create_app
            from flowsql.runtime.rest.server import RestServer

            self._rest = RestServer(create_app(self.jobmanager), self.bind, self.rest_port).start()
            self.rest_port = self._rest.port
        log.info("JobManager listening on %s (REST port %s)", self.location, self.rest_port)

    def wait(self) -> None:
        self._stopped.wait()

    def stop(self, timeout: float = 5.0) -> None:
        if self._stopped.is_set():
            return
        self.jobmanager.shutdown(timeout=timeout)
        if self._rest is not None:
            self._rest.stop()
        self.server.shutdown(timeout=2.0)
        self._stopped.set()

    def _stream(self, ticket: str) -> Any:
        return self._results.serve(ticket)

    # -- actions -----------------------------------------------------------------------------
    def _actions(self) -> dict[str, Any]:
        return {
            "register": self._register,
            "heartbeat": self._heartbeat,
            "task_state": self._task_state,
            "checkpoint_ack": lambda p: self.jobmanager.on_checkpoint_ack(
                CheckpointAck.from_dict(p)) or {},
            "submit": self._submit,
            "cancel": self._cancel,
            "stop_with_savepoint": lambda p: {"path": self.jobmanager.stop_with_savepoint(
                str(p["job_id"]), str(p["directory"]), min(float(p.get("timeout", 60)), 300),
                drain=bool(p.get("drain")))},
            "jobs": lambda p: {"jobs": [info_to_data(i) for i in self.jobmanager.list_jobs()]},
            "job": lambda p: info_to_data(self.jobmanager.job(p["job_id"])),
            "wait": self._wait,
            "metrics": self._metrics,
            "totals": lambda p: dict(self.jobmanager.totals(p["job_id"]).__dict__),
            "error": self._error,
            "overview": self._overview,
        }

    def _register(self, p: dict[str, Any]) -> dict[str, Any]:
        tm_id = str(p["tm_id"])
        jm = self.jobmanager
        gateway = RemoteTaskManagerGateway(
            str(p["location"]), lambda task_ids: jm.reported_metrics(tm_id, task_ids))
        number = jm.register_task_manager(
            tm_id, int(p["slots"]), gateway, host=str(p.get("host", "")),
            data_port=int(p.get("data_port", 0)), location=str(p["location"]),
        )
        return {"registration": number, "heartbeat_interval": self.heartbeat_interval,
                "heartbeat_timeout": self.jobmanager.heartbeat_timeout}

    def _heartbeat(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.jobmanager.heartbeat(str(p["tm_id"]), int(p["registration"]),
                                         p.get("metrics") or {}, p.get("process") or {})

    def _task_state(self, p: dict[str, Any]) -> dict[str, Any]:
        self.jobmanager.on_task_state(report_from_data(p))
        return {}

    def _submit(self, p: dict[str, Any]) -> dict[str, Any]:
        graph = serde.from_dict(p["graph"])
        job_id = self.jobmanager.submit(graph, config=p.get("config") or {},
                                        result=bool(p.get("result")))
        return {"job_id": job_id}

    def _cancel(self, p: dict[str, Any]) -> dict[str, Any]:
        wait = bool(p.get("wait", True))
        info = self.jobmanager.cancel(str(p["job_id"]), wait=wait,
                                      timeout=min(float(p.get("timeout", MAX_WAIT_S)), MAX_WAIT_S))
        return info_to_data(info)

    def _wait(self, p: dict[str, Any]) -> dict[str, Any]:
        timeout = min(float(p.get("timeout", MAX_WAIT_S)), MAX_WAIT_S)
        return info_to_data(self.jobmanager.wait(str(p["job_id"]), timeout))

    def _metrics(self, p: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for op_id, m in self.jobmanager.metrics(str(p["job_id"])).items():
            out[op_id] = {"records_in": m.records_in, "records_out": m.records_out,
                          "late_records_dropped": m.late_records_dropped, "extra": m.extra}
        return {"operators": out}

    def _error(self, p: dict[str, Any]) -> dict[str, Any]:
        error, details = self.jobmanager.error(str(p["job_id"]))
        return {"error": error_to_data(error), "details": details}

    def _overview(self, p: dict[str, Any]) -> dict[str, Any]:
        tms = self.jobmanager.task_managers()
        return {"taskmanagers": [dict(t.__dict__) for t in tms],
                "slots_total": sum(t.slots for t in tms),
                "slots_free": sum(t.free_slots for t in tms)}

