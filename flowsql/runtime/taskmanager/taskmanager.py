"""A TaskManager: a fixed number of task slots, each running one subtask in a thread.

Contract:
- The JobManager's scheduler reserves slots (:meth:`TaskManager.allocate`) and then deploys a
  :class:`~flowsql.runtime.taskmanager.task.TaskDescriptor` into a reserved slot
  (:meth:`TaskManager.deploy`); the slot is freed when the task ends, before the JobManager
  hears about it, so a finished job never holds slots.
- The TaskManager builds live operators (via its operator registry) only inside the task; the
  descriptor is plain data plus transport endpoints, so running TaskManagers in other
  processes later only needs another transport.
- Threads: the GIL is released inside pyarrow/numpy/DuckDB kernels, which is where the work of
  a vectorized operator happens; per-task threads keep the structure of a real cluster.
"""

from __future__ import annotations

import threading

from flowsql.errors import ExecutionError
from flowsql.operators.registry import OperatorRegistry, default_registry
from flowsql.runtime.taskmanager.task import Task, TaskDescriptor, TaskEndCallback


class TaskManager:
    def __init__(self, tm_id: str, num_slots: int, registry: OperatorRegistry | None = None) -> None:
        if num_slots < 1:
            raise ValueError("a TaskManager needs at least one slot")
        self.tm_id = tm_id
        self.num_slots = num_slots
        self.registry = registry or default_registry()
        self._lock = threading.Lock()
        self._slots: list[str | None] = [None] * num_slots
        self._tasks: dict[str, Task] = {}

    @property
    def free_slots(self) -> int:
        with self._lock:
            return self._slots.count(None)

    def allocate(self, task_id: str) -> int:
        """Reserve a free slot for ``task_id``; returns the slot index."""
        with self._lock:
            for i, holder in enumerate(self._slots):
                if holder is None:
                    self._slots[i] = task_id
                    return i
        raise ExecutionError(f"TaskManager {self.tm_id} has no free task slot")

    def release(self, task_id: str) -> None:
        with self._lock:
            self._slots = [None if holder == task_id else holder for holder in self._slots]
            self._tasks.pop(task_id, None)

    def deploy(self, desc: TaskDescriptor, on_end: TaskEndCallback) -> Task:
        with self._lock:
            if desc.task_id not in self._slots:
                raise ExecutionError(f"task {desc.task_id} has no slot on TaskManager {self.tm_id}")

        def ended(task: Task, outcome: str, error: ExecutionError | None, details: str | None) -> None:
            self.release(task.task_id)
            on_end(task, outcome, error, details)

        task = Task(desc, self.registry, ended)
        with self._lock:
            self._tasks[desc.task_id] = task
        task.start()
        return task

    def running_tasks(self) -> list[str]:
        with self._lock:
            return sorted(self._tasks)

    def slot_table(self) -> list[str | None]:
        with self._lock:
            return list(self._slots)
