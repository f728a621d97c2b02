"""Slot scheduling: place every subtask of a job into a TaskManager slot.

Contract:
- One subtask (one chain instance) takes one slot (no slot sharing yet).
- Placement spreads load: each subtask goes to the TaskManager with the most free slots
  (ties: the first one), so subtasks of one operator land on different TaskManagers when
  possible.
- All or nothing: if the cluster lacks slots, nothing is reserved and ``ExecutionError`` says
  how many slots the job needs and how many are free.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowsql.errors import ExecutionError
from flowsql.runtime.taskmanager.taskmanager import TaskManager


def schedule(task_ids: Sequence[str], task_managers: Sequence[TaskManager]) -> dict[str, TaskManager]:
    """Reserve one slot per task id; returns task id -> TaskManager."""
    free = [tm.free_slots for tm in task_managers]
    if sum(free) < len(task_ids):
        raise ExecutionError(
            f"not enough task slots: the job needs {len(task_ids)}, the cluster has {sum(free)} free",
            hint="lower the parallelism ('parallelism.default') or wait for running jobs to end",
        )
    placement: dict[str, TaskManager] = {}
    try:
        for task_id in task_ids:
            best = max(range(len(task_managers)), key=lambda i: (free[i], -i))
            task_managers[best].allocate(task_id)
            free[best] -= 1
            placement[task_id] = task_managers[best]
    except ExecutionError:
        for task_id, tm in placement.items():
            tm.release(task_id)
        raise
    return placement
