"""Handlers for DDL and introspection statements (CREATE/DROP/USE/SHOW/DESCRIBE)."""

from __future__ import annotations

HANDLERS: dict = {}
