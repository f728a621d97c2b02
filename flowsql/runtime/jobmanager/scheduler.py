"""Slot scheduling: place every subtask of a job into a TaskManager slot.

Contract:
- One subtask (one chain instance) takes one slot (no slot sharing yet). The JobManager owns
  the slot table; this module only decides where tasks go.
- :func:`schedule` spreads load: each subtask goes to the TaskManager with the most free
  slots (ties: the first one in the given order), so subtasks of one operator land on
  different TaskManagers when possible.
- All or nothing: if the TaskManagers lack slots, nothing is placed and
  :class:`NotEnoughSlots` says how many slots the job needs and how many are free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flowsql.errors import ExecutionError


class NotEnoughSlots(ExecutionError):
    def __init__(self, needed: int, free: int) -> None:
        super().__init__(
            f"not enough task slots: the job needs {needed} slots, the cluster has {free} free",
            hint="lower the parallelism ('parallelism.default'), add TaskManagers, "
            "or wait for running jobs to end",
        )
        self.needed = needed
        self.free = free


def schedule(task_ids: Sequence[str], free_slots: Mapping[str, int]) -> dict[str, str]:
    """Place one task per slot; ``free_slots`` is TaskManager id -> free slots (in order).
    Returns task id -> TaskManager id."""
    names = list(free_slots)
    free = [int(free_slots[n]) for n in names]
    if sum(free) < len(task_ids):
        raise NotEnoughSlots(len(task_ids), sum(free))
    placement: dict[str, str] = {}
    for tid in task_ids:
        best = max(range(len(names)), key=lambda i: (free[i], -i))
        free[best] -= 1
        placement[tid] = names[best]
    return placement
