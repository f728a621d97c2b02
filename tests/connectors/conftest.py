"""Fixtures for connector tests: build a TableDefinition from (name, type) pairs and options.

Also makes sure ``connectors`` / ``catalog`` are the real packages: pytest puts ``tests/`` on
sys.path (rootdir conftest, no ``__init__``), where ``tests/connectors`` would otherwise be
imported as a namespace package ahead of the editable install's finder.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
for _name in [m for m in sys.modules if m.split(".")[0] in ("connectors", "catalog")]:
    if getattr(sys.modules[_name], "__file__", None) is None:
        del sys.modules[_name]

from catalog.table import Column, ObjectName, TableDefinition  # noqa: E402


def build_table(columns: list[tuple[str, str]], options: dict[str, str]) -> TableDefinition:
    return TableDefinition(
        name=ObjectName("default_catalog", "default_database", "t"),
        columns=tuple(Column(n, t) for n, t in columns),
        options=dict(options),
    )


@pytest.fixture
def make_table() -> Callable[[list[tuple[str, str]], dict[str, str]], TableDefinition]:
    return build_table
