"""flowsql.sql.json_path: Flink JSON paths, rendering for DuckDB, JSON text as Jackson writes it."""

from __future__ import annotations

import pytest

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.sql.json_path import MISSING, dumps, java_double, loads, parse_path


@pytest.mark.parametrize(("text", "strict", "steps", "duck"), [
    ("$", False, (), "$"),
    ("$.a.b", False, ("a", "b"), '$."a"."b"'),
    ("lax $.a[0]", False, ("a", 0), '$."a"[0]'),
    ("strict $.a[-1]", True, ("a", -1), '$."a"[#-1]'),
    ("$['a b']", False, ("a b",), '$."a b"'),
    ('$.["a.b"][2]', False, ("a.b", 2), '$."a.b"[2]'),
    ("$.['it''s']", False, ("it's",), '$."it\'s"'),
])
def test_paths(text, strict, steps, duck):
    path = parse_path(text)
    assert (path.strict, path.steps, path.duckdb()) == (strict, steps, duck)


def test_find_walks_objects_and_arrays():
    doc = loads('{"a": [{"b": null}, 2], "c": {}}')
    assert parse_path("$.a[0].b").find(doc) is None
    assert parse_path("$.a[-1]").find(doc) == 2
    assert parse_path("$.a[5]").find(doc) is MISSING
    assert parse_path("$.c.d").find(doc) is MISSING
    assert parse_path("$.a.b").find(doc) is MISSING


@pytest.mark.parametrize(("text", "error"), [
    ("a.b", ValidationError), ("$.a..b", NotSupportedError), ("$.a[*]", NotSupportedError),
    ("$.*", NotSupportedError), ("$[?(@.a)]", NotSupportedError), ("$.a[x]", ValidationError),
])
def test_bad_paths(text, error):
    with pytest.raises(error):
        parse_path(text)


def test_invalid_json_and_java_number_text():
    for bad in ("NaN", "Infinity", "{'a': 1}", "", "[1,]"):
        with pytest.raises(ValueError):
            loads(bad)
    assert [java_double(x) for x in (1.0, 100.0, 0.998, 1e20, 1.5e-7, 1e7, -2.5e-10)] == [
        "1.0", "100.0", "0.998", "1.0E20", "1.5E-7", "1.0E7", "-2.5E-10"]
    assert dumps(loads('{"a": [1, 2.50, "é\\n", null, true, {}]}')) == \
        '{"a":[1,2.5,"é\\n",null,true,{}]}'
