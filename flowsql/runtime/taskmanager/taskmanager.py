"""A TaskManager: task slots, each running one subtask in a thread, and the gates of its tasks.

Contract:
- The same class runs embedded (in the client's process, talking to the JobManager by method
  calls) and in a ``flowsql taskmanager`` process (talking to it over Arrow Flight, see
  :mod:`flowsql.runtime.cluster.taskmanager_process`). What reaches it is plain data: a
  :class:`~flowsql.runtime.descriptors.TaskDeploymentDescriptor` per task, plus, embedded only,
  in-process resources (e.g. the result a local client reads).
- :meth:`deploy` builds the task's wiring from the descriptor's addresses: an input gate
  registered in :attr:`gates` under the task id; for each output channel an in-process writer
  when the target gate is in this process (its own, or ``local_peers``: the other
  TaskManagers of an embedded MiniCluster, which share one gate registry; looked up when the
  first message goes out, since tasks deploy in any order), else ``remote_writer(location, gate, channel, cancelled, peer)``
  (Arrow Flight; None = embedded, every target must be local). A descriptor with ``result``
  gets a collect resource writing to that channel. Then the task starts.
- A TaskManager has ``num_slots`` slots; the JobManager places tasks, subtask ``i`` of every
  chain of a job sharing one slot (:func:`~flowsql.runtime.jobmanager.scheduler.slot_key`),
  and a deploy beyond the slots is refused with ExecutionError. The slot is free again when the task ends, before the
  end is reported to the JobManager (:meth:`~JobManagerGateway.task_state`) with the task's
  final metrics, so a finished job never holds slots.
- :meth:`task_metrics` gives live per-operator counts of running tasks (plain data; carried in
  heartbeats by a TaskManager process). :meth:`cancel` / :meth:`cancel_all` stop tasks.
- Threads: the GIL is released inside pyarrow/numpy/DuckDB kernels; one TaskManager process
  per core is the layout that scales, slots within one are threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flowsql.errors import ExecutionError
from flowsql.operators.registry import OperatorRegistry, default_registry
from flowsql.runtime.descriptors import (
    ChannelAddress,
    CheckpointAck,
    TaskDeploymentDescriptor,
    TaskReport,
)
from flowsql.runtime.jobmanager.scheduler import slot_key
from flowsql.runtime.network.gates import GateRegistry
from flowsql.runtime.taskmanager.channels import (
    ChannelWriter,
    InProcessInputGate,
    InputGate,
    Message,
    TaskCancelled,
)
from flowsql.runtime.taskmanager.outputs import EdgeWriter
from flowsql.runtime.taskmanager.remote_result import RemoteCollect
from flowsql.runtime.taskmanager.task import Task

GATE_WAIT_S = 30.0
RemoteWriterFactory = Callable[[str, str, int, threading.Event, str], ChannelWriter]


class JobManagerGateway(Protocol):
    def task_state(self, report: TaskReport) -> None: ...

    def checkpoint_ack(self, ack: CheckpointAck) -> None: ...


class LocalGateWriter(ChannelWriter):
    """Writes into a gate of this process, found by key on the first message."""

    def __init__(self, gates: GateRegistry, key: str, channel: int, cancelled: threading.Event) -> None:
        self._gates = gates
        self._key = key
        self._channel = channel
        self._cancelled = cancelled
        self._target: ChannelWriter | None = None

    def put(self, message: Message) -> None:
        if self._target is None:
            self._target = self._resolve().writer(self._channel)
        self._target.put(message)

    def _resolve(self) -> InputGate:
        deadline = time.monotonic() + GATE_WAIT_S
        while True:
            if self._cancelled.is_set():
                raise TaskCancelled(self._key)
            try:
                return self._gates.get(self._key, 0.2)
            except ExecutionError:
                if time.monotonic() >= deadline:
                    raise


class TaskManager:
    def __init__(
        self,
        tm_id: str,
        num_slots: int,
        registry: OperatorRegistry | None = None,
        *,
        gates: GateRegistry | None = None,
        remote_writer: RemoteWriterFactory | None = None,
        local_peers: frozenset[str] = frozenset(),
    ) -> None:
        if num_slots < 1:
            raise ValueError("a TaskManager needs at least one slot")
        self.tm_id = tm_id
        self.num_slots = num_slots
        self.registry = registry or default_registry()
        self.gates = gates or GateRegistry()
        self.remote_writer = remote_writer
        self.local_peers = frozenset(local_peers) | {tm_id}
        self.jobmanager: JobManagerGateway | None = None
        self.registration = 0
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        # Tasks that reported their end but whose threads may still be unwinding; join_all
        # waits for them too, so that no task thread outlives an orderly shutdown.
        self._ending: list[Task] = []
        # Finished tasks' operators that publish their output when the job finished:
        # (job id, attempt) -> operators with commit_final (transactional sinks).
        self._finals: dict[tuple[str, int], list[Any]] = {}

    def connect(self, jobmanager: JobManagerGateway, registration: int) -> None:
        self.jobmanager = jobmanager
        self.registration = registration

    @property
    def free_slots(self) -> int:
        with self._lock:
            return self.num_slots - len({slot_key(t) for t in self._tasks})

    # -- deployment --------------------------------------------------------------------------
    def deploy(self, desc: TaskDeploymentDescriptor, resources: Mapping[str, Any] | None = None) -> None:
        """Build the task's wiring from its descriptor and start it (see module contract)."""
        with self._lock:
            used = {slot_key(t) for t in self._tasks}
            if slot_key(desc.task_id) not in used and len(used) >= self.num_slots:
                raise ExecutionError(f"TaskManager {self.tm_id} has no free task slot for {desc.task_id}")
            if desc.task_id in self._tasks:
                raise ExecutionError(f"task {desc.task_id} is already deployed on {self.tm_id}")
            gate = None
            if desc.num_channels:
                gate = InProcessInputGate(desc.task_id, desc.num_channels, desc.capacity)
                self.gates.register(desc.gate_key, gate)
            task = Task(desc, self.registry, self._ended, input_gate=gate,
                        resources=dict(resources or {}), on_checkpoint=self._checkpointed)
            try:
                task.outputs = [
                    EdgeWriter(e.partitioning, [self._writer(desc, t, task) for t in e.targets],
                               e.keys, max_parallelism=desc.max_parallelism, start=e.start)
                    for e in desc.outputs
                ]
                if desc.result is not None:
                    collect = RemoteCollect(self._writer(desc, desc.result, task))
                    for spec in desc.operators:
                        if spec.kind == "collect-sink":
                            task.resources[spec.params["result"]] = collect
            except Exception:
                self.gates.remove(desc.gate_key)
                raise
            self._tasks[desc.task_id] = task
        task.start()

    def _writer(self, desc: TaskDeploymentDescriptor, address: ChannelAddress, task: Task) -> ChannelWriter:
        if address.process in self.local_peers:
            return LocalGateWriter(self.gates, address.gate, address.channel, task.cancelled)
        location = desc.locations.get(address.process)
        if self.remote_writer is None or location is None:
            raise ExecutionError(
                f"task {desc.task_id} on {self.tm_id} cannot reach {address.process}: "
                "no address for it (an embedded TaskManager only reaches gates in its process)"
            )
        return self.remote_writer(location, address.gate, address.channel, task.cancelled, address.process)

    def _ended(self, task: Task, outcome: str, error: ExecutionError | None, details: str | None) -> None:
        finals = task.final_committers() if outcome == "FINISHED" else []
        with self._lock:
            self._tasks.pop(task.task_id, None)
            self._ending = [t for t in self._ending if t.alive] + [task]
            if finals:
                self._finals.setdefault((task.desc.job_id, task.desc.attempt), []).extend(finals)
        self.gates.remove(task.desc.gate_key)
        jm = self.jobmanager
        if jm is not None:
            jm.task_state(TaskReport(self.tm_id, self.registration, task.task_id, outcome, error,
                                     details, task.metrics()))

    def _checkpointed(self, task: Task, checkpoint_id: int, size: int, error: str | None,
                      alignment_ms: int) -> None:
        jm = self.jobmanager
        if jm is not None:
            jm.checkpoint_ack(CheckpointAck(self.tm_id, self.registration, task.task_id,
                                            checkpoint_id, task.desc.attempt, size, error,
                                            alignment_ms))

    # -- control -----------------------------------------------------------------------------
    def trigger_checkpoint(self, task_id: str, checkpoint_id: int, target: str | None = None,
                           stop: bool = False, drain: bool = False) -> bool:
        """Ask a running source task for a checkpoint (a savepoint into ``target``, stopping
        after it with ``stop``, emitting the final watermark before it with ``drain``); False
        when it is not running here."""
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            return False
        task.trigger_checkpoint(checkpoint_id, target, stop, drain)
        return True

    def commit_final(self, job_id: str, attempt: int) -> int:
        """The job finished: its finished tasks of ``attempt`` publish their output (earlier
        attempts' are dropped unpublished). Returns how many operators committed."""
        with self._lock:
            keys = [k for k in self._finals if k[0] == job_id]
            finals = [self._finals.pop(k) for k in keys if k[1] == attempt]
            for k in keys:
                self._finals.pop(k, None)
        ops = [op for group in finals for op in group]
        for op in ops:
            op.commit_final()
        return len(ops)

    def discard_final(self, job_id: str) -> None:
        """The job will not finish as it is (failed, cancelled, restarting): drop its held
        final output unpublished."""
        with self._lock:
            for k in [k for k in self._finals if k[0] == job_id]:
                del self._finals[k]

    def notify_checkpoint_complete(self, task_ids: list[str], checkpoint_id: int) -> None:
        with self._lock:
            tasks = [self._tasks[t] for t in task_ids if t in self._tasks]
        for task in tasks:
            task.notify_checkpoint_complete(checkpoint_id)

    def cancel(self, task_id: str) -> bool:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            return False
        task.cancel()
        return True

    def cancel_all(self) -> list[str]:
        with self._lock:
            tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        return [t.task_id for t in tasks]

    def join_all(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` in all) until every task thread ended, including the
        threads of tasks that already reported their end and are still returning."""
        deadline = time.monotonic() + timeout
        with self._lock:
            tasks = list(self._tasks.values()) + self._ending
        return all(t.join(max(0.0, deadline - time.monotonic())) for t in tasks)

    def task_metrics(self, task_ids: list[str] | None = None) -> dict[str, dict[str, dict[str, int]]]:
        with self._lock:
            tasks = [t for tid, t in self._tasks.items() if task_ids is None or tid in task_ids]
        return {t.task_id: t.metrics() for t in tasks}

    def running_tasks(self) -> list[str]:
        with self._lock:
            return sorted(self._tasks)
