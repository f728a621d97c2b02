"""Flink's documented examples of its JSON functions, in the streaming compiler
(flowsql.expr.json) and in the batch rewrite run by DuckDB (flowsql.batch.json), plus errors."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
import sqlglot

import flowsql.sql.dialect  # noqa: F401  (registers "flink")
from flowsql.batch.functions import map_functions
from flowsql.errors import ExecutionError, NotSupportedError, ValidationError
from flowsql.expr.compile import compile_expression

ONE = pa.record_batch({"x": pa.array([1], pa.int64())})

# (Flink SQL expression, expected value), from Flink's "JSON Functions" documentation
DOC_EXAMPLES = [
    ("'1' IS JSON", True),
    ("'[]' IS JSON", True),
    ("'{}' IS JSON", True),
    ("'\"abc\"' IS JSON", True),
    ("'abc' IS JSON", False),
    ("CAST(NULL AS STRING) IS JSON", False),
    ("'1' IS JSON SCALAR", True),
    ("'1' IS JSON ARRAY", False),
    ("'1' IS JSON OBJECT", False),
    ("'{}' IS JSON OBJECT", True),
    ("'{}' IS JSON SCALAR", False),
    ("'[]' IS JSON VALUE", True),
    ("""JSON_EXISTS('{"a": true}', '$.a')""", True),
    ("""JSON_EXISTS('{"a": true}', '$.b')""", False),
    ("""JSON_EXISTS('{"a": [{ "b": 1 }]}', '$.a[0].b')""", True),
    ("""JSON_EXISTS('{"a": [{ "b": 1 }]}', '$.a[0].c')""", False),
    ("""JSON_EXISTS('{"a": true}', 'strict $.b' TRUE ON ERROR)""", True),
    ("""JSON_EXISTS('{"a": true}', 'strict $.b' FALSE ON ERROR)""", False),
    ("JSON_STRING(1)", "1"),
    ("JSON_STRING(TRUE)", "true"),
    ("JSON_STRING('Hello, World!')", '"Hello, World!"'),
    ("""JSON_VALUE('{"a": true}', '$.a')""", "true"),
    ("""JSON_VALUE('{"a": true}', '$.a' RETURNING BOOLEAN)""", True),
    ("""JSON_VALUE('{"a": true}', 'lax $.b' DEFAULT 'default' ON EMPTY)""", "default"),
    ("""JSON_VALUE('{"a": true}', 'strict $.b' DEFAULT 'default' ON ERROR)""", "default"),
    ("""JSON_VALUE('{"a.b": [0.998,0.996]}','$.["a.b"][0]' RETURNING DOUBLE)""", 0.998),
    ("""JSON_VALUE('{"contains blank": "right"}', 'strict $.[''contains blank'']' """
     """NULL ON EMPTY DEFAULT 'wrong' ON ERROR)""", "right"),
    ("""JSON_QUERY('{ "a": { "b": 1 } }', '$.a')""", '{"b":1}'),
    ("JSON_QUERY('[1, 2]', '$')", "[1,2]"),
    ("JSON_QUERY(CAST(NULL AS STRING), '$')", None),
    ("JSON_QUERY('{}', '$' WITH CONDITIONAL ARRAY WRAPPER)", "[{}]"),
    ("JSON_QUERY('[1, 2]', '$' WITH CONDITIONAL ARRAY WRAPPER)", "[1,2]"),
    ("JSON_QUERY('[1, 2]', '$' WITH UNCONDITIONAL ARRAY WRAPPER)", "[[1,2]]"),
    ("JSON_QUERY('1', '$')", None),
    ("JSON_QUERY('1', '$' WITH CONDITIONAL ARRAY WRAPPER)", "[1]"),
    ("JSON_QUERY('{}', 'lax $.invalid' EMPTY OBJECT ON EMPTY)", "{}"),
    ("JSON_QUERY('{}', 'strict $.invalid' EMPTY ARRAY ON ERROR)", "[]"),
    ("JSON_OBJECT()", "{}"),
    ("JSON_OBJECT('K1' VALUE 'V1', 'K2' VALUE 'V2')", '{"K1":"V1","K2":"V2"}'),
    ("JSON_OBJECT(KEY 'K1' VALUE 'V1')", '{"K1":"V1"}'),
    ("JSON_OBJECT(KEY 'K1' VALUE CAST(NULL AS STRING) NULL ON NULL)", '{"K1":null}'),
    ("JSON_OBJECT(KEY 'K1' VALUE CAST(NULL AS STRING) ABSENT ON NULL)", "{}"),
    ("JSON_OBJECT(KEY 'K1' VALUE JSON_OBJECT(KEY 'K2' VALUE 'V'))", '{"K1":{"K2":"V"}}'),
    ("JSON_ARRAY()", "[]"),
    ("JSON_ARRAY(1, '2')", '[1,"2"]'),
    ("JSON_ARRAY(CAST(NULL AS STRING) NULL ON NULL)", "[null]"),
    ("JSON_ARRAY(CAST(NULL AS STRING) ABSENT ON NULL)", "[]"),
    ("JSON_ARRAY(CAST(NULL AS STRING))", "[]"),
    ("JSON_ARRAY(JSON_ARRAY(1))", "[[1]]"),
    ("JSON_ARRAY(JSON_OBJECT(KEY 'nested_json' VALUE JSON_OBJECT(KEY 'value' VALUE 'test')))",
     '[{"nested_json":{"value":"test"}}]'),
]


def streaming(text: str):
    return compile_expression(text, ONE.schema).evaluate(ONE).to_pylist()[0]


def batch(text: str):
    tree = map_functions(sqlglot.parse_one(f"SELECT {text}", read="flink"))
    return duckdb.connect().sql(tree.sql(dialect="duckdb")).fetchall()[0][0]


@pytest.mark.parametrize(("text", "expected"), DOC_EXAMPLES)
def test_flink_documented_examples_in_both_engines(text, expected):
    assert streaming(text) == expected
    assert batch(text) == expected


def test_a_column_is_parsed_once_per_distinct_value():
    docs = pa.array(['{"a": 1}', '{"a": 1}', None, '{"a": 2}'] * 3)
    b = pa.record_batch({"j": docs})
    out = compile_expression("JSON_VALUE(j, '$.a' RETURNING INT)", b.schema).evaluate(b)
    assert out.to_pylist() == [1, 1, None, 2] * 3


@pytest.mark.parametrize("text", [
    """JSON_VALUE('{"a": [1]}', '$.a' ERROR ON EMPTY)""",
    "JSON_VALUE('nope', '$.a' ERROR ON ERROR)",
    "JSON_QUERY('{}', 'strict $.a' ERROR ON ERROR)",
    "JSON_EXISTS('nope', '$.a' ERROR ON ERROR)",
])
def test_error_on_raises_in_both_engines(text):
    with pytest.raises(ExecutionError, match="ERROR ON"):
        streaming(text)
    with pytest.raises(duckdb.Error, match="ERROR ON"):
        batch(text)


@pytest.mark.parametrize(("text", "error", "fragment"), [
    ("JSON_VALUE('{}', 'a')", ValidationError, "starts with '\\$'"),
    ("JSON_VALUE('{}', '$.a b')", ValidationError, "invalid JSON path"),
    ("JSON_VALUE('{}', CAST('$' AS STRING) || '.a')", ValidationError, "string literal"),
    ("JSON_QUERY('{}', '$.a[*].c')", NotSupportedError, "wildcards"),
    ("JSON_VALUE(x, '$.a')", ValidationError, "BIGINT"),
    ("JSON_VALUE('{}', '$.a' RETURNING DATE)", NotSupportedError, "RETURNING DATE"),
    ("JSON_OBJECT(CAST('k' AS STRING) || 'x' VALUE 1)", NotSupportedError, "key"),
])
def test_bad_calls_are_rejected_when_compiled(text, error, fragment):
    with pytest.raises(error, match=fragment):
        compile_expression(text, ONE.schema)
