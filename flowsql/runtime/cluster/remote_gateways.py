"""Gateways between the JobManager and TaskManager processes, over Flight control calls.

Contract: the same methods as the in-process gateways (:mod:`flowsql.runtime.gateways`),
carrying only plain data: :class:`RemoteTaskManagerGateway` (JobManager -> TaskManager:
``deploy``, ``cancel``, ``trigger_checkpoint``, ``notify_checkpoint_complete``, ``commit_final``,
``discard_final``; ``task_metrics`` answers from the TaskManager's last heartbeat, which
the JobManager keeps) and :class:`RemoteJobManagerGateway` (TaskManager -> JobManager:
``task_state``, ``checkpoint_ack``). A report the JobManager cannot take (unreachable) is logged and dropped: a
TaskManager that cannot reach the JobManager is declared lost there by its heartbeat timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flowsql.errors import ExecutionError, FlowSQLError
from flowsql.runtime.cluster.wire import report_to_data
from flowsql.runtime.descriptors import CheckpointAck, TaskDeploymentDescriptor, TaskReport
from flowsql.runtime.network.client import ControlClient

log = logging.getLogger("flowsql.runtime")


class RemoteTaskManagerGateway:
    remote = True

    def __init__(self, location: str, metrics: Callable[[list[str]], dict[str, Any]],
                 timeout: float = 10.0) -> None:
        self.client = ControlClient(location, timeout=timeout)
        self._metrics = metrics

    def deploy(self, desc: TaskDeploymentDescriptor, resources: Mapping[str, Any]) -> None:
        if resources:
            raise ExecutionError(
                "in-process job resources cannot be sent to a TaskManager process: "
                + ", ".join(sorted(resources)))
        self.client.call("deploy", {"task": desc.to_dict()})

    def cancel(self, task_id: str) -> None:
        self.client.call("cancel", {"task_id": task_id})

    def trigger_checkpoint(self, task_id: str, checkpoint_id: int, target: str | None = None,
                           stop: bool = False, drain: bool = False) -> bool:
        answer = self.client.call("trigger_checkpoint", {
            "task_id": task_id, "checkpoint_id": checkpoint_id, "target": target, "stop": stop,
            "drain": drain})
        return bool(answer.get("ok"))

    def commit_final(self, job_id: str, attempt: int) -> None:
        self.client.call("commit_final", {"job_id": job_id, "attempt": attempt})

    def discard_final(self, job_id: str) -> None:
        self.client.call("discard_final", {"job_id": job_id})

    def notify_checkpoint_complete(self, task_ids: list[str], checkpoint_id: int) -> None:
        self.client.call("checkpoint_complete",
                         {"task_ids": task_ids, "checkpoint_id": checkpoint_id})

    def task_metrics(self, task_ids: list[str]) -> dict[str, dict[str, dict[str, int]]]:
        return self._metrics(task_ids)


class RemoteJobManagerGateway:
    def __init__(self, client: ControlClient) -> None:
        self.client = client

    def task_state(self, report: TaskReport) -> None:
        try:
            self.client.call("task_state", report_to_data(report))
        except FlowSQLError as e:
            log.warning("could not report %s %s to the JobManager: %s",
                        report.task_id, report.state, e)

    def checkpoint_ack(self, ack: CheckpointAck) -> None:
        try:
            self.client.call("checkpoint_ack", ack.to_dict())
        except FlowSQLError as e:  # the checkpoint times out at the JobManager
            log.warning("could not acknowledge checkpoint %s of %s: %s",
                        ack.checkpoint_id, ack.task_id, e)
