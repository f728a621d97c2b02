"""Flink's JSON functions give the same results in both engines: JSON_VALUE, JSON_QUERY,
JSON_EXISTS, IS JSON, JSON_OBJECT, JSON_ARRAY and JSON_STRING, streaming (flowsql.expr.json)
vs batch (DuckDB's json extension, flowsql.batch.json), over a fixed table of JSON texts:
objects, arrays, scalars, nesting, unicode, escapes, numbers, booleans, JSON null, invalid
text and SQL NULL. Values outside what both engines agree on (doubles printed with an
exponent, trailing commas, NaN, duplicate keys; see flowsql.sql.json_path) are left out."""

from __future__ import annotations

import pyarrow as pa
import pytest
from harness import SCHEMA, Differential, Input, assert_same_rows

DOCS = [
    '{"a": true, "b": {"c": [1, 2.5, "x"]}, "n": null, "s": "é ü 😀"}',
    '{"a": 1, "b": [10, 20, 30], "a b": "spaced", "a.b": 0.998}',
    '{"a": "say \\"hi\\" \\\\ back\\nslash", "b": {}}',
    '{"a": -12, "b": [], "big": 12345678901234567890}',
    '{"a": false, "b": [{"c": 1}, {"c": 2}]}',
    '{"a": 3.25, "b": {"c": "nested", "d": [true, null]}}',
    '[1, "two", {"a": 3}, null]',
    '"just a string"',
    "42",
    "true",
    "null",
    '{"a": 100.0, "b": 1.10}',
    '  {"a" : 1 }  ',
    '{"a": "x/y \\u00e9 \\t", "b": "\\/"}',
    '{"a": "1"}',
    "not json",
    '{"a": 1',
    "{'a': 1}",
    "",
    "[1 2]",
    "{a: 1}",
    None,
]
INTS = [1, None, -7, 0, 12345678901, 3]
DOUBLES = [1.5, -0.25, None, 100.0, 3.0, 0.001]

PATHS = ["$", "$.a", "$.b", "$.b.c", "$.b.c[1]", "$.b[0]", "$.b[-1]", "$['a b']",
         '$.["a.b"]', "$[0]", "$[2].a", "$.s", "$.n", "$.big", "$.missing", "strict $.a",
         "strict $.missing", "lax $.b.d"]


def _docs() -> Input:
    n = len(DOCS)
    cols = {f.name: pa.nulls(n, f.type) for f in SCHEMA}
    cols["k"] = pa.array([f"r{i:02d}" for i in range(n)])
    cols["s"] = pa.array(DOCS, pa.string())
    cols["v"] = pa.array([INTS[i % len(INTS)] for i in range(n)], pa.int64())
    cols["p"] = pa.array([DOUBLES[i % len(DOUBLES)] for i in range(n)], pa.float64())
    # several small batches, two parallel instances
    return Input(pa.table(cols, schema=SCHEMA), row_group=n, batch_size=5, parallelism=2)


@pytest.fixture(scope="module")
def differential():
    with Differential() as d:
        d.table("t", _docs())
        yield d


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check(differential, exprs: list[str]) -> dict[str, dict]:
    cols = ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs))
    sql = f"SELECT k, {cols} FROM t"
    streamed, batched = differential.run(sql)
    assert_same_rows(streamed, batched, context=sql)
    return {r["k"]: r for r in streamed.to_pylist()}


def test_json_value_same_in_both_engines(differential):
    rows = _check(differential, [f"JSON_VALUE(s, {_lit(p)})" for p in PATHS])
    first = rows["r00"]
    assert first["c1"] == "true" and first["c4"] == "2.5" and first["c11"] == "é ü 😀"
    assert first["c2"] is None and first["c12"] is None  # an object; JSON null
    assert rows["r01"]["c7"] == "spaced" and rows["r01"]["c8"] == "0.998"
    assert rows["r01"]["c6"] == "30" and rows["r03"]["c13"] == "12345678901234567890"
    assert rows["r11"]["c1"] == "100.0" and rows["r06"]["c10"] == "3"
    assert rows["r15"]["c1"] is None and rows["r21"]["c1"] is None  # invalid JSON; NULL


def test_json_value_returning_and_behaviors_same_in_both_engines(differential):
    rows = _check(differential, [
        "JSON_VALUE(s, '$.a' RETURNING BOOLEAN)",
        "JSON_VALUE(s, '$.b.c[1]' RETURNING DOUBLE)",
        "JSON_VALUE(s, '$.a' RETURNING DOUBLE DEFAULT -1.0 ON EMPTY DEFAULT -2.0 ON ERROR)",
        "JSON_VALUE(s, '$.missing' DEFAULT 'empty' ON EMPTY DEFAULT 'error' ON ERROR)",
        "JSON_VALUE(s, 'strict $.missing' DEFAULT 'empty' ON EMPTY DEFAULT 'error' ON ERROR)",
        "JSON_VALUE(s, '$.b' DEFAULT k ON EMPTY)",
        "JSON_VALUE(s, 'strict $.b' NULL ON EMPTY DEFAULT 'not scalar' ON ERROR)",
        # integral text only: CAST(STRING AS INT) of '3.7' differs between the engines
        "JSON_VALUE(s, '$.b[-1]' RETURNING BIGINT DEFAULT -1 ON ERROR)",
        "JSON_VALUE(s, '$.big' RETURNING BIGINT DEFAULT -1 ON ERROR)",
        "JSON_VALUE(s, '$[0]' RETURNING INT)",
    ])
    assert rows["r00"]["c0"] is True and rows["r04"]["c0"] is False
    assert rows["r00"]["c1"] == 2.5 and rows["r05"]["c2"] == 3.25
    assert rows["r00"]["c2"] == -2.0 and rows["r07"]["c2"] == -1.0  # 'true' ; no item
    assert rows["r00"]["c3"] == "empty" and rows["r15"]["c3"] == "error"
    assert rows["r00"]["c4"] == "error" and rows["r21"]["c4"] is None
    assert rows["r00"]["c5"] == "r00" and rows["r00"]["c6"] == "not scalar"
    assert rows["r01"]["c7"] == 30 and rows["r03"]["c8"] == -1  # BIGINT overflow: an error
    assert rows["r06"]["c9"] == 1 and rows["r07"]["c9"] is None


def test_json_query_same_in_both_engines(differential):
    exprs = [f"JSON_QUERY(s, {_lit(p)})" for p in PATHS]
    exprs += [f"JSON_QUERY(s, {_lit(p)} WITH {w} ARRAY WRAPPER)"
              for p in ("$.a", "$.b", "$.missing", "$")
              for w in ("CONDITIONAL", "UNCONDITIONAL")]
    exprs += ["JSON_QUERY(s, '$.a' EMPTY ARRAY ON EMPTY EMPTY OBJECT ON ERROR)",
              "JSON_QUERY(s, 'strict $.a' EMPTY ARRAY ON EMPTY EMPTY OBJECT ON ERROR)"]
    rows = _check(differential, exprs)
    assert rows["r00"]["c2"] == '{"c":[1,2.5,"x"]}' and rows["r01"]["c2"] == "[10,20,30]"
    assert rows["r00"]["c1"] is None  # a scalar needs a wrapper
    assert rows["r06"]["c0"] == '[1,"two",{"a":3},null]'
    assert rows["r00"]["c18"] == "[true]" and rows["r01"]["c20"] == "[10,20,30]"
    assert rows["r01"]["c21"] == "[[10,20,30]]" and rows["r00"]["c22"] == "[null]"
    assert rows["r00"]["c26"] == "[]" and rows["r15"]["c26"] == "{}"


def test_json_exists_and_is_json_same_in_both_engines(differential):
    exprs = [f"JSON_EXISTS(s, {_lit(p)})" for p in PATHS]
    exprs += ["JSON_EXISTS(s, 'strict $.missing' TRUE ON ERROR)",
              "JSON_EXISTS(s, '$.a' UNKNOWN ON ERROR)"]
    exprs += [f"s IS JSON {kind}" for kind in ("", "VALUE", "SCALAR", "ARRAY", "OBJECT")]
    exprs += ["s IS NOT JSON OBJECT"]
    rows = _check(differential, exprs)
    n = len(PATHS)
    assert rows["r00"]["c1"] is True and rows["r00"]["c12"] is False  # JSON null: no item
    assert rows["r00"]["c14"] is False and rows["r15"]["c1"] is False
    assert rows["r00"]["c16"] is False and rows["r00"][f"c{n}"] is True
    assert rows["r15"][f"c{n + 1}"] is None and rows["r21"]["c1"] is None
    is_json = [rows[f"r{i:02d}"][f"c{n + 2}"] for i in range(len(DOCS))]
    assert is_json == [d is not None and i < 15 for i, d in enumerate(DOCS)]
    assert rows["r08"][f"c{n + 4}"] is True and rows["r06"][f"c{n + 5}"] is True
    assert rows["r21"][f"c{n + 7}"] is True  # NULL IS NOT JSON OBJECT


def test_json_object_and_array_same_in_both_engines(differential):
    rows = _check(differential, [
        "JSON_OBJECT(KEY 'K1' VALUE 'V1', KEY 'K2' VALUE 'V2')",
        "JSON_OBJECT('v' VALUE v, 'p' VALUE p, 'ok' VALUE v > 0, 'k' VALUE k)",
        "JSON_OBJECT('v' VALUE v, 'a' VALUE JSON_VALUE(s, '$.a') ABSENT ON NULL)",
        "JSON_OBJECT(KEY 'nested' VALUE JSON_OBJECT(KEY 'x' VALUE v), 'arr' VALUE JSON_ARRAY(v, p))",
        "JSON_ARRAY(v, p, JSON_VALUE(s, '$.a'))",
        "JSON_ARRAY(v, p, JSON_VALUE(s, '$.a') NULL ON NULL)",
        "JSON_ARRAY(JSON_ARRAY(1), 'two', TRUE)",
        "JSON_OBJECT()",
        "JSON_ARRAY()",
        "JSON_OBJECT('q\"uote' VALUE JSON_VALUE(s, '$.a'))",
    ])
    assert rows["r00"]["c0"] == '{"K1":"V1","K2":"V2"}'
    assert rows["r00"]["c1"] == '{"v":1,"p":1.5,"ok":true,"k":"r00"}'
    assert rows["r01"]["c1"] == '{"v":null,"p":-0.25,"ok":null,"k":"r01"}'
    assert rows["r01"]["c2"] == '{"a":"1"}' and rows["r15"]["c2"] == '{"v":0}'
    assert rows["r00"]["c3"] == '{"nested":{"x":1},"arr":[1,1.5]}'
    assert rows["r01"]["c4"] == '[-0.25,"1"]' and rows["r01"]["c5"] == '[null,-0.25,"1"]'
    assert rows["r00"]["c6"] == '[[1],"two",true]'
    assert rows["r00"]["c7"] == "{}" and rows["r00"]["c8"] == "[]"
    assert rows["r02"]["c9"] == '{"q\\"uote":"say \\"hi\\" \\\\ back\\nslash"}'


def test_json_string_same_in_both_engines(differential):
    rows = _check(differential, ["JSON_STRING(s)", "JSON_STRING(v)", "JSON_STRING(p)",
                                 "JSON_STRING(v > 0)"])
    assert rows["r07"]["c0"] == '"\\"just a string\\""' and rows["r21"]["c0"] is None
    assert rows["r00"]["c1"] == "1" and rows["r00"]["c2"] == "1.5"
    assert rows["r00"]["c3"] == "true" and rows["r01"]["c1"] is None


@pytest.mark.parametrize("expr", ["JSON_VALUE(s, '$.a' ERROR ON ERROR)",
                                  "JSON_QUERY(s, '$.a' ERROR ON EMPTY)",
                                  "JSON_EXISTS(s, '$.a' ERROR ON ERROR)"])
def test_error_on_fails_the_query_in_both_engines(differential, expr):
    from flowsql.errors import ExecutionError

    messages = []
    for mode in ("streaming", "batch"):
        differential.mode(mode)
        with pytest.raises(ExecutionError, match="ERROR ON") as err:
            differential.execute(f"SELECT k, {expr} FROM t")
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "'$.a'" in messages[0]


def test_show_functions_lists_the_json_functions(differential):
    names = set(differential.execute("SHOW FUNCTIONS").table.column(0).to_pylist())
    assert {"JSON_VALUE", "JSON_QUERY", "JSON_EXISTS", "JSON_OBJECT", "JSON_ARRAY",
            "JSON_STRING"} <= names


def test_json_functions_in_where_and_group_by(differential):
    sql = ("SELECT JSON_VALUE(s, '$.a') AS a, COUNT(*) AS n, "
           "MAX(JSON_QUERY(s, '$.b')) AS b FROM t "
           "WHERE s IS JSON OBJECT AND JSON_EXISTS(s, '$.a') GROUP BY JSON_VALUE(s, '$.a')")
    rows = {r["a"]: r["n"] for r in differential.check(sql).to_pylist()}
    assert rows["1"] == 3 and rows["true"] == 1 and len(rows) == 8
