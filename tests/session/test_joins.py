"""Regular joins through the Session: results in both modes, errors and warnings
(the differential tests in tests/e2e/test_differential_joins.py cover the results at large)."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError, ValidationError

SETUP = """
CREATE TEMPORARY VIEW orders AS SELECT * FROM (VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 10, 'c'),
  (4, CAST(NULL AS INT), 'd')) AS o(id, customer, item);
CREATE TEMPORARY VIEW customers AS SELECT * FROM (VALUES (10, 'ann'), (30, 'cy')) AS c(id, name);
"""


@pytest.fixture
def s(session):
    session.execute_one(SETUP)
    return session


def rows(session, sql: str) -> list[tuple]:
    return sorted((tuple(r.values()) for r in session.execute_one(sql).table.to_pylist()), key=str)


@pytest.mark.parametrize("join, expected", [
    ("JOIN", [(1, "ann"), (3, "ann")]),
    ("LEFT JOIN", [(1, "ann"), (2, None), (3, "ann"), (4, None)]),
    ("RIGHT JOIN", [(1, "ann"), (3, "ann"), (None, "cy")]),
    ("FULL OUTER JOIN", [(1, "ann"), (2, None), (3, "ann"), (4, None), (None, "cy")]),
])
def test_join_types_in_both_modes(s, join, expected):
    sql = f"SELECT o.id, c.name FROM orders AS o {join} customers AS c ON o.customer = c.id"
    assert rows(s, sql) == sorted(expected, key=str)
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    assert rows(s, sql) == sorted(expected, key=str)


def test_select_star_names_the_right_columns_like_flink(s):
    result = s.execute_one("SELECT * FROM orders JOIN customers ON orders.customer = customers.id")
    assert result.table.column_names == ["id", "customer", "item", "id0", "name"]
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    result = s.execute_one("SELECT * FROM orders JOIN customers ON orders.customer = customers.id")
    assert result.table.column_names == ["id", "customer", "item", "id0", "name"]


def test_qualified_star_and_residual(s):
    result = s.execute_one("SELECT c.*, o.item FROM orders AS o JOIN customers AS c "
                           "ON c.id = o.customer AND o.item > 'a'")
    assert result.table.to_pylist() == [{"id": 10, "name": "ann", "item": "c"}]


@pytest.mark.parametrize("sql, error, message", [
    ("SELECT * FROM orders AS o JOIN customers AS c\n  ON o.customer > c.id", ValidationError,
     r"needs at least one equality condition between its inputs; 'o.customer > c.id' has none "
     r"\(line 2, column 6\)"),
    ("SELECT * FROM orders, customers", ValidationError, "needs an equality condition"),
    ("SELECT * FROM orders CROSS JOIN customers", ValidationError, "CROSS JOIN"),
    ("SELECT id FROM orders AS o JOIN customers AS c ON o.customer = c.id", ValidationError,
     "ambiguous column 'id'"),
    ("SELECT * FROM orders AS o JOIN customers AS c USING (id)", NotSupportedError, "USING"),
    ("SELECT * FROM orders AS o JOIN customers AS c ON o.item = c.id", ValidationError,
     "cannot compare"),
])
def test_bad_joins(s, sql, error, message):
    with pytest.raises(error, match=message):
        s.execute_one(sql)


def test_an_array_column_in_a_join_input_is_refused_at_planning(s, tmp_path):
    (tmp_path / "tags").mkdir()
    s.execute_one(f"CREATE TEMPORARY TABLE tags (id INT, tags ARRAY<STRING>) WITH ("
                  f"'connector' = 'filesystem', 'path' = '{tmp_path / 'tags'}', 'format' = 'json')")
    with pytest.raises(NotSupportedError, match=r"ARRAY<STRING> \('tags'\)"):
        s.execute_one("SELECT o.id, t.tags FROM orders AS o JOIN tags AS t ON o.customer = t.id")
    # a column the query does not read is pruned before the join
    assert s.execute_one("SELECT o.id FROM orders AS o JOIN tags AS t "
                         "ON o.customer = t.id").table.num_rows == 0


def test_ambiguous_hint_names_the_candidates(s):
    with pytest.raises(ValidationError) as info:
        s.execute_one("SELECT id FROM orders AS o JOIN customers AS c ON o.customer = c.id")
    assert info.value.hint == "qualify it with its table: o.id or c.id"


UNBOUNDED = """
CREATE TEMPORARY TABLE clicks (user_id INT, url STRING) WITH ('connector' = 'datagen');
CREATE TEMPORARY TABLE users (id INT, name STRING) WITH ('connector' = 'datagen');
"""


def test_unbounded_join_without_ttl_warns(s):
    s.execute_one(UNBOUNDED)
    sql = "EXPLAIN SELECT c.url, u.name FROM clicks AS c JOIN users AS u ON c.user_id = u.id"
    assert any("table.exec.state.ttl" in w for w in s.execute_one(sql).warnings)
    s.execute_one("SET 'table.exec.state.ttl' = '1 h'")
    assert not any("table.exec.state.ttl" in w for w in s.execute_one(sql).warnings)
    assert not any("state.ttl" in w for w in s.execute_one(
        "EXPLAIN SELECT o.id FROM orders AS o JOIN customers AS c ON o.customer = c.id").warnings)
