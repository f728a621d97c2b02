"""Shared fixtures: every test runs with its own temporary FLOWSQL_HOME."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def flowsql_home(tmp_path, monkeypatch):
    home = tmp_path / "flowsql-home"
    home.mkdir()
    monkeypatch.setenv("FLOWSQL_HOME", str(home))
    return home


@pytest.fixture
def session(flowsql_home):
    from flowsql.session import Session

    s = Session(home=flowsql_home)
    yield s
    s.close()
