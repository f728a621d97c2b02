"""Column references of stored SQL expression text (shared by the rules)."""

from __future__ import annotations

import functools

from sqlglot import exp


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> exp.Expression:
    from flowsql.sql.parser import parse_expression

    return parse_expression(text)


def parse(text: str) -> exp.Expression:
    return _parse(text)


def referenced(text: str | None, available: list[str] | set[str]) -> set[str]:
    """Top-level columns of ``available`` that ``text`` reads (``r.f`` reads ``r``)."""
    if not text:
        return set()
    out = set()
    for c in _parse(text).find_all(exp.Column):
        parts = [p.name for p in c.parts]
        for p in parts:
            if p in available:
                out.add(p)
                break
    return out
