"""The embedded MiniCluster: one JobManager and N TaskManagers in this process.

Contract:
- ``MiniCluster(task_managers=1, slots_per_task_manager=256)`` by default: enough slots for
  interactive use. Tests use more TaskManagers and fewer slots to exercise scheduling.
- It is the cluster's own JobManager and TaskManager code with in-process gateways
  (:mod:`flowsql.runtime.gateways`) and in-process channels: the TaskManagers share one gate
  registry, so every channel stays in memory. Its slots are fixed: a job needing more slots
  than it has fails at submission.
- The cluster delegates to its :class:`~flowsql.runtime.jobmanager.jobmanager.JobManager`
  (``submit``, ``wait``, ``result``, ``cancel``, ``list_jobs``, ``metrics``, ``totals``);
  :meth:`MiniCluster.execute` submits and waits, raising the job's error.
- :func:`local_cluster` is the process-wide cluster the session and shell share; it is
  created on first use and shut down at interpreter exit (running jobs cancelled, task
  threads joined).
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Mapping
from typing import Any

from flowsql.operators.base import OperatorMetrics
from flowsql.operators.registry import OperatorRegistry, default_registry
from flowsql.physical.graph import JobGraph
from flowsql.runtime.gateways import LocalJobManagerGateway, LocalTaskManagerGateway
from flowsql.runtime.jobmanager.jobmanager import JobInfo, JobManager, JobTotals
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.taskmanager.channels import DEFAULT_CAPACITY
from flowsql.runtime.taskmanager.taskmanager import TaskManager

DEFAULT_SLOTS = 256


class MiniCluster:
    def __init__(
        self,
        task_managers: int = 1,
        slots_per_task_manager: int = DEFAULT_SLOTS,
        *,
        registry: OperatorRegistry | None = None,
        channel_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.registry = registry or default_registry()
        gates = GateRegistry()
        ids = frozenset(f"tm-{i}" for i in range(task_managers))
        self.task_managers = [
            TaskManager(f"tm-{i}", slots_per_task_manager, self.registry, gates=gates, local_peers=ids)
            for i in range(task_managers)
        ]
        self.jobmanager = JobManager(channel_capacity=channel_capacity, fixed_slots=True,
                                     gates=gates)
        gateway = LocalJobManagerGateway(self.jobmanager)
        for tm in self.task_managers:
            number = self.jobmanager.register_task_manager(
                tm.tm_id, tm.num_slots, LocalTaskManagerGateway(tm), host="127.0.0.1")
            tm.connect(gateway, number)

    def submit(
        self,
        graph: JobGraph,
        *,
        resources: Mapping[str, Any] | None = None,
        config: Mapping[str, str] | None = None,
    ) -> str:
        return self.jobmanager.submit(graph, resources=resources, config=config)

    def execute(
        self,
        graph: JobGraph,
        *,
        resources: Mapping[str, Any] | None = None,
        config: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> JobInfo:
        """Submit and wait; raises ExecutionError / QueryCancelled unless it FINISHED."""
        job_id = self.submit(graph, resources=resources, config=config)
        return self.jobmanager.result(job_id, timeout)

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo:
        return self.jobmanager.wait(job_id, timeout)

    def result(self, job_id: str, timeout: float | None = None) -> JobInfo:
        return self.jobmanager.result(job_id, timeout)

    def cancel(self, job_id: str, *, wait: bool = True, timeout: float | None = 10.0) -> JobInfo:
        return self.jobmanager.cancel(job_id, wait=wait, timeout=timeout)

    def stop_with_savepoint(self, job_id: str, directory: str, timeout: float = 60.0,
                            drain: bool = False) -> str:
        return self.jobmanager.stop_with_savepoint(job_id, directory, timeout, drain=drain)

    def list_jobs(self) -> list[JobInfo]:
        return self.jobmanager.list_jobs()

    def job(self, job_id: str) -> JobInfo:
        return self.jobmanager.job(job_id)

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        return self.jobmanager.metrics(job_id)

    def totals(self, job_id: str) -> JobTotals:
        return self.jobmanager.totals(job_id)

    @property
    def free_slots(self) -> int:
        return sum(tm.free_slots for tm in self.task_managers)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Cancel running jobs, then wait for every task thread to return.

        Joining matters at interpreter exit: a daemon task thread still unwinding while Python
        finalizes is stopped wherever it next takes the GIL, and when that is inside a C++
        destructor (pyarrow frees buffers that wrap Python objects) the process aborts
        ("terminate called without an active exception")."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.jobmanager.shutdown(timeout)
        for tm in self.task_managers:
            left = 3600.0 if deadline is None else max(0.0, deadline - time.monotonic())
            tm.join_all(left)

    def __enter__(self) -> MiniCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


_cluster: MiniCluster | None = None
_cluster_lock = threading.Lock()


def local_cluster() -> MiniCluster:
    """The process-wide MiniCluster (created on first use)."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            _cluster = MiniCluster()
            atexit.register(_cluster.shutdown, 2.0)
        return _cluster
