"""In-process gateways between a JobManager and TaskManagers (the embedded MiniCluster).

Contract: the same calls a TaskManager process and the JobManager process make to each other
over Arrow Flight (:mod:`flowsql.runtime.cluster`), made as method calls with the same plain
arguments. Only the embedded path also hands live job resources (a client's result object)
to the TaskManager.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowsql.runtime.descriptors import CheckpointAck, TaskDeploymentDescriptor, TaskReport
from flowsql.runtime.jobmanager.jobmanager import JobManager
from flowsql.runtime.taskmanager.taskmanager import TaskManager


class LocalTaskManagerGateway:
    remote = False

    def __init__(self, tm: TaskManager) -> None:
        self.tm = tm

    def deploy(self, desc: TaskDeploymentDescriptor, resources: Mapping[str, Any]) -> None:
        self.tm.deploy(desc, resources)

    def cancel(self, task_id: str) -> None:
        self.tm.cancel(task_id)

    def trigger_checkpoint(self, task_id: str, checkpoint_id: int, target: str | None = None,
                           stop: bool = False, drain: bool = False) -> bool:
        return self.tm.trigger_checkpoint(task_id, checkpoint_id, target, stop, drain)

    def notify_checkpoint_complete(self, task_ids: list[str], checkpoint_id: int) -> None:
        self.tm.notify_checkpoint_complete(task_ids, checkpoint_id)

    def commit_final(self, job_id: str, attempt: int) -> None:
        self.tm.commit_final(job_id, attempt)

    def discard_final(self, job_id: str) -> None:
        self.tm.discard_final(job_id)

    def task_metrics(self, task_ids: list[str]) -> dict[str, dict[str, dict[str, int]]]:
        return self.tm.task_metrics(task_ids)


class LocalJobManagerGateway:
    def __init__(self, jm: JobManager) -> None:
        self.jm = jm

    def task_state(self, report: TaskReport) -> None:
        self.jm.on_task_state(report)

    def checkpoint_ack(self, ack: CheckpointAck) -> None:
        self.jm.on_checkpoint_ack(ack)
