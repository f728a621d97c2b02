"""IN / EXISTS subqueries and WITH through the Session: both modes agree on NOT IN's NULL
semantics, the plan has semi / anti joins, and the forms that are not planned say so
(tests/e2e/test_differential_subqueries.py covers the results at large)."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError

SETUP = """
CREATE TEMPORARY VIEW o AS SELECT * FROM (VALUES (1, 10), (2, 20), (3, CAST(NULL AS INT)),
  (4, 10)) AS o(id, c);
CREATE TEMPORARY VIEW p AS SELECT * FROM (VALUES (10, 'x'), (30, 'y'), (10, 'z')) AS p(c, n);
CREATE TEMPORARY VIEW pn AS SELECT * FROM (VALUES (10, 'x'), (CAST(NULL AS INT), 'y')) AS pn(c, n);
"""


@pytest.fixture
def s(session):
    session.execute_one(SETUP)
    return session


def ids(session, sql: str) -> list[int]:
    return sorted(r["id"] for r in session.execute_one(sql).table.to_pylist())


@pytest.mark.parametrize("sql, expected", [
    ("SELECT id FROM o WHERE c IN (SELECT c FROM p)", [1, 4]),
    ("SELECT id FROM o WHERE c NOT IN (SELECT c FROM p)", [2]),  # NULL c: unknown, not kept
    ("SELECT id FROM o WHERE c NOT IN (SELECT c FROM pn)", []),  # a NULL in the subquery
    ("SELECT id FROM o WHERE c NOT IN (SELECT c FROM p WHERE c > 100)", [1, 2, 3, 4]),  # empty
    ("SELECT id FROM o WHERE EXISTS (SELECT 1 FROM p WHERE p.c = o.c)", [1, 4]),
    ("SELECT id FROM o WHERE NOT EXISTS (SELECT 1 FROM p WHERE c = o.c AND n > 'x')", [2, 3]),
    ("SELECT id FROM o WHERE id > 1 AND EXISTS (SELECT * FROM p)", [2, 3, 4]),
    ("WITH q AS (SELECT c FROM p WHERE n <> 'x') SELECT id FROM o WHERE c IN (SELECT c FROM q)", [1, 4]),
])
def test_both_modes(s, sql, expected):
    assert ids(s, sql) == expected
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert ids(s, sql) == expected


def test_plan_has_semi_and_anti_joins(s):
    plan = s.execute_one("EXPLAIN SELECT id FROM o WHERE c IN (SELECT c FROM p) AND NOT EXISTS "
                         "(SELECT 1 FROM pn WHERE pn.c = o.c)").message
    assert "joinType=[LeftSemiJoin]" in plan and "joinType=[LeftAntiJoin]" in plan


def test_cte_scopes(s):
    assert ids(s, "WITH o AS (SELECT 7 AS id) SELECT id FROM o") == [7]  # shadows the view
    assert ids(s, "WITH a AS (SELECT id FROM o), b (id) AS (SELECT id + 1 FROM a) "
                  "SELECT id FROM b WHERE id > 4") == [5]


@pytest.mark.parametrize("sql, message", [
    ("SELECT id FROM o WHERE c IN (SELECT c FROM p) OR id = 1", "outside the AND-ed conditions"),
    ("SELECT id, EXISTS (SELECT 1 FROM p) FROM o", "EXISTS \\(subquery\\) outside"),
    ("SELECT id FROM o WHERE (id, c) IN (SELECT 1, c FROM p)", "IN with a row of values"),
    ("SELECT id FROM o WHERE EXISTS (SELECT c FROM p WHERE p.c = o.c GROUP BY c)",
     "correlated EXISTS subquery with GROUP BY"),
    ("WITH RECURSIVE r AS (SELECT 1 AS x) SELECT * FROM r", "WITH RECURSIVE"),
])
def test_not_supported(s, sql, message):
    with pytest.raises(NotSupportedError, match=message):
        s.execute_one(sql)
