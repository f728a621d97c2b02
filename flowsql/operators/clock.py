"""The processing-time clock the runtime hands to operators (``OperatorContext.clock``).

Contract:
- :meth:`Clock.now_ms` is the current processing time in epoch milliseconds. It never goes
  back: :class:`SystemClock` holds its last reading when the wall clock steps backwards
  (NTP), so a processing-time watermark derived from it is monotone.
- :class:`SystemClock` reads ``time.time()``; every task of a job gets one (the runtime
  passes it through the operator context), so operators never read the wall clock themselves
  when their output depends on it (processing-time windows: :mod:`.proctime_window`).
- :func:`stamped`: a batch with one column overwritten by one reading of a clock, in that
  column's type (processing-time windows and OVER windows stamp rows on arrival).
- :class:`ManualClock` is a clock that moves only when told (:meth:`ManualClock.set` /
  :meth:`ManualClock.advance`): unit tests use it for exact, checkable processing-time
  results.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa


class Clock:
    """Processing time in epoch milliseconds; monotone."""

    def now_ms(self) -> int:
        raise NotImplementedError


class SystemClock(Clock):
    """The wall clock (``time.time()``), never going back."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        now = int(time.time() * 1000)
        with self._lock:
            if now > self._last:
                self._last = now
            return self._last


class ManualClock(Clock):
    """A clock that moves only when a test moves it."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = int(start_ms)

    def now_ms(self) -> int:
        return self._now

    def set(self, ms: int) -> None:
        if ms < self._now:
            raise ValueError(f"a clock does not go back ({ms} < {self._now})")
        self._now = int(ms)

    def advance(self, ms: int) -> None:
        self.set(self._now + int(ms))


SYSTEM_CLOCK = SystemClock()


def stamped(batch: pa.RecordBatch, column: str, now_ms: int) -> pa.RecordBatch:
    """``batch`` with ``column`` set to ``now_ms`` on every row (vectorized), in its type."""
    i = batch.schema.get_field_index(column)
    field = batch.schema.field(i)
    stamp = pa.array(np.full(batch.num_rows, now_ms, dtype=np.int64)).cast(field.type)
    return batch.set_column(i, field, stamp)
