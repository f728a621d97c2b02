"""Slice assignment for TUMBLE / HOP / CUMULATE windows: vectorized arithmetic on epoch ms.

Contract (Flink's slicing windows):
- Time is int64 epoch milliseconds (numpy arrays); a window ``[start, end)`` fires when the
  watermark reaches ``end - 1``; ``window_time = end - 1``.
- Every row goes to exactly ONE slice, identified by its ``slice_end``; a window is the union
  of whole slices, so a row is aggregated once and a window's result is the merge of its
  slices. TUMBLE: slice = window. HOP(slide, size): slices of ``gcd(slide, size)``, each in
  ``ceil(size / slide)`` windows at most. CUMULATE(step, size): slices of ``step``; the
  windows of one cumulation period ``[W, W + size)`` are ``[W, W + k * step)``.
- :meth:`SliceAssigner.last_window_end` is the end of the last window a slice belongs to:
  a row is late when that window has fired, and a slice can be evicted once it has.
- :meth:`SliceAssigner.expand` lists the (slice row, window end) pairs for the windows whose
  end lies in ``(lo, hi]`` — the windows a watermark advance fires; window ends lie on a
  grid (``period``, ``phase``), so :meth:`SliceAssigner.ends_between` tells in O(1) whether a
  watermark advance can fire anything at all.
"""

from __future__ import annotations

import abc
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import ExecutionError
from flowsql.operators.specs import WindowSpec


def _floor(ts: np.ndarray, size: int, offset: int) -> np.ndarray:
    return ((ts - offset) // size) * size + offset


class SliceAssigner(abc.ABC):
    slice_ms: int

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset = int(offset_ms)

    def slice_end(self, ts: np.ndarray) -> np.ndarray:
        return _floor(ts, self.slice_ms, self.offset) + self.slice_ms

    @abc.abstractmethod
    def last_window_end(self, slice_end: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def expand(self, slice_end: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """``(row index into slice_end, window end)`` for windows with ``lo < end <= hi``."""

    @abc.abstractmethod
    def window_start(self, window_end: np.ndarray) -> np.ndarray: ...

    # window ends lie on the grid ``end = phase (mod period)``
    period: int
    phase: int

    def next_end(self, after: int) -> int:
        """The first grid point (a possible window end) after ``after`` (Python ints)."""
        return after + 1 + (self.phase - (after + 1)) % self.period

    def ends_between(self, lo: int, hi: int) -> bool:
        """Whether any window could end in ``(lo, hi]`` (Python ints: no overflow)."""
        return self.next_end(lo) <= hi

    @property
    def one_slice_per_window(self) -> bool:
        return False


class TumbleAssigner(SliceAssigner):
    def __init__(self, size_ms: int, offset_ms: int = 0) -> None:
        super().__init__(offset_ms)
        self.size = self.slice_ms = int(size_ms)
        self.period, self.phase = self.size, self.offset % self.size

    def last_window_end(self, slice_end: np.ndarray) -> np.ndarray:
        return slice_end

    def expand(self, slice_end: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.flatnonzero((slice_end > lo) & (slice_end <= hi))
        return rows, slice_end[rows]

    def window_start(self, window_end: np.ndarray) -> np.ndarray:
        return window_end - self.size

    @property
    def one_slice_per_window(self) -> bool:
        return True


class HopAssigner(SliceAssigner):
    def __init__(self, size_ms: int, slide_ms: int, offset_ms: int = 0) -> None:
        super().__init__(offset_ms)
        self.size, self.slide = int(size_ms), int(slide_ms)
        self.slice_ms = math.gcd(self.size, self.slide)
        self.max_windows = -(-self.size // self.slide)
        self.period, self.phase = self.slide, (self.offset + self.size) % self.slide

    def last_window_end(self, slice_end: np.ndarray) -> np.ndarray:
        # windows end on the grid offset + size + k * slide; the last one covering the slice
        # [se - g, se) is the largest grid point <= se - g + size.
        top = slice_end - self.slice_ms + self.size
        return top - ((top - self.offset - self.size) % self.slide)

    def expand(self, slice_end: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        first = slice_end + ((self.offset + self.size - slice_end) % self.slide)
        top = slice_end - self.slice_ms + self.size
        rows = np.repeat(np.arange(len(slice_end)), self.max_windows)
        ends = first[rows] + np.tile(np.arange(self.max_windows) * self.slide, len(slice_end))
        keep = (ends <= top[rows]) & (ends > lo) & (ends <= hi)
        return rows[keep], ends[keep]

    def window_start(self, window_end: np.ndarray) -> np.ndarray:
        return window_end - self.size


class CumulateAssigner(SliceAssigner):
    def __init__(self, size_ms: int, step_ms: int, offset_ms: int = 0) -> None:
        super().__init__(offset_ms)
        self.size, self.slice_ms = int(size_ms), int(step_ms)
        self.max_windows = self.size // self.slice_ms
        self.period, self.phase = self.slice_ms, self.offset % self.slice_ms

    def last_window_end(self, slice_end: np.ndarray) -> np.ndarray:
        return _floor(slice_end - self.slice_ms, self.size, self.offset) + self.size

    def expand(self, slice_end: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        last = self.last_window_end(slice_end)
        rows = np.repeat(np.arange(len(slice_end)), self.max_windows)
        ends = slice_end[rows] + np.tile(np.arange(self.max_windows) * self.slice_ms,
                                         len(slice_end))
        keep = (ends <= last[rows]) & (ends > lo) & (ends <= hi)
        return rows[keep], ends[keep]

    def window_start(self, window_end: np.ndarray) -> np.ndarray:
        return _floor(window_end - 1, self.size, self.offset)


def assigner_for(window: WindowSpec) -> SliceAssigner:
    if window.kind == "TUMBLE":
        return TumbleAssigner(window.size_ms, window.offset_ms)
    if window.kind == "HOP":
        return HopAssigner(window.size_ms, window.slide_ms, window.offset_ms)
    if window.kind == "CUMULATE":
        return CumulateAssigner(window.size_ms, window.step_ms, window.offset_ms)
    raise ValueError(f"{window.kind} windows are not slice-assigned (use SessionWindowOperator)")


def event_time_ms(batch: pa.RecordBatch | pa.Table, column: str) -> np.ndarray:
    """The time column as int64 epoch ms (timestamps of any unit, or int64 epoch ms)."""
    col = batch.column(column)
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.null_count:
        raise ExecutionError(
            f"the time attribute column {column!r} holds NULL values",
            hint="filter out rows without an event time before the window",
        )
    t = col.type
    if pa.types.is_timestamp(t):
        if t.unit != "ms":
            col = pc.cast(col, pa.timestamp("ms", t.tz), safe=False)
        col = col.view(pa.int64())
    elif pa.types.is_date(t):
        col = pc.cast(pc.cast(col, pa.timestamp("ms")), pa.int64())
    elif not pa.types.is_int64(t):
        col = pc.cast(col, pa.int64())
    return col.to_numpy(zero_copy_only=False)
