"""The part of EXPLAIN that planner tests assert on."""

from __future__ import annotations


def optimized(session, sql: str) -> str:
    """The "Optimized Logical Plan" section of ``EXPLAIN sql``."""
    text = session.execute_one("EXPLAIN " + sql).message
    return text.split("== Optimized Logical Plan ==")[1].split("== Physical Plan ==")[0]
