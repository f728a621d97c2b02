"""What the JobManager ships to a TaskManager: plain data with addresses, never live objects.

Contract:
- A :class:`TaskDeploymentDescriptor` (Flink's TDD) describes one subtask of one operator chain:
  the chain's operator specs (head first), subtask index and parallelism, the size of its
  input gate (``num_channels``; 0 for a source task) and which logical input each channel
  feeds (``channel_inputs``), one :class:`OutputEdge` per outgoing network edge, the job's
  config, and ``locations``: the Flight address of every process it exchanges data with.
- A channel is addressed as :class:`ChannelAddress` ``(process id, gate key, channel)``. The
  process id is a TaskManager id or :data:`JOBMANAGER` (the JobManager hosts the result gate of
  a remote client's SELECT). A TaskManager writes into a gate of its own process through the
  in-process channel and into any other through an Arrow Flight channel to
  ``locations[process id]``: one channel contract, two transports.
- ``result`` is set on a collect sink's task when a remote client reads the rows: the sink
  writes them to that channel. In-process clients hand the TaskManager a live result object
  instead (embedded mode), outside the descriptor.
- :meth:`to_dict` / :meth:`from_dict` round-trip through JSON (``"version": 1``).
- A :class:`TaskReport` is what a TaskManager says when a task ended: which registration of
  which TaskManager reports it (the JobManager ignores fenced ones), the final state, the
  error and its traceback text, and the task's final per-operator metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowsql.errors import ExecutionError
from flowsql.operators.base import MAX_PARALLELISM
from flowsql.physical.graph import OperatorSpec
from flowsql.runtime.taskmanager.channels import DEFAULT_CAPACITY

FORMAT_VERSION = 1
JOBMANAGER = "jobmanager"


@dataclass(frozen=True)
class ChannelAddress:
    process: str
    gate: str
    channel: int

    def to_list(self) -> list[Any]:
        return [self.process, self.gate, self.channel]

    @classmethod
    def from_list(cls, data: list[Any]) -> ChannelAddress:
        return cls(str(data[0]), str(data[1]), int(data[2]))


@dataclass(frozen=True)
class OutputEdge:
    """One outgoing network edge of a chain tail: how rows are split over ``targets``."""

    partitioning: str
    keys: tuple[str, ...]
    start: int
    targets: tuple[ChannelAddress, ...]


def gate_key(task_id: str, attempt: int) -> str:
    return task_id if attempt == 0 else f"{task_id}@{attempt}"


@dataclass(frozen=True)
class TaskDeploymentDescriptor:
    job_id: str
    task_id: str
    chain_index: int
    operators: tuple[OperatorSpec, ...]
    subtask_index: int
    parallelism: int
    num_channels: int = 0
    channel_inputs: tuple[int, ...] = ()
    outputs: tuple[OutputEdge, ...] = ()
    config: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    result: ChannelAddress | None = None
    capacity: int = DEFAULT_CAPACITY
    max_parallelism: int = MAX_PARALLELISM
    restore: str | None = None  # the checkpoint (chk-<n> path or URI) to restore state from
    attempt: int = 0  # the job's restart count when deployed (reports of older attempts drop)

    @property
    def gate_key(self) -> str:
        """The key of this task's input gate: the task id, with ``@<attempt>`` after a
        restart, so producers of an earlier attempt (a zombie TaskManager) never reach it."""
        return gate_key(self.task_id, self.attempt)

    @property
    def name(self) -> str:
        ids = " -> ".join(op.id for op in self.operators)
        return f"{ids} ({self.subtask_index + 1}/{self.parallelism})"

    def processes(self) -> set[str]:
        """Every process this task sends data to."""
        out = {t.process for e in self.outputs for t in e.targets}
        if self.result is not None:
            out.add(self.result.process)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "job_id": self.job_id,
            "task_id": self.task_id,
            "chain_index": self.chain_index,
            "operators": [
                {"id": o.id, "kind": o.kind, "name": o.name, "parallelism": o.parallelism,
                 "params": o.params, "uid": o.uid}
                for o in self.operators
            ],
            "subtask_index": self.subtask_index,
            "parallelism": self.parallelism,
            "num_channels": self.num_channels,
            "channel_inputs": list(self.channel_inputs),
            "outputs": [
                {"partitioning": e.partitioning, "keys": list(e.keys), "start": e.start,
                 "targets": [t.to_list() for t in e.targets]}
                for e in self.outputs
            ],
            "config": dict(self.config),
            "locations": dict(self.locations),
            "result": self.result.to_list() if self.result else None,
            "capacity": self.capacity,
            "max_parallelism": self.max_parallelism,
            "restore": self.restore,
            "attempt": self.attempt,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskDeploymentDescriptor:
        if data.get("version") != FORMAT_VERSION:
            raise ExecutionError(f"unsupported task descriptor version {data.get('version')}")
        return cls(
            job_id=data["job_id"],
            task_id=data["task_id"],
            chain_index=int(data["chain_index"]),
            operators=tuple(
                OperatorSpec(id=o["id"], kind=o["kind"], params=o.get("params") or {},
                             parallelism=int(o.get("parallelism", 1)), name=o.get("name", ""),
                             uid=o.get("uid", ""))
                for o in data["operators"]
            ),
            subtask_index=int(data["subtask_index"]),
            parallelism=int(data["parallelism"]),
            num_channels=int(data.get("num_channels", 0)),
            channel_inputs=tuple(int(i) for i in data.get("channel_inputs", ())),
            outputs=tuple(
                OutputEdge(e["partitioning"], tuple(e.get("keys") or ()), int(e.get("start", 0)),
                           tuple(ChannelAddress.from_list(t) for t in e["targets"]))
                for e in data.get("outputs", ())
            ),
            config={str(k): str(v) for k, v in (data.get("config") or {}).items()},
            locations={str(k): str(v) for k, v in (data.get("locations") or {}).items()},
            result=ChannelAddress.from_list(data["result"]) if data.get("result") else None,
            capacity=int(data.get("capacity", DEFAULT_CAPACITY)),
            max_parallelism=int(data.get("max_parallelism", MAX_PARALLELISM)),
            restore=data.get("restore") or None,
            attempt=int(data.get("attempt", 0)),
        )


@dataclass(frozen=True)
class TaskReport:
    tm_id: str
    registration: int
    task_id: str
    state: str
    error: ExecutionError | None = None
    details: str | None = None
    metrics: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        return self.task_id.split("/", 1)[0]


@dataclass(frozen=True)
class CheckpointAck:
    """A task took its part of checkpoint ``checkpoint_id`` (``error`` set: it could not)."""

    tm_id: str
    registration: int
    task_id: str
    checkpoint_id: int
    attempt: int = 0
    size: int = 0
    error: str | None = None
    alignment_ms: int = 0  # from the first barrier to the last one (tasks with inputs)

    @property
    def job_id(self) -> str:
        return self.task_id.split("/", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckpointAck:
        return cls(str(data["tm_id"]), int(data["registration"]), str(data["task_id"]),
                   int(data["checkpoint_id"]), int(data.get("attempt", 0)),
                   int(data.get("size", 0)), data.get("error"),
                   int(data.get("alignment_ms", 0)))
