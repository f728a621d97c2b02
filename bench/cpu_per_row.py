"""CPU per row of one call, for the micro-benchmarks (``bench/json_scan.py``,
``bench/json_write.py``): the best of ``repeat`` runs after a warm-up run, in us/row.

CPU time is the process's (``time.process_time``), so work in Arrow's thread pool counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def cpu_us_per_row(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """Best CPU-µs per row of ``fn()`` over ``repeat`` runs; ``fn`` must return non-None."""
    assert fn() is not None  # warm-up (first allocations, imports)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
        assert out is not None
    return best / n * 1e6
