"""Restart strategies: whether and when a failed job restarts (Flink's strategies).

Contract: :class:`RestartPolicy` is asked :meth:`RestartPolicy.on_failure` once per job
failure, with the current monotonic time; it answers the delay in seconds before the restart,
or None when the job must fail for good.

- ``none``: never restart.
- ``fixed-delay``: ``attempts`` restarts in all, each after ``delay``.
- ``exponential-delay``: restarts after ``initial-backoff``, then times ``backoff-multiplier``
  up to ``max-backoff``; at most ``attempts-before-reset-backoff`` restarts (unbounded by
  default). Flink's backoff reset after a quiet period and its jitter are not implemented.
- ``failure-rate``: restarts after ``delay`` unless more than ``max-failures-per-interval``
  failures fell within the last ``failure-rate-interval``.
"""

from __future__ import annotations

from collections import deque

from flowsql.runtime.checkpoints.options import RestartOptions


class RestartPolicy:
    def __init__(self, options: RestartOptions) -> None:
        self.options = options
        self.restarts = 0
        self._backoff = options.initial_backoff_s
        self._failures: deque[float] = deque()

    def on_failure(self, now: float) -> float | None:
        o = self.options
        if o.strategy == "none":
            return None
        if o.strategy == "fixed-delay":
            if self.restarts >= o.attempts:
                return None
            delay = o.delay_s
        elif o.strategy == "exponential-delay":
            if self.restarts >= o.attempts:
                return None
            delay = min(self._backoff, o.max_backoff_s)
            self._backoff = min(self._backoff * o.multiplier, o.max_backoff_s)
        else:  # failure-rate
            self._failures.append(now)
            while self._failures and now - self._failures[0] > o.failure_interval_s:
                self._failures.popleft()
            if len(self._failures) > o.max_failures_per_interval:
                return None
            delay = o.delay_s
        self.restarts += 1
        return delay
