"""The JobManager: accepts JobGraphs, runs them on TaskManagers, tracks and cancels jobs.

Contract:
- :meth:`JobManager.submit` validates the graph, schedules one slot per subtask, wires
  channels, deploys the tasks and returns a job id; the job goes CREATED -> RUNNING
  (see :mod:`.states`). Not enough slots -> the job is recorded FAILED and ``ExecutionError``
  is raised.
- The job ends FINISHED when every task finished; when a task fails the job goes FAILING,
  every other task is cancelled, and it ends FAILED with the task's
  :class:`~flowsql.errors.ExecutionError` (naming the operator); :meth:`cancel` moves it
  CANCELLING -> CANCELED once every task stopped.
- :meth:`list_jobs` / :meth:`job` give :class:`JobInfo` (id, name, state, start/end time,
  error); :meth:`metrics` sums per-operator records in/out and late records over subtasks;
  :meth:`totals` gives the job-level :class:`JobTotals` (SHOW JOBS).
- Metrics are never double counted: records in/out per operator come only from the task's
  own counts (:attr:`Task.io`, one per operator of a chain), late records only from the
  operators' ``OperatorContext.metrics.late_records_dropped``; what operators themselves
  add to ``ctx.metrics.records_in/out`` is ignored here.
- Job resources (in-process objects such as a ``CollectResult``) are offered to the
  operators; on FAILING/CANCELLING the JobManager calls their ``abort()`` and at the end their
  ``on_job_end(state, error)`` when they define them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowsql.errors import ExecutionError, QueryCancelled
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import JobGraph
from flowsql.runtime.jobmanager.deployment import build_descriptors
from flowsql.runtime.jobmanager.scheduler import schedule
from flowsql.runtime.jobmanager.states import JobState, transition
from flowsql.runtime.taskmanager.channels import DEFAULT_CAPACITY, InProcessTransport, Transport
from flowsql.runtime.taskmanager.task import Task
from flowsql.runtime.taskmanager.taskmanager import TaskManager


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    name: str
    state: str
    start_time: float | None
    end_time: float | None
    error: str | None = None
    operator_id: str | None = None


@dataclass(frozen=True)
class JobTotals:
    """``records_in``: rows the sources emitted; ``records_out``: rows the sinks received (a
    late-data side output is not a sink: its rows are in ``late_records``);
    ``late_records``: rows window operators found late (dropped, or sent to the late-data
    sink), summed over operators and subtasks."""

    records_in: int = 0
    records_out: int = 0
    late_records: int = 0


@dataclass
class _Job:
    job_id: str
    graph: JobGraph
    resources: Mapping[str, Any]
    state: JobState = JobState.CREATED
    start_time: float | None = None
    end_time: float | None = None
    error: ExecutionError | None = None
    error_details: str | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    remaining: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def info(self) -> JobInfo:
        return JobInfo(
            job_id=self.job_id,
            name=self.graph.name,
            state=str(self.state),
            start_time=self.start_time,
            end_time=self.end_time,
            error=self.error.render() if self.error else None,
            operator_id=self.error.operator_id if self.error else None,
        )


class JobManager:
    def __init__(
        self,
        task_managers: Sequence[TaskManager],
        *,
        transport: Transport | None = None,
        channel_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if not task_managers:
            raise ValueError("a JobManager needs at least one TaskManager")
        self.task_managers = list(task_managers)
        self.transport = transport or InProcessTransport()
        self.channel_capacity = channel_capacity
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}

    # -- submission --------------------------------------------------------------------------
    def submit(
        self,
        graph: JobGraph,
        *,
        resources: Mapping[str, Any] | None = None,
        config: Mapping[str, str] | None = None,
    ) -> str:
        """Steps: (1) validate, (2) record CREATED, (3) wire tasks, (4) reserve slots,
        (5) RUNNING and deploy. Returns the job id."""
        graph.validate()  # 1
        job = _Job(uuid.uuid4().hex[:16], graph, dict(resources or {}))  # 2
        with self._lock:
            self._jobs[job.job_id] = job
            try:
                descriptors = build_descriptors(  # 3
                    job.job_id,
                    graph,
                    self.transport,
                    channel_capacity=self.channel_capacity,
                    resources=job.resources,
                    config=dict(config or {}),
                )
                placement = schedule([d.task_id for d in descriptors], self.task_managers)  # 4
            except ExecutionError as e:
                job.error = e
                self._end(job, JobState.FAILED)
                raise
            job.state = transition(job.state, JobState.RUNNING)  # 5
            job.start_time = time.time()
            job.remaining = len(descriptors)
            for desc in descriptors:
                job.tasks[desc.task_id] = placement[desc.task_id].deploy(desc, self._on_task_end)
        return job.job_id

    # -- task reports ------------------------------------------------------------------------
    def _on_task_end(
        self, task: Task, outcome: str, error: ExecutionError | None, details: str | None
    ) -> None:
        with self._lock:
            job = self._jobs[task.desc.job_id]
            job.remaining -= 1
            to_cancel: list[Task] = []
            if outcome == "FAILED" and job.state == JobState.RUNNING:
                job.error = error
                job.error_details = details
                job.state = transition(job.state, JobState.FAILING)
                to_cancel = [t for t in job.tasks.values() if t is not task]
            elif outcome == "CANCELED" and job.state == JobState.RUNNING:
                # A task stopped without a job-level cancel: treat as a failure of the job.
                job.error = ExecutionError(f"task {task.desc.name} was cancelled unexpectedly")
                job.state = transition(job.state, JobState.FAILING)
                to_cancel = [t for t in job.tasks.values() if t is not task]
            finished = job.remaining == 0
        if to_cancel:
            self._abort_resources(job)
            for t in to_cancel:
                t.cancel()
        if finished:
            final = {
                JobState.RUNNING: JobState.FINISHED,
                JobState.FAILING: JobState.FAILED,
                JobState.CANCELLING: JobState.CANCELED,
            }[job.state]
            self._end(job, final)

    def _end(self, job: _Job, final: JobState) -> None:
        with self._lock:
            job.state = transition(job.state, final)
            job.end_time = time.time()
            if job.start_time is None:
                job.start_time = job.end_time
        for resource in job.resources.values():
            hook = getattr(resource, "on_job_end", None)
            if callable(hook):
                hook(str(final), job.error)
        job.done.set()

    @staticmethod
    def _abort_resources(job: _Job) -> None:
        for resource in job.resources.values():
            hook = getattr(resource, "abort", None)
            if callable(hook):
                hook()

    # -- queries and control -----------------------------------------------------------------
    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ExecutionError(f"unknown job id '{job_id}'")
        return job

    def job(self, job_id: str) -> JobInfo:
        return self._job(job_id).info()

    def list_jobs(self) -> list[JobInfo]:
        with self._lock:
            jobs = list(self._jobs.values())
        return [j.info() for j in sorted(jobs, key=lambda j: (j.start_time or 0.0, j.job_id))]

    def error(self, job_id: str) -> tuple[ExecutionError | None, str | None]:
        """The job's error and its traceback text (for --verbose and logs)."""
        job = self._job(job_id)
        return job.error, job.error_details

    def cancel(self, job_id: str, *, wait: bool = True, timeout: float | None = 10.0) -> JobInfo:
        """Cancel a running job; returns its info (CANCELED once every task stopped)."""
        job = self._job(job_id)
        with self._lock:
            if job.state != JobState.RUNNING:
                return job.info()
            job.state = transition(job.state, JobState.CANCELLING)
            tasks = list(job.tasks.values())
        self._abort_resources(job)
        for t in tasks:
            t.cancel()
        if wait:
            job.done.wait(timeout)
        return job.info()

    def wait(self, job_id: str, timeout: float | None = None) -> JobInfo:
        """Block until the job reached a final state (or ``timeout``); returns its info."""
        job = self._job(job_id)
        job.done.wait(timeout)
        return job.info()

    def result(self, job_id: str, timeout: float | None = None) -> JobInfo:
        """Like :meth:`wait`, but raises the job's ExecutionError / QueryCancelled."""
        info = self.wait(job_id, timeout)
        job = self._job(job_id)
        if info.state == JobState.FAILED:
            raise job.error or ExecutionError("the job failed")
        if info.state == JobState.CANCELED:
            raise QueryCancelled(f"job {job_id} was cancelled")
        if info.state != JobState.FINISHED:
            raise ExecutionError(f"job {job_id} did not finish within {timeout} s (state {info.state})")
        return info

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        """Per-operator metrics summed over subtasks (live while the job runs)."""
        job = self._job(job_id)
        totals: dict[str, OperatorMetrics] = {op.id: OperatorMetrics() for op in job.graph.operators}
        with self._lock:
            tasks = list(job.tasks.values())
        for task in tasks:
            for op_id, io in task.io.items():
                m = totals[op_id]
                m.records_in += io.records_in
                m.records_out += io.records_out
                m.late_records_dropped += task.contexts[op_id].metrics.late_records_dropped
        return totals

    def totals(self, job_id: str) -> JobTotals:
        """Job-level counts (live while the job runs), from :meth:`metrics`: rows read by the
        sources, rows written by the sinks, and late rows over all operators (see
        :class:`JobTotals`). Each figure counts a row once, however many operators it passes."""
        job = self._job(job_id)
        metrics = self.metrics(job_id)
        graph = job.graph
        sources = {op.id for op in graph.operators if not graph.inputs(op.id)}
        sinks = {op.id for op in graph.operators if not graph.outputs(op.id)}
        return JobTotals(
            records_in=sum(m.records_out for op_id, m in metrics.items() if op_id in sources),
            records_out=sum(m.records_in for op_id, m in metrics.items() if op_id in sinks),
            late_records=sum(m.late_records_dropped for m in metrics.values()),
        )

    def shutdown(self, timeout: float | None = 10.0) -> None:
        """Cancel every running job."""
        with self._lock:
            running = [j.job_id for j in self._jobs.values() if j.state == JobState.RUNNING]
        for job_id in running:
            self.cancel(job_id, timeout=timeout)
