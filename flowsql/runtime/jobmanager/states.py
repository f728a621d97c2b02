"""Job states and their allowed transitions (Flink's JobStatus, trimmed).

::

    CREATED ──► RUNNING ──► FINISHED
       │           ├──► FAILING ────► FAILED
       │           ├──► CANCELLING ─► CANCELED
       │           └──► RESTARTING ─► RUNNING (again) | FAILED | CANCELLING | CANCELED
       ├──► FAILED      (could not be scheduled)
       └──► CANCELED

``FAILING``/``CANCELLING`` last while the remaining tasks are being stopped (a job stopped
with a savepoint goes CANCELLING → FINISHED, as in Flink); ``RESTARTING``
while they are stopped and the restart strategy's delay runs. Only the final
states are terminal. :func:`transition` raises on anything else: that is a runtime bug.
"""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    CANCELLING = "CANCELLING"
    RESTARTING = "RESTARTING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobState.FINISHED, JobState.FAILED, JobState.CANCELED})

ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.CREATED: frozenset({JobState.RUNNING, JobState.FAILED, JobState.CANCELED}),
    JobState.RUNNING: frozenset(
        {JobState.FINISHED, JobState.FAILING, JobState.CANCELLING, JobState.FAILED,
         JobState.RESTARTING}
    ),
    JobState.RESTARTING: frozenset(
        {JobState.RUNNING, JobState.FAILED, JobState.CANCELLING, JobState.CANCELED}
    ),
    JobState.FAILING: frozenset({JobState.FAILED}),
    JobState.CANCELLING: frozenset({JobState.CANCELED, JobState.FINISHED}),
    JobState.FINISHED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELED: frozenset(),
}


class IllegalStateTransition(RuntimeError):
    """A runtime bug: a job was moved along a transition the state machine does not allow."""


def transition(current: JobState, new: JobState) -> JobState:
    if new not in ALLOWED[current]:
        raise IllegalStateTransition(f"job state {current} cannot become {new}")
    return new
