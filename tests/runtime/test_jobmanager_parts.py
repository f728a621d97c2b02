"""Job state machine and slot scheduling."""

from __future__ import annotations

import pytest

from flowsql.errors import ExecutionError
from flowsql.runtime.jobmanager.scheduler import schedule, slot_key
from flowsql.runtime.jobmanager.states import IllegalStateTransition, JobState, transition


def test_allowed_and_illegal_transitions():
    s = transition(JobState.CREATED, JobState.RUNNING)
    s = transition(s, JobState.FAILING)
    assert transition(s, JobState.FAILED).terminal
    assert transition(JobState.RUNNING, JobState.CANCELLING) == JobState.CANCELLING
    assert transition(JobState.CREATED, JobState.FAILED) == JobState.FAILED
    # a job stopped with a savepoint ends FINISHED; a failed task can restart the job
    assert transition(JobState.CANCELLING, JobState.FINISHED) == JobState.FINISHED
    assert transition(JobState.RUNNING, JobState.RESTARTING) == JobState.RESTARTING
    assert transition(JobState.RESTARTING, JobState.RUNNING) == JobState.RUNNING
    for bad in [
        (JobState.FINISHED, JobState.RUNNING),
        (JobState.CANCELED, JobState.RUNNING),
        (JobState.CANCELLING, JobState.FAILED),
        (JobState.FAILING, JobState.CANCELED),
        (JobState.RESTARTING, JobState.FINISHED),
    ]:
        with pytest.raises(IllegalStateTransition):
            transition(*bad)
    assert not JobState.RUNNING.terminal and str(JobState.CANCELED) == "CANCELED"


def test_schedule_spreads_and_is_all_or_nothing():
    free = {"tm-0": 2, "tm-1": 2}
    placement = schedule(["j/0.0", "j/0.1", "j/0.2"], free)
    assert [placement[f"j/0.{i}"] for i in range(3)] == ["tm-0", "tm-1", "tm-0"]
    assert free == {"tm-0": 2, "tm-1": 2}  # the caller's table is not changed
    with pytest.raises(ExecutionError, match="needs 2 slots, the cluster has 1 free"):
        schedule(["d/0.0", "d/0.1"], {"tm-0": 0, "tm-1": 1})
    assert schedule(["d/0.0"], {"tm-0": 0, "tm-1": 1}) == {"d/0.0": "tm-1"}


def test_subtasks_of_one_index_share_a_slot():
    ids = ["j/0.0", "j/1.0", "j/1.1", "j/2.0"]  # chains of parallelism 1, 2, 1
    assert slot_key("j/1.1") == "j/1"
    placement = schedule(ids, {"tm-0": 1, "tm-1": 1})
    assert placement == {"j/0.0": "tm-0", "j/1.0": "tm-0", "j/1.1": "tm-1", "j/2.0": "tm-0"}
    with pytest.raises(ExecutionError, match="needs 2 slots, the cluster has 1 free"):
        schedule(ids, {"tm-0": 1})
