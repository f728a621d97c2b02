"""Golden EXPLAIN tests (data first): ``fixtures/<name>.sql`` in, ``fixtures/<name>.expected`` out.

Every fixture runs after ``fixtures/_ddl.sql`` in a fresh session; its last statement is an
EXPLAIN whose full text must equal the expected file. A fixture without its expected file
fails (the test never writes one by itself). Write or regenerate expected files with
``FLOWSQL_UPDATE_GOLDEN=1 pytest tests/planner/test_explain_golden.py`` and review the diff
before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(p.stem for p in FIXTURES.glob("*.sql") if not p.name.startswith("_"))


@pytest.mark.parametrize("name", CASES)
def test_explain_golden(session, name):
    session.execute_one((FIXTURES / "_ddl.sql").read_text())
    result = session.execute_one((FIXTURES / f"{name}.sql").read_text())
    text = result.message.rstrip() + "\n"
    expected = FIXTURES / f"{name}.expected"
    if os.environ.get("FLOWSQL_UPDATE_GOLDEN"):
        expected.write_text(text)
    if not expected.exists():
        pytest.fail(
            f"{expected.relative_to(FIXTURES.parent)} is missing: run with FLOWSQL_UPDATE_GOLDEN=1 "
            "to write it, then review and commit it"
        )
    assert text == expected.read_text()
