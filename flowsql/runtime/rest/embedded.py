"""A :class:`~flowsql.runtime.rest.view.ClusterView` over the embedded MiniCluster.

Contract:
- Jobs, metrics, errors and cancel delegate to the MiniCluster's JobManager; the graph comes
  from the JobManager's job record (an internal detail this adapter alone relies on).
- TaskManagers run in this process: host ``127.0.0.1``, data port 0 (no network), always
  ``RUNNING`` with a heartbeat of "now"; RSS and CPU time are this process's (from
  ``/proc/self/status`` and ``resource.getrusage``), so every TaskManager shows the same
  figures.
- ``metrics`` are the JobManager's: per operator counts, the minimum input watermark and the
  tasks' busy and backpressured time and input channel fill in ``extra`` (no credits: every
  channel is in process).
"""

from __future__ import annotations

import os
import resource
import time

from flowsql.errors import ExecutionError
from flowsql.operators.base import OperatorMetrics
from flowsql.physical.graph import JobGraph
from flowsql.runtime.jobmanager.jobmanager import JobInfo
from flowsql.runtime.local import MiniCluster
from flowsql.runtime.rest.view import TM_RUNNING, TaskManagerInfo


def process_rss_bytes() -> int | None:
    """This process's resident set size (Linux ``VmRSS``); None where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


class EmbeddedClusterView:
    def __init__(self, cluster: MiniCluster) -> None:
        self.cluster = cluster

    def list_jobs(self) -> list[JobInfo]:
        return self.cluster.list_jobs()

    def job(self, job_id: str) -> JobInfo:
        return self.cluster.job(job_id)

    def graph(self, job_id: str) -> JobGraph:
        jm = self.cluster.jobmanager
        with jm._lock:
            record = jm._jobs.get(job_id)
        if record is None:
            raise ExecutionError(f"unknown job id '{job_id}'")
        return record.graph

    def metrics(self, job_id: str) -> dict[str, OperatorMetrics]:
        return self.cluster.metrics(job_id)

    def error(self, job_id: str) -> tuple[ExecutionError | None, str | None]:
        return self.cluster.jobmanager.error(job_id)

    def cancel(self, job_id: str, *, wait: bool = False) -> JobInfo:
        return self.cluster.cancel(job_id, wait=wait)

    def task_managers(self) -> list[TaskManagerInfo]:
        now = time.time()
        rss, cpu = process_rss_bytes(), process_cpu_seconds()
        cores, memory = os.cpu_count(), physical_memory_bytes()
        return [
            TaskManagerInfo(
                tm_id=tm.tm_id,
                host="127.0.0.1",
                data_port=0,
                slots=tm.num_slots,
                free_slots=tm.free_slots,
                last_heartbeat=now,
                rss_bytes=rss,
                cpu_seconds=cpu,
                state=TM_RUNNING,
                cpu_cores=cores,
                physical_memory_bytes=memory,
            )
            for tm in self.cluster.task_managers
        ]
