"""Flink's JSON functions → DuckDB's json extension (part of :mod:`flowsql.batch.functions`).

Contract: :func:`map_json` rewrites one node — ``JSON_VALUE``, ``JSON_QUERY``,
``JSON_EXISTS``, ``x IS JSON [VALUE|SCALAR|ARRAY|OBJECT]``, ``JSON_OBJECT``, ``JSON_ARRAY``,
``JSON_STRING`` — into a DuckDB expression with the semantics the streaming engine has
(:mod:`flowsql.expr.json`, which documents them), or returns None for other nodes. Paths
are read by :mod:`flowsql.sql.json_path` and rendered for ``json_type``/``json_extract``;
invalid JSON is caught with ``json_valid`` before DuckDB would raise, and ERROR ON ... uses
DuckDB's ``error()``. Known differences are listed in :mod:`flowsql.sql.json_path`; in
addition DuckDB drops trailing zeros of DECIMAL values in JSON_OBJECT/JSON_ARRAY.
"""

from __future__ import annotations

import json

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.sql import json_path
from flowsql.sql.expressions import JsonArray, JsonBehavior, JsonExists, JsonQuery, JsonValue

_JSON = "flowsql_json"  # node.meta flag: the node's value is JSON text, embedded as is
_RETURNING = {"STRING", "VARCHAR", "CHAR", "TEXT", "BOOLEAN", "TINYINT", "SMALLINT", "INT",
              "BIGINT", "FLOAT", "DOUBLE"}


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _s(text: str) -> exp.Literal:
    return exp.Literal.string(text)


def _varchar(node: exp.Expression) -> exp.Cast:
    return exp.Cast(this=node, to=exp.DataType.build("VARCHAR"))


def _case(branches: list[tuple[exp.Expression, exp.Expression]],
          default: exp.Expression) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in branches], default=default)


def _path(node: exp.Expression, fname: str) -> json_path.JsonPath:
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise ValidationError(f"{fname}: the JSON path must be a string literal, got {node.sql(dialect='flink')}")
    return json_path.parse_path(node.this)


def _behavior(b: JsonBehavior | None, default_kind: str, fname: str, path: json_path.JsonPath,
              on: str, cast_to: exp.DataType | None = None) -> exp.Expression:
    kind = b.kind if b is not None else default_kind
    if kind == "NULL" or kind == "UNKNOWN":
        return exp.Null()
    if kind == "ERROR":
        return _fn("ERROR", _s(json_path.behavior_error(fname, path.text, on)))
    if kind == "DEFAULT":
        assert b is not None
        value = b.args["default"]
        return exp.Cast(this=value, to=cast_to) if cast_to is not None else value
    return {"TRUE": exp.true(), "FALSE": exp.false(), "EMPTY ARRAY": _s("[]"),
            "EMPTY OBJECT": _s("{}")}[kind]


def _head(x: exp.Expression, path: json_path.JsonPath, error: exp.Expression
          ) -> tuple[list[tuple[exp.Expression, exp.Expression]], exp.Expression, str]:
    """Common first branches: NULL input, invalid JSON, (strict) missing path."""
    p = path.duckdb()
    branches = [(exp.Is(this=x.copy(), expression=exp.Null()), exp.Null()),
                (exp.Not(this=_fn("JSON_VALID", x.copy())), error.copy())]
    jtype = _fn("JSON_TYPE", x.copy(), _s(p))
    if path.strict:
        branches.append((exp.Is(this=jtype.copy(), expression=exp.Null()), error.copy()))
    return branches, jtype, p


def _in(node: exp.Expression, *values: str) -> exp.In:
    return exp.In(this=node.copy(), expressions=[_s(v) for v in values])


def _json_value(e: JsonValue) -> exp.Expression:
    from flowsql.batch.functions import duck_type

    path = _path(e.args["path"], "JSON_VALUE")
    returning = e.args.get("returning")
    target = duck_type(returning) if returning is not None else exp.DataType.build("VARCHAR")
    root = "TEXT" if returning is None else str(getattr(returning.this, "value", returning.this))
    if root not in _RETURNING:
        raise NotSupportedError(f"JSON_VALUE ... RETURNING {returning.sql()}")
    empty = _behavior(e.args.get("on_empty"), "NULL", "JSON_VALUE", path, "EMPTY", target)
    error = _behavior(e.args.get("on_error"), "NULL", "JSON_VALUE", path, "ERROR", target)
    x = e.this
    branches, jtype, p = _head(x, path, error)
    not_scalar = error if path.strict else empty
    branches += [(exp.Is(this=jtype.copy(), expression=exp.Null()), empty.copy()),
                 (exp.EQ(this=jtype.copy(), expression=_s("NULL")), empty.copy()),
                 (_in(jtype, "OBJECT", "ARRAY"), not_scalar.copy())]
    text: exp.Expression = _fn("JSON_EXTRACT_STRING", x.copy(), _s(p))
    if root not in ("TEXT", "VARCHAR", "CHAR"):
        converted = exp.TryCast(this=text, to=target)
        text = converted if isinstance(error, exp.Null) else _fn("COALESCE", converted,
                                                                  error.copy())
    return _case(branches, text)


def _json_query(e: JsonQuery) -> exp.Expression:
    path = _path(e.args["path"], "JSON_QUERY")
    empty = _behavior(e.args.get("on_empty"), "NULL", "JSON_QUERY", path, "EMPTY")
    error = _behavior(e.args.get("on_error"), "NULL", "JSON_QUERY", path, "ERROR")
    x = e.this
    branches, jtype, p = _head(x, path, error)
    found = _varchar(_fn("JSON_EXTRACT", x.copy(), _s(p)))
    wrapped = exp.DPipe(this=exp.DPipe(this=_s("["), expression=found.copy()),
                        expression=_s("]"))
    absent = exp.or_(exp.Is(this=jtype.copy(), expression=exp.Null()),
                     exp.EQ(this=jtype.copy(), expression=_s("NULL")))
    wrapper = e.args.get("wrapper") or "WITHOUT"
    if wrapper == "WITHOUT":
        branches += [(absent, empty.copy()),
                     (_in(jtype, "OBJECT", "ARRAY"), found)]
        return _case(branches, error.copy() if path.strict else empty.copy())
    branches.append((absent, _s("[null]")))
    if wrapper == "CONDITIONAL":
        branches.append((exp.EQ(this=jtype.copy(), expression=_s("ARRAY")), found))
    return _case(branches, wrapped)


def _json_exists(e: JsonExists) -> exp.Expression:
    path = _path(e.args["path"], "JSON_EXISTS")
    error = _behavior(e.args.get("on_error"), "FALSE", "JSON_EXISTS", path, "ERROR")
    branches, jtype, _ = _head(e.this, path, error)
    present = exp.NEQ(this=jtype, expression=_s("NULL"))
    return _case(branches, _fn("COALESCE", present, exp.false()))


def _is_json(e: exp.Is) -> exp.Expression:
    wanted = str(e.expression.this or "VALUE").upper()
    jtype = _fn("JSON_TYPE", e.this.copy())
    test = {"VALUE": exp.true(), "OBJECT": exp.EQ(this=jtype, expression=_s("OBJECT")),
            "ARRAY": exp.EQ(this=jtype, expression=_s("ARRAY")),
            "SCALAR": exp.Not(this=_in(jtype, "OBJECT", "ARRAY"))}.get(wanted)
    if test is None:
        raise NotSupportedError(f"IS JSON {wanted}")
    return _case([(_fn("JSON_VALID", e.this.copy()), test)], exp.false())


def _text(node: exp.Expression) -> exp.Expression:
    """JSON text of a JSON_OBJECT/JSON_ARRAY value (NULL stays NULL)."""
    if node.meta.get(_JSON):
        return node
    return _case([(exp.Is(this=node.copy(), expression=exp.Null()), exp.Null())],
                 _varchar(_fn("TO_JSON", node)))


def _join(fragments: list[exp.Expression], open_: str, close: str) -> exp.Expression:
    if fragments:
        body: exp.Expression = exp.DPipe(
            this=exp.DPipe(this=_s(open_), expression=_fn("CONCAT_WS", _s(","), *fragments)),
            expression=_s(close))
    else:
        body = _s(open_ + close)
    out = exp.Paren(this=body)
    out.meta[_JSON] = True
    return out


def _null_text(text: exp.Expression, absent: bool) -> exp.Expression:
    return text if absent else _fn("COALESCE", text, _s("null"))


def _json_object(e: exp.JSONObject) -> exp.Expression:
    if e.args.get("return_type") or e.args.get("encoding") or e.args.get("unique_keys"):
        raise NotSupportedError(f"JSON_OBJECT options ({e.sql(dialect='flink')})")
    absent = str(e.args.get("null_handling") or "").upper().startswith("ABSENT")
    fragments: list[exp.Expression] = []
    for pair in e.expressions:
        key = pair.this if isinstance(pair, exp.JSONKeyValue) else None
        if not (isinstance(key, exp.Literal) and key.is_string):
            raise NotSupportedError(f"JSON_OBJECT with a key that is not a string literal "
                                    f"({pair.sql(dialect='flink')})")
        value = _null_text(_text(pair.expression), absent)
        fragments.append(exp.DPipe(this=_s(json.dumps(key.this, ensure_ascii=False) + ":"),
                                   expression=value))
    return _join(fragments, "{", "}")


def _json_array(e: JsonArray) -> exp.Expression:
    absent = (e.args.get("null_handling") or "ABSENT") == "ABSENT"
    return _join([_null_text(_text(v), absent) for v in e.expressions], "[", "]")


def map_json(node: exp.Expression) -> exp.Expression | None:
    """The DuckDB rewrite of a JSON function node, or None when ``node`` is not one."""
    if isinstance(node, JsonValue):
        return _json_value(node)
    if isinstance(node, JsonQuery):
        return _json_query(node)
    if isinstance(node, JsonExists):
        return _json_exists(node)
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.JSON):
        return _is_json(node)
    if isinstance(node, exp.JSONObject):
        return _json_object(node)
    if isinstance(node, JsonArray):
        return _json_array(node)
    if isinstance(node, exp.Anonymous) and node.name.upper() == "JSON_STRING":
        if len(node.expressions) != 1:
            raise ValidationError(f"function JSON_STRING takes 1 argument(s), got "
                                  f"{len(node.expressions)}")
        return _text(node.expressions[0])
    return None
