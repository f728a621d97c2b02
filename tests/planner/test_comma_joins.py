"""The comma-join rewrite, input/expected pairs: WHERE conjuncts over a comma join's items
move into its ON; others stay."""

from __future__ import annotations

import pytest

from flowsql.planner.comma_joins import comma_conditions
from flowsql.sql.parser import parse_query


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM a, b WHERE a.x = b.y AND a.z > 1 AND w = 2",
     "SELECT * FROM a JOIN b ON a.x = b.y WHERE a.z > 1 AND w = 2"),
    ("SELECT * FROM a AS o, b AS s, c WHERE o.id = s.id AND c.k = o.k AND c.k = s.k",
     "SELECT * FROM a AS o JOIN b AS s ON o.id = s.id JOIN c ON c.k = o.k AND c.k = s.k"),
    ("SELECT * FROM a JOIN b ON a.x = b.x WHERE a.y = b.y",
     "SELECT * FROM a JOIN b ON a.x = b.x WHERE a.y = b.y"),
    ("SELECT * FROM a, b WHERE a.x IN (SELECT b.x FROM b)",
     "SELECT * FROM a, b WHERE a.x IN (SELECT b.x FROM b)"),
])
def test_rewrite(sql, expected):
    assert comma_conditions(parse_query(sql)).sql() == expected
