"""What the REST API reads: a :class:`ClusterView` over a JobManager and its TaskManagers.

Contract:
- The REST app (:func:`flowsql.runtime.rest.app.create_app`) only ever talks to a
  ``ClusterView``. The :class:`~flowsql.runtime.jobmanager.jobmanager.JobManager` is one,
  in a JobManager process and in the embedded MiniCluster (``cluster.jobmanager``) alike.
- Every method is called from the web server's worker threads, concurrently with the job
  threads: implementations must be thread-safe and must not block for long (``cancel``
  with ``wait=False`` returns at once).
- Unknown job ids raise :class:`flowsql.errors.ExecutionError` (``"unknown job id ..."``);
  the REST layer turns that into 404.
- ``metrics(job_id)`` maps *every* operator id of the job's graph to its
  :class:`~flowsql.operators.base.OperatorMetrics`, summed over subtasks: ``records_in``,
  ``records_out``, ``late_records_dropped`` and optional ``extra`` keys — ``"watermark"``
  (int epoch ms, the minimum over subtasks; absent when unknown), ``"busy_ms"`` and
  ``"backpressured_ms"`` (cumulative ms, summed over subtasks), ``"channel_fill"`` (0..1,
  how full the operator's input channels are), ``"credits"`` (free buffer credits).
- ``JobInfo`` may carry an optional ``reason`` (why a job waits in CREATED); readers use
  ``getattr(info, "reason", None)``.
- Optional methods (the JobManager has them; a view without them shows no checkpoints and
  cannot stop jobs with a savepoint): ``checkpoint_stats(job_id)``, ``job_config(job_id)``,
  ``stop_with_savepoint(job_id, directory, drain=False)``,
  ``trigger_savepoint(job_id, directory)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from flowsql.errors import ExecutionError
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import JobGraph
from flowsql.runtime.jobmanager.jobmanager import TM_LOST, TM_RUNNING, JobInfo, TaskManagerInfo

__all__ = ["TM_LOST", "TM_RUNNING", "ClusterView", "TaskManagerInfo"]


@runtime_checkable
class ClusterView(Protocol):
    def list_jobs(self) -> list[JobInfo]:
        """Every job the JobManager knows, oldest first."""
        ...

    def job(self, job_id: str) -> JobInfo:
        """One job; raises ExecutionError("unknown job id ...") when unknown."""
        ...

    def graph(self, job_id: str) -> JobGraph:
        """The job's physical graph (operators, edges, chains)."""
        ...

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        """Per operator id, summed over subtasks (see the module contract for ``extra``)."""
        ...

    def error(self, job_id: str) -> tuple[ExecutionError | None, str | None]:
        """The job's error and its traceback text (both None while it has not failed)."""
        ...

    def cancel(self, job_id: str, *, wait: bool = False) -> JobInfo:
        """Start cancelling a job (no-op for a job in a final state); returns its info."""
        ...

    def task_managers(self) -> list[TaskManagerInfo]:
        """Every registered TaskManager, including LOST ones."""
        ...
