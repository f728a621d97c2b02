"""Bounded waiting for tests: poll a condition until it holds or a deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.1) -> Any:
    """Call ``check`` until it returns something truthy; returns that value. After
    ``timeout`` seconds an AssertionError names ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} "
                                 f"(last value {value!r})")
        time.sleep(every)


def poll(fn: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """:func:`until` for a condition without a name."""
    return until("a condition", fn, timeout, interval)
