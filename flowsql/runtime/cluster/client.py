"""The client side of a cluster: what a shell or session uses to reach a JobManager process.

Contract:
- :class:`RemoteCluster` has the interface of the embedded
  :class:`~flowsql.runtime.local.MiniCluster` (``submit``, ``execute``, ``wait``, ``result``,
  ``cancel``, ``list_jobs``, ``job``, ``metrics``, ``totals``, ``error``), over Flight control
  calls to the JobManager at ``address`` (``host:port``).
- ``submit`` sends the JobGraph as JSON. The only resource it accepts is the result a SELECT
  is read into (a :class:`~flowsql.operators.sink.CollectResult`): the JobManager then hosts a
  result gate for the job, and a reader thread here streams its batches (Flight DoGet) into
  that result, then hands it the job's final state (``on_job_end``). A client that stops
  reading (``abort``) ends the stream. Any other in-process resource is refused with a
  PlanError: live objects do not cross processes.
- Jobs run in the cluster, not in this process: they outlive the client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import pyarrow.flight as flight

from flowsql.errors import ExecutionError, FlowSQLError, PlanError, QueryCancelled
from flowsql.operators.base import OperatorMetrics
from flowsql.operators.sink import CollectResult, ResultAbandoned
from flowsql.physical import serde
from flowsql.physical.graph import JobGraph
from flowsql.runtime.cluster.wire import error_from_data, info_from_data, totals_from_data
from flowsql.runtime.jobmanager.jobmanager import JobInfo, JobTotals
from flowsql.runtime.network.client import ControlClient

log = logging.getLogger("flowsql.runtime")
FINAL = ("FINISHED", "FAILED", "CANCELED")


def location_of(address: str) -> str:
    return address if "://" in address else f"grpc+tcp://{address}"


class RemoteCluster:
    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.address = address
        self.location = location_of(address)
        self.client = ControlClient(self.location, timeout=timeout)

    def _call(self, action: str, payload: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        try:
            return self.client.call(action, payload, timeout=timeout)
        except ExecutionError as e:
            if e.message.startswith("cannot reach") and not e.hint:
                e.hint = (f"is a JobManager running at {self.address}? `flowsql cluster start` "
                          "starts a local cluster; `flowsql cluster status` shows it")
            raise

    # -- jobs --------------------------------------------------------------------------------
    def submit(
        self,
        graph: JobGraph,
        *,
        resources: Mapping[str, Any] | None = None,
        config: Mapping[str, str] | None = None,
    ) -> str:
        resources = dict(resources or {})
        results = [r for r in resources.values() if isinstance(r, CollectResult)]
        others = [k for k, r in resources.items() if not isinstance(r, CollectResult)]
        if others or len(results) > 1:
            raise PlanError("in-process job resources cannot be sent to a cluster: "
                            + ", ".join(sorted(others or resources)))
        reply = self._call("submit", {"graph": serde.to_dict(graph),
                                            "config": dict(config or {}),
                                            "result": bool(results)})
        job_id = str(reply["job_id"])
        if results:
            threading.Thread(target=self._read_results, args=(job_id, results[0]),
                             name=f"flowsql-results {job_id}", daemon=True).start()
        return job_id

    def _read_results(self, job_id: str, result: CollectResult) -> None:
        """Stream the job's rows into ``result``, then give it the job's final state."""
        result.bind(1)
        writer = result.writer()
        try:
            reader = flight.connect(self.location).do_get(flight.Ticket(f"{job_id}/result".encode()))
            for chunk in reader:
                writer.write(chunk.data)
            writer.finish()
        except ResultAbandoned:
            return
        except (flight.FlightError, OSError) as e:
            log.info("result stream of %s ended: %s", job_id, e)
        state, error = self._final(job_id)
        result.on_job_end(state, error)

    def _final(self, job_id: str) -> tuple[str, FlowSQLError | None]:
        while True:
            try:
                info = self.wait(job_id, 5.0)
            except FlowSQLError as e:
                return "FAILED", e
            if info.state in FINAL:
                error = self.error(job_id)[0] if info.state == "FAILED" else None
                return info.state, error

    def execute(self, graph: JobGraph, *, resources: Mapping[str, Any] | None = None,
                config: Mapping[str, str] | None = None, timeout: float | None = None) -> JobInfo:
        return self.result(self.submit(graph, resources=resources, config=config), timeout)

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 5.0 if deadline is None else max(0.0, deadline - time.monotonic())
            info = info_from_data(self._call("wait", {"job_id": job_id, "timeout": min(left, 5.0)},
                                                   timeout=15.0))
            if info.state in FINAL or (deadline is not None and time.monotonic() >= deadline):
                return info

    def result(self, job_id: str, timeout: float | None = None) -> JobInfo:
        info = self.wait(job_id, timeout)
        if info.state == "FAILED":
            raise self.error(job_id)[0] or ExecutionError("the job failed")
        if info.state == "CANCELED":
            raise QueryCancelled(f"job {job_id} was cancelled")
        if info.state != "FINISHED":
            raise ExecutionError(f"job {job_id} did not finish within {timeout} s (state {info.state})")
        return info

    def cancel(self, job_id: str, *, wait: bool = True, timeout: float | None = 10.0) -> JobInfo:
        info = info_from_data(self._call("cancel", {"job_id": job_id, "wait": False}))
        if wait and info.state not in FINAL:
            info = self.wait(job_id, timeout)
        return info

    def stop_with_savepoint(self, job_id: str, directory: str, timeout: float = 60.0,
                            drain: bool = False) -> str:
        return str(self._call("stop_with_savepoint", {
            "job_id": job_id, "directory": directory, "timeout": timeout,
            "drain": drain})["path"])

    def list_jobs(self) -> list[JobInfo]:
        return [info_from_data(d) for d in self._call("jobs", {})["jobs"]]

    def job(self, job_id: str) -> JobInfo:
        return info_from_data(self._call("job", {"job_id": job_id}))

    def error(self, job_id: str) -> tuple[ExecutionError | None, str | None]:
        reply = self._call("error", {"job_id": job_id})
        return error_from_data(reply.get("error")), reply.get("details")

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        reply = self._call("metrics", {"job_id": job_id})
        return {op: OperatorMetrics(m["records_in"], m["records_out"], m["late_records_dropped"],
                                    dict(m.get("extra") or {}))
                for op, m in reply["operators"].items()}

    def totals(self, job_id: str) -> JobTotals:
        return totals_from_data(self._call("totals", {"job_id": job_id}))

    def overview(self) -> dict[str, Any]:
        return self._call("overview", {})

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Nothing to stop here: the jobs belong to the cluster."""
