"""Checkpoint and restart options of a job, with Flink's names and defaults.

Contract: :func:`checkpoint_options` reads a job's configuration (strings, as ``SET`` stores
them) into :class:`CheckpointOptions`; :func:`restart_options` into :class:`RestartOptions`.
A malformed value raises :class:`~flowsql.errors.ValidationError` naming the option and, for
enumerations, listing the valid values.

- ``execution.checkpointing.interval``: unset or 0 disables checkpointing (Flink's default).
- ``execution.checkpointing.timeout`` (10 min), ``…min-pause`` (0),
  ``…tolerable-failed-checkpoints`` (0), ``state.checkpoints.num-retained`` (1),
  ``execution.checkpointing.externalized-checkpoint-retention``
  (``NO_EXTERNALIZED_CHECKPOINTS`` | ``DELETE_ON_CANCELLATION`` | ``RETAIN_ON_CANCELLATION``).
- ``execution.checkpointing.dir`` (or Flink's ``state.checkpoints.dir``): a local path or a
  ``pyarrow.fs`` URI; required when checkpointing is on.
- ``restart-strategy.type``: ``none`` | ``fixed-delay`` | ``exponential-delay`` |
  ``failure-rate`` (aliases ``off``/``disable``, ``fixeddelay``, ``exponentialdelay``,
  ``failurerate``); unset means ``exponential-delay`` with checkpointing on, ``none`` without.
  Options: ``restart-strategy.fixed-delay.attempts`` (1) / ``.delay`` (1 s);
  ``restart-strategy.exponential-delay.initial-backoff`` (1 s) / ``.max-backoff`` (1 min) /
  ``.backoff-multiplier`` (1.5) / ``.attempts-before-reset-backoff`` (unbounded);
  ``restart-strategy.failure-rate.max-failures-per-interval`` (1) /
  ``.failure-rate-interval`` (1 min) / ``.delay`` (1 s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowsql.errors import ValidationError
from flowsql.runtime.jobmanager.durations import seconds

RETENTIONS = ("NO_EXTERNALIZED_CHECKPOINTS", "DELETE_ON_CANCELLATION", "RETAIN_ON_CANCELLATION")
STRATEGIES = {
    "none": "none", "off": "none", "disable": "none",
    "fixed-delay": "fixed-delay", "fixeddelay": "fixed-delay",
    "exponential-delay": "exponential-delay", "exponentialdelay": "exponential-delay",
    "failure-rate": "failure-rate", "failurerate": "failure-rate",
}


@dataclass(frozen=True)
class CheckpointOptions:
    interval_s: float  # 0 = off
    timeout_s: float = 600.0
    min_pause_s: float = 0.0
    tolerable_failures: int = 0
    num_retained: int = 1
    retention: str = "NO_EXTERNALIZED_CHECKPOINTS"
    directory: str | None = None

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0


@dataclass(frozen=True)
class RestartOptions:
    strategy: str = "none"
    attempts: int = 1
    delay_s: float = 1.0
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    multiplier: float = 1.5
    max_failures_per_interval: int = 1
    failure_interval_s: float = 60.0


def _int(config: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    text = config.get(key)
    if text is None or str(text).strip() == "":
        return default
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValidationError(f"option '{key}' must be an integer, got '{text}'") from None
    if value < minimum:
        raise ValidationError(f"option '{key}' must be >= {minimum}, got {value}")
    return value


def _duration(config: Mapping[str, str], key: str, default: float) -> float:
    try:
        return seconds(config.get(key), default)
    except ValidationError as e:
        raise ValidationError(f"option '{key}': {e.message}") from None


def checkpoint_options(config: Mapping[str, str]) -> CheckpointOptions:
    retention = str(config.get("execution.checkpointing.externalized-checkpoint-retention",
                               RETENTIONS[0])).strip().upper()
    if retention not in RETENTIONS:
        raise ValidationError(
            f"option 'execution.checkpointing.externalized-checkpoint-retention' cannot be "
            f"'{retention}'; valid values: {', '.join(RETENTIONS)}")
    directory = config.get("execution.checkpointing.dir") or config.get("state.checkpoints.dir")
    options = CheckpointOptions(
        interval_s=_duration(config, "execution.checkpointing.interval", 0.0),
        timeout_s=_duration(config, "execution.checkpointing.timeout", 600.0),
        min_pause_s=_duration(config, "execution.checkpointing.min-pause", 0.0),
        tolerable_failures=_int(config, "execution.checkpointing.tolerable-failed-checkpoints", 0),
        num_retained=_int(config, "state.checkpoints.num-retained", 1, minimum=1),
        retention=retention,
        directory=str(directory).strip() if directory else None,
    )
    if options.enabled and not options.directory:
        raise ValidationError(
            "checkpointing is on ('execution.checkpointing.interval') but no checkpoint "
            "directory is set",
            hint="SET 'execution.checkpointing.dir' = '/path/to/checkpoints';")
    return options


def restart_options(config: Mapping[str, str], checkpointing: bool) -> RestartOptions:
    raw = config.get("restart-strategy.type") or config.get("restart-strategy")
    if raw is None or str(raw).strip() == "":
        name = "exponential-delay" if checkpointing else "none"
    else:
        name = STRATEGIES.get(str(raw).strip().lower())
        if name is None:
            raise ValidationError(
                f"option 'restart-strategy.type' cannot be '{raw}'; valid values: "
                "none, fixed-delay, exponential-delay, failure-rate")
    p = "restart-strategy."
    try:
        multiplier = float(config.get(p + "exponential-delay.backoff-multiplier", 1.5))
    except ValueError:
        raise ValidationError("option 'restart-strategy.exponential-delay.backoff-multiplier' "
                              "must be a number") from None
    if name == "fixed-delay":
        attempts = _int(config, p + "fixed-delay.attempts", 1)
        delay = _duration(config, p + "fixed-delay.delay", 1.0)
    elif name == "exponential-delay":
        attempts = _int(config, p + "exponential-delay.attempts-before-reset-backoff", 2**31 - 1)
        delay = _duration(config, p + "exponential-delay.initial-backoff", 1.0)
    else:
        attempts = 0
        delay = _duration(config, p + "failure-rate.delay", 1.0)
    return RestartOptions(
        strategy=name,
        attempts=attempts,
        delay_s=delay,
        initial_backoff_s=_duration(config, p + "exponential-delay.initial-backoff", 1.0),
        max_backoff_s=_duration(config, p + "exponential-delay.max-backoff", 60.0),
        multiplier=max(1.0, multiplier),
        max_failures_per_interval=_int(config, p + "failure-rate.max-failures-per-interval", 1),
        failure_interval_s=_duration(config, p + "failure-rate.failure-rate-interval", 60.0),
    )
