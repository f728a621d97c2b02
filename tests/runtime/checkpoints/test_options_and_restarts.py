"""Checkpoint and restart options (Flink's names and defaults) and the restart strategies."""

from __future__ import annotations

import pytest

from flowsql.errors import ValidationError
from flowsql.runtime.checkpoints.options import checkpoint_options, restart_options
from flowsql.runtime.checkpoints.restarts import RestartPolicy


def test_checkpointing_is_off_by_default_with_flinks_defaults():
    o = checkpoint_options({})
    assert not o.enabled
    assert (o.timeout_s, o.min_pause_s, o.tolerable_failures, o.num_retained) == (600, 0, 0, 1)
    assert o.retention == "NO_EXTERNALIZED_CHECKPOINTS"


def test_an_interval_without_a_directory_is_a_clear_error():
    with pytest.raises(ValidationError, match="checkpoint directory"):
        checkpoint_options({"execution.checkpointing.interval": "1 s"})
    o = checkpoint_options({"execution.checkpointing.interval": "1 s", "state.checkpoints.dir": "/x"})
    assert o.enabled and o.interval_s == 1.0 and o.directory == "/x"


def test_bad_values_name_the_option_and_the_valid_ones():
    with pytest.raises(ValidationError, match="RETAIN_ON_CANCELLATION"):
        checkpoint_options({"execution.checkpointing.externalized-checkpoint-retention": "keep"})
    with pytest.raises(ValidationError, match="tolerable-failed-checkpoints"):
        checkpoint_options({"execution.checkpointing.tolerable-failed-checkpoints": "many"})
    with pytest.raises(ValidationError, match="fixed-delay, exponential-delay"):
        restart_options({"restart-strategy.type": "sometimes"}, True)


def test_default_strategy_depends_on_checkpointing():
    assert restart_options({}, True).strategy == "exponential-delay"
    assert restart_options({}, False).strategy == "none"
    assert restart_options({"restart-strategy.type": "fixeddelay"}, False).strategy == "fixed-delay"


def test_fixed_delay_gives_up_after_its_attempts():
    p = RestartPolicy(restart_options({"restart-strategy.type": "fixed-delay",
                                       "restart-strategy.fixed-delay.attempts": "2",
                                       "restart-strategy.fixed-delay.delay": "3 s"}, True))
    assert [p.on_failure(0.0), p.on_failure(1.0), p.on_failure(2.0)] == [3.0, 3.0, None]


def test_exponential_delay_backs_off_up_to_its_cap():
    p = RestartPolicy(restart_options({
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.backoff-multiplier": "2",
        "restart-strategy.exponential-delay.max-backoff": "5 s"}, True))
    assert [p.on_failure(float(i)) for i in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_failure_rate_fails_when_too_many_failures_fall_in_the_interval():
    p = RestartPolicy(restart_options({
        "restart-strategy.type": "failure-rate",
        "restart-strategy.failure-rate.max-failures-per-interval": "2",
        "restart-strategy.failure-rate.failure-rate-interval": "10 s"}, True))
    assert p.on_failure(0.0) == 1.0 and p.on_failure(1.0) == 1.0
    assert p.on_failure(2.0) is None
    q = RestartPolicy(p.options)
    assert q.on_failure(0.0) and q.on_failure(20.0) and q.on_failure(40.0)  # spread out: fine


def test_none_never_restarts():
    assert RestartPolicy(restart_options({}, False)).on_failure(0.0) is None
