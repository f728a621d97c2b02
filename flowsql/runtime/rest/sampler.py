"""Per-job rates from cumulative counters, without a background thread.

Contract:
- :meth:`RateSampler.rates` is called on each request with the job's current cumulative
  counters (per operator: a dict of counter name -> number). It records the sample (at most
  one per ``min_spacing_s``) and returns per-second rates against the newest *earlier*
  sample that is at least ``min_age_s`` (1 s) older than now; before such a sample exists
  every rate is ``None`` (unknown), never a made-up figure.
- Rates are ``(now_value - then_value) / elapsed``; a counter that went down (a restarted
  job) gives 0, a counter missing from the old sample gives ``None``.
- Only a handful of samples per job are kept (older ones are dropped once a newer sample
  is old enough); :meth:`forget` drops jobs that are gone. Thread-safe; the clock is
  injectable (monotonic seconds) so tests need no sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

Counters = Mapping[str, Mapping[str, float]]
Rates = dict[str, dict[str, float | None]]


class RateSampler:
    def __init__(
        self,
        *,
        min_age_s: float = 1.0,
        min_spacing_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_age_s = min_age_s
        self.min_spacing_s = min_spacing_s
        self.clock = clock
        self._lock = threading.Lock()
        self._samples: dict[str, list[tuple[float, dict[str, dict[str, float]]]]] = {}

    def rates(self, job_id: str, counters: Counters) -> Rates:
        now = self.clock()
        current = {op: dict(values) for op, values in counters.items()}
        with self._lock:
            samples = self._samples.setdefault(job_id, [])
            base = None
            for t, sample in reversed(samples):
                if now - t >= self.min_age_s:
                    base = (t, sample)
                    break
            if not samples or now - samples[-1][0] >= self.min_spacing_s:
                samples.append((now, current))
            # Keep the newest sample that is old enough (and everything newer): it is the
            # base of the next request's rates.
            while len(samples) > 1 and now - samples[1][0] >= self.min_age_s:
                samples.pop(0)
        rates: Rates = {}
        for op, values in current.items():
            old = base[1].get(op) if base else None
            elapsed = now - base[0] if base else 0.0
            rates[op] = {
                name: _rate(value, old.get(name) if old else None, elapsed)
                for name, value in values.items()
            }
        return rates

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the samples of every job not in ``keep``."""
        keep = set(keep)
        with self._lock:
            for job_id in [j for j in self._samples if j not in keep]:
                del self._samples[job_id]


def _rate(value: float, old: float | None, elapsed: float) -> float | None:
    if old is None or elapsed <= 0:
        return None
    return max(value - old, 0) / elapsed
