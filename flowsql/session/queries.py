"""Handlers for queries: SELECT, INSERT INTO, EXECUTE STATEMENT SET, EXPLAIN."""

from __future__ import annotations

HANDLERS: dict = {}
