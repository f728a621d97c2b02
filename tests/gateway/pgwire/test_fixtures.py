"""Replayed connect and introspection queries of BI tools (fixtures/*.sql), through psycopg in
both protocols: every statement must answer without error."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from flowsql.gateway.pgwire.router import split

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.sql"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
@pytest.mark.parametrize("prepare", [False, True], ids=["simple", "extended"])
def test_replay(pg, path, prepare):
    statements = split(path.read_text())
    assert statements
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        for stmt in statements:
            try:
                if prepare:
                    cur = conn.execute(stmt.replace("%", "%%"), [], prepare=True)
                else:
                    cur = conn.cursor()
                    cur.execute(stmt.encode())  # bytes: sent as is, no placeholders
                if cur.description is not None:
                    cur.fetchall()
            except psycopg.Error as e:
                pytest.fail(f"{path.name}: {e.sqlstate} {e}\n--- statement:\n{stmt}")
