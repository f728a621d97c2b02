"""Slot scheduling: place every subtask of a job into a TaskManager slot.

Contract:
- Slot sharing, as Flink's default sharing group: subtask ``i`` of every chain of a job shares
  one slot (:func:`slot_key`: ``"<job>/<i>"``), so a job needs as many slots as its highest
  parallelism and each slot holds one whole pipeline slice. The JobManager owns the slot
  table; this module only decides where slots go.
- :func:`schedule` spreads load: each slot goes to the TaskManager with the most free slots
  (ties: the first one in the given order), so the subtasks of one operator land on
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


def slot_key(task_id: str) -> str:
    """The shared slot of a task id ``"<job>/<chain>.<subtask>"``: ``"<job>/<subtask>"``."""
    job, rest = task_id.split("/", 1)
    return f"{job}/{rest.rsplit('.', 1)[-1]}"


def schedule(task_ids: Sequence[str], free_slots: Mapping[str, int]) -> dict[str, str]:
    """Place the tasks' shared slots; ``free_slots`` is TaskManager id -> free slots (in
    order). Returns task id -> TaskManager id."""
    slots = list(dict.fromkeys(slot_key(t) for t in task_ids))
    names = list(free_slots)
    free = [int(free_slots[n]) for n in names]
    if sum(free) < len(slots):
        raise NotEnoughSlots(len(slots), sum(free))
    where: dict[str, str] = {}
    for slot in slots:
        best = max(range(len(names)), key=lambda i: (free[i], -i))
        free[best] -= 1
        where[slot] = names[best]
    return {t: where[slot_key(t)] for t in task_ids}
