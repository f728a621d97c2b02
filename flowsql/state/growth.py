"""Capacity growth of the append-only numpy arrays that hold operator state per slot.

Contract: :func:`grown` returns ``a`` when it holds ``n`` slots already, else a copy with
``fill`` appended up to :func:`next_capacity`. Growth is ×1.5 below 2^20 slots and ×1.25
above: each grow copies the array, so copies stay O(1) amortized per slot either way, while
the unused tail of a large state stays under a quarter of it (doubling left up to half of a
10 M-key state empty: 82 bytes per key where the live data is 24-27).
"""

from __future__ import annotations

import numpy as np

_LARGE = 1 << 20


def next_capacity(current: int, needed: int, floor: int = 1024) -> int:
    """The capacity after growing from ``current`` to hold at least ``needed`` slots."""
    step = current // 2 if current < _LARGE else current // 4
    return max(needed, current + step, floor)


def grown(a: np.ndarray, n: int, fill: int | float | bool = 0, floor: int = 1024) -> np.ndarray:
    """``a`` with room for ``n`` slots (the new tail set to ``fill``)."""
    if n <= len(a):
        return a
    extra = np.full(next_capacity(len(a), n, floor) - len(a), fill, dtype=a.dtype)
    return np.concatenate([a, extra])
