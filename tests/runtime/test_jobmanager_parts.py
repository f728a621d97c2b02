"""Job state machine and slot scheduling."""

from __future__ import annotations

import pytest

from flowsql.errors import ExecutionError
from flowsql.runtime.jobmanager.scheduler import schedule
from flowsql.runtime.jobmanager.states import IllegalStateTransition, JobState, transition
from flowsql.runtime.taskmanager.taskmanager import TaskManager


def test_allowed_and_illegal_transitions():
    s = transition(JobState.CREATED, JobState.RUNNING)
    s = transition(s, JobState.FAILING)
    assert transition(s, JobState.FAILED).terminal
    assert transition(JobState.RUNNING, JobState.CANCELLING) == JobState.CANCELLING
    assert transition(JobState.CREATED, JobState.FAILED) == JobState.FAILED
    for bad in [
        (JobState.FINISHED, JobState.RUNNING),
        (JobState.CANCELED, JobState.RUNNING),
        (JobState.CANCELLING, JobState.FINISHED),
        (JobState.FAILING, JobState.CANCELED),
    ]:
        with pytest.raises(IllegalStateTransition):
            transition(*bad)
    assert not JobState.RUNNING.terminal and str(JobState.CANCELED) == "CANCELED"


def test_schedule_spreads_and_is_all_or_nothing():
    tms = [TaskManager("tm-0", 2), TaskManager("tm-1", 2)]
    placement = schedule(["a", "b", "c"], tms)
    assert [placement[t].tm_id for t in "abc"] == ["tm-0", "tm-1", "tm-0"]
    assert tms[0].slot_table() == ["a", "c"] and tms[1].slot_table() == ["b", None]
    with pytest.raises(ExecutionError, match="needs 2, the cluster has 1 free"):
        schedule(["d", "e"], tms)
    assert tms[1].free_slots == 1  # nothing reserved by the failed attempt
    tms[0].release("a")
    assert tms[0].free_slots == 1
