"""Flink's JSON functions in the streaming engine (Arrow kernels).

Contract — semantics follow Flink (Calcite's ``JsonFunctions``), paths are read by
:mod:`flowsql.sql.json_path` (shared with batch mode):

- ``JSON_VALUE(j, path [RETURNING t] [NULL|ERROR|DEFAULT x ON EMPTY] [... ON ERROR])``: the
  scalar at ``path`` as text (strings unquoted, numbers as Java prints them), then CAST to
  ``t`` (STRING, BOOLEAN, TINYINT..BIGINT, FLOAT, DOUBLE). *Empty*: the path is missing (lax
  mode), the value is JSON null, or (lax) it is an object/array. *Error*: ``j`` is not JSON,
  the path is missing or not a scalar in strict mode, or the CAST fails. Defaults: NULL.
- ``JSON_QUERY(j, path [WITHOUT|WITH [CONDITIONAL|UNCONDITIONAL] ARRAY WRAPPER] [b ON EMPTY]
  [b ON ERROR])`` with b in NULL, ERROR, EMPTY ARRAY, EMPTY OBJECT: compact JSON text of the
  object/array at ``path``; a scalar needs a wrapper (else empty in lax mode, error in strict).
- ``JSON_EXISTS(j, path [TRUE|FALSE|UNKNOWN|ERROR ON ERROR])``: whether a non-null value is at
  ``path``; invalid JSON and (strict) a missing path are errors (default FALSE).
- ``j IS JSON [VALUE|SCALAR|ARRAY|OBJECT]``: never NULL (NULL input gives FALSE).
- ``JSON_OBJECT([KEY] k VALUE v, ... [NULL|ABSENT ON NULL])`` (default NULL ON NULL) with
  constant string keys, ``JSON_ARRAY(v, ... [NULL|ABSENT ON NULL])`` (default ABSENT ON NULL)
  and ``JSON_STRING(v)``: values are written as JSON by type (strings quoted and escaped,
  numbers, booleans; a nested JSON_OBJECT/JSON_ARRAY call is embedded as JSON).
  Temporal, binary and nested-type values raise ``NotSupportedError``.
- ``j`` NULL gives NULL (FALSE for IS JSON); the path must be a string literal.

Per-row work: JSON text has no Arrow kernel, so parsing and path evaluation run in Python —
once per *distinct* input string of the batch (the column is dictionary-encoded first and the
results are ``take``-n back), never once per row. Writing string and double values for
JSON_OBJECT/JSON_ARRAY/JSON_STRING is done the same way; the rest is ``pyarrow.compute``.
"""

from __future__ import annotations

import json as pyjson
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from flowsql.errors import ExecutionError, NotSupportedError, ValidationError
from flowsql.expr import casts
from flowsql.expr.compile import CompiledExpr, Scope
from flowsql.expr.kernels import Value, as_array, broadcast
from flowsql.expr.operators import coerce, compile_node, flink_type_of, make
from flowsql.expr.typing import BOOLEAN, STRING, is_integer, is_null, is_string, type_name
from flowsql.sql import json_path
from flowsql.sql.expressions import JsonArray, JsonBehavior, JsonExists, JsonQuery, JsonValue
from flowsql.types import FlinkType

OK, EMPTY, ERROR = 0, 1, 2
RETURNING_ROOTS = frozenset({"STRING", "VARCHAR", "CHAR", "BOOLEAN", "TINYINT", "SMALLINT",
                             "INT", "BIGINT", "FLOAT", "DOUBLE"})


# ----------------------------------------------------------------------- helpers


def per_distinct(value: Value, fn: Callable[[Any], Any], out_type: pa.DataType) -> Value:
    """``fn`` applied to each distinct non-null value of ``value`` (NULL stays NULL)."""
    if isinstance(value, pa.Scalar):
        return pa.scalar(fn(value.as_py()) if value.is_valid else None, out_type)
    encoded = pc.dictionary_encode(as_array(value))
    results = pa.array([fn(v) for v in encoded.dictionary.to_pylist()], out_type)
    return results.take(encoded.indices)


def _path(node: exp.Expression, fname: str) -> json_path.JsonPath:
    if not (isinstance(node, exp.Literal) and node.is_string):
        raise ValidationError(f"{fname}: the JSON path must be a string literal, got {node.sql(dialect='flink')}")
    return json_path.parse_path(node.this)


def _json_operand(node: exp.Expression, scope: Scope, fname: str) -> CompiledExpr:
    operand = compile_node(node, scope)
    t = operand.flink_type
    if not (is_string(t) or is_null(t)):
        raise ValidationError(f"cannot apply '{fname}' to an argument of type {type_name(t)} "
                              "(argument 1 must be a string)")
    return coerce(operand, STRING, scope) if is_null(t) else operand


def _behavior_value(b: JsonBehavior | None, scope: Scope,
                    target: FlinkType) -> tuple[str, CompiledExpr | None]:
    """(kind, compiled DEFAULT value or None)."""
    if b is None:
        return "NULL", None
    if b.kind != "DEFAULT":
        return b.kind, None
    default = compile_node(b.args["default"], scope)
    if not (is_null(default.flink_type) or default.flink_type.root == target.root):
        casts.check_cast(default.flink_type, target)
        tz = scope.session_tz
        src = default.flink_type
        return "DEFAULT", make(lambda v: casts.cast_value(v[0], src, target, session_tz=tz),
                               [default], target, default.sql)
    return "DEFAULT", coerce(default, target, scope)


def _apply(result: pa.Array, codes: pa.Array, code: int, kind: str, replacement: Value | None,
           message: str) -> pa.Array:
    """Rows whose code is ``code`` get the behavior's value (or raise for ERROR)."""
    hit = pc.fill_null(pc.equal(codes, code), False)
    if not pc.any(hit).as_py():
        return result
    if kind == "ERROR":
        raise ExecutionError(message)
    if replacement is None:
        replacement = pa.scalar(None, result.type)
    replacement = broadcast(replacement, len(result))
    return pc.if_else(hit, as_array(replacement).cast(result.type), result)


def _node(children: list[CompiledExpr], kernel: Callable[[list[pa.Array]], pa.Array],
          ftype: FlinkType, sql: str) -> CompiledExpr:
    """A node whose kernel works on equal-length arrays (scalars are broadcast)."""

    def run(values: list[Value]) -> Value:
        lengths = [len(v) for v in values if not isinstance(v, pa.Scalar)]
        n = lengths[0] if lengths else 1
        out = kernel([as_array(broadcast(v, n)) if isinstance(v, pa.Scalar) else as_array(v)
                      for v in values])
        return out if lengths else out[0]

    return make(run, children, ftype, sql)


def _behaviors(e: exp.Expression, scope: Scope,
               target: FlinkType) -> list[tuple[str, CompiledExpr | None]]:
    return [_behavior_value(e.args.get("on_empty"), scope, target),
            _behavior_value(e.args.get("on_error"), scope, target)]


def _extra(behaviors: list[tuple[str, CompiledExpr | None]]) -> list[CompiledExpr]:
    return [c for _, c in behaviors if c is not None]


def _finish(result: pa.Array, codes: pa.Array, behaviors, extra_values: list[pa.Array],
            fname: str, path: json_path.JsonPath) -> pa.Array:
    values = iter(extra_values)
    for code, (kind, compiled), on in zip((EMPTY, ERROR), behaviors, ("EMPTY", "ERROR"),
                                          strict=True):
        replacement = next(values) if compiled is not None else None
        result = _apply(result, codes, code, kind, replacement,
                        json_path.behavior_error(fname, path.text, on))
    return result


# ----------------------------------------------------------------------- JSON_VALUE / QUERY


def _value_item(path: json_path.JsonPath) -> Callable[[str], dict]:
    def item(text: str) -> dict:
        try:
            found = path.find(json_path.loads(text))
        except ValueError:
            return {"code": ERROR, "text": None}
        if found is json_path.MISSING:
            return {"code": ERROR if path.strict else EMPTY, "text": None}
        if found is None:
            return {"code": EMPTY, "text": None}
        if isinstance(found, dict | list):
            return {"code": ERROR if path.strict else EMPTY, "text": None}
        return {"code": OK, "text": json_path.scalar_text(found)}

    return item


_ITEM = pa.struct([("code", pa.int8()), ("text", pa.string())])


def _json_value(e: JsonValue, scope: Scope) -> CompiledExpr:
    operand = _json_operand(e.this, scope, "JSON_VALUE")
    path = _path(e.args["path"], "JSON_VALUE")
    target = STRING
    if e.args.get("returning") is not None:
        target = flink_type_of(e.args["returning"])
        if target.root not in RETURNING_ROOTS:
            raise NotSupportedError(f"JSON_VALUE ... RETURNING {type_name(target)}")
    behaviors = _behaviors(e, scope, target)
    item = _value_item(path)
    tz = scope.session_tz

    def kernel(v: list[pa.Array]) -> pa.Array:
        found = per_distinct(v[0], item, _ITEM)
        codes, text = pc.struct_field(found, "code"), pc.struct_field(found, "text")
        result = text
        if not is_string(target):
            result = as_array(casts.cast_value(text, STRING, target, on_error="null",
                                               session_tz=tz))
            failed = pc.and_(pc.is_valid(text), pc.is_null(result))
            codes = pc.if_else(failed, pa.scalar(ERROR, pa.int8()), codes)
        return _finish(result, codes, behaviors, v[1:], "JSON_VALUE", path)

    return _node([operand, *_extra(behaviors)], kernel, target, e.sql(dialect="flink"))


def _query_item(path: json_path.JsonPath, wrapper: str) -> Callable[[str], dict]:
    def item(text: str) -> dict:
        try:
            found = path.find(json_path.loads(text))
        except ValueError:
            return {"code": ERROR, "text": None}
        if found is json_path.MISSING and path.strict:
            return {"code": ERROR, "text": None}
        obj = None if found is json_path.MISSING else found
        if wrapper == "UNCONDITIONAL" or (wrapper == "CONDITIONAL" and not isinstance(obj, list)):
            obj = [obj]
        if obj is None:
            return {"code": EMPTY, "text": None}
        if not isinstance(obj, dict | list):
            return {"code": ERROR if path.strict else EMPTY, "text": None}
        return {"code": OK, "text": json_path.dumps(obj)}

    return item


_QUERY_BEHAVIORS = {"EMPTY ARRAY": "[]", "EMPTY OBJECT": "{}"}


def _json_query(e: JsonQuery, scope: Scope) -> CompiledExpr:
    operand = _json_operand(e.this, scope, "JSON_QUERY")
    path = _path(e.args["path"], "JSON_QUERY")
    behaviors: list[tuple[str, CompiledExpr | None]] = []
    for key in ("on_empty", "on_error"):
        b = e.args.get(key)
        kind = b.kind if b is not None else "NULL"
        if kind in _QUERY_BEHAVIORS:
            text = _QUERY_BEHAVIORS[kind]
            behaviors.append(("DEFAULT", CompiledExpr(lambda _b, t=text: pa.scalar(t), STRING,
                                                      text, constant=True)))
        else:
            behaviors.append((kind, None))
    item = _query_item(path, e.args.get("wrapper") or "WITHOUT")

    def kernel(v: list[pa.Array]) -> pa.Array:
        found = per_distinct(v[0], item, _ITEM)
        codes, text = pc.struct_field(found, "code"), pc.struct_field(found, "text")
        return _finish(text, codes, behaviors, v[1:], "JSON_QUERY", path)

    return _node([operand, *_extra(behaviors)], kernel, STRING, e.sql(dialect="flink"))


def _json_exists(e: JsonExists, scope: Scope) -> CompiledExpr:
    operand = _json_operand(e.this, scope, "JSON_EXISTS")
    path = _path(e.args["path"], "JSON_EXISTS")
    b = e.args.get("on_error")
    on_error = b.kind if b is not None else "FALSE"
    error_value = {"TRUE": True, "FALSE": False, "UNKNOWN": None, "ERROR": None}[on_error]

    def item(text: str) -> int:
        try:
            found = path.find(json_path.loads(text))
        except ValueError:
            return ERROR
        if found is json_path.MISSING:
            return ERROR if path.strict else 0
        return int(found is not None)

    def kernel(v: list[pa.Array]) -> pa.Array:
        codes = per_distinct(v[0], item, pa.int8())
        errors = pc.fill_null(pc.equal(codes, ERROR), False)
        if on_error == "ERROR" and pc.any(errors).as_py():
            raise ExecutionError(json_path.behavior_error("JSON_EXISTS", path.text, "ERROR"))
        exists = pc.equal(codes, 1)
        return pc.if_else(errors, pa.scalar(error_value, pa.bool_()), exists)

    return _node([operand], kernel, BOOLEAN, e.sql(dialect="flink"))


def _json_kind(text: str) -> str | None:
    try:
        doc = json_path.loads(text)
    except ValueError:
        return None
    return "OBJECT" if isinstance(doc, dict) else "ARRAY" if isinstance(doc, list) else "SCALAR"


def _is_json(e: exp.Is, scope: Scope) -> CompiledExpr:
    operand = _json_operand(e.this, scope, "IS JSON")
    wanted = str(e.expression.this or "VALUE").upper()
    if wanted not in ("VALUE", "SCALAR", "ARRAY", "OBJECT"):
        raise NotSupportedError(f"IS JSON {wanted}")

    def kernel(v: list[pa.Array]) -> pa.Array:
        kinds = per_distinct(v[0], _json_kind, pa.string())
        hit = pc.is_valid(kinds) if wanted == "VALUE" else pc.equal(kinds, wanted)
        return pc.fill_null(hit, False)

    return _node([operand], kernel, BOOLEAN.with_nullable(False), e.sql(dialect="flink"))


def _is(e: exp.Is, scope: Scope) -> CompiledExpr:
    if isinstance(e.expression, exp.JSON):
        return _is_json(e, scope)
    from flowsql.expr.predicates import _is as plain_is

    return plain_is(e, scope)


# ----------------------------------------------------------------------- JSON_OBJECT / ARRAY


def _dumps_string(s: str) -> str:
    return pyjson.dumps(s, ensure_ascii=False)


def json_text(value: Value, t: FlinkType, what: str) -> Value:
    """``value`` (of Flink type ``t``) written as JSON text; NULL stays NULL."""
    if is_null(t):
        return pa.scalar(None, pa.string())
    if is_string(t):
        return per_distinct(value, _dumps_string, pa.string())
    if t.root in ("FLOAT", "DOUBLE"):
        return per_distinct(value, json_path.java_double, pa.string())
    if is_integer(t) or t.root == "DECIMAL":
        return pc.cast(value, pa.string())
    if t.root == "BOOLEAN":
        return pc.if_else(value, pa.scalar("true"), pa.scalar("false"))
    raise NotSupportedError(f"{what} of a {type_name(t)} value")


def _value_text(node: exp.Expression, scope: Scope, what: str) -> CompiledExpr:
    """JSON text of one JSON_OBJECT/JSON_ARRAY value (a nested call is embedded as is)."""
    if isinstance(node, exp.JSONObject | JsonArray):
        return compile_node(node, scope)
    compiled = compile_node(node, scope)
    t = compiled.flink_type
    json_text(pa.nulls(0, compiled.type), t, what)  # unsupported types fail at compile time
    return make(lambda v: json_text(v[0], t, what), [compiled], STRING, compiled.sql)


def _null_text(text: Value, absent: bool) -> Value:
    """NULL ON NULL writes ``null``; ABSENT ON NULL keeps the NULL (dropped by :func:`_join`)."""
    if absent:
        return text
    if isinstance(text, pa.Scalar):
        return text if text.is_valid else pa.scalar("null")
    return pc.fill_null(text, "null")


def _join(fragments: list[Value], open_: str, close: str) -> Value:
    """``open_`` + the non-NULL fragments joined with ',' + ``close``."""
    if not fragments:
        return pa.scalar(open_ + close)
    # the leading sentinel keeps rows whose fragments are all NULL (ABSENT ON NULL)
    inner = pc.binary_join_element_wise("\x01", *fragments, ",", null_handling="skip")
    inner = pc.utf8_slice_codeunits(inner, 2)
    return pc.binary_join_element_wise(open_, inner, close, "")


def _json_object(e: exp.JSONObject, scope: Scope) -> CompiledExpr:
    if e.args.get("return_type") or e.args.get("encoding") or e.args.get("unique_keys"):
        raise NotSupportedError(f"JSON_OBJECT options ({e.sql(dialect='flink')})")
    absent = str(e.args.get("null_handling") or "").upper().startswith("ABSENT")
    keys: list[str] = []
    values: list[CompiledExpr] = []
    for pair in e.expressions:
        if not isinstance(pair, exp.JSONKeyValue):
            raise NotSupportedError(f"JSON_OBJECT argument {pair.sql(dialect='flink')}")
        key = pair.this
        if not (isinstance(key, exp.Literal) and key.is_string):
            raise NotSupportedError(f"JSON_OBJECT with a key that is not a string literal "
                                    f"({key.sql(dialect='flink')})")
        keys.append(_dumps_string(key.this) + ":")
        values.append(_value_text(pair.expression, scope, "JSON_OBJECT"))

    def kernel(v: list[Value]) -> Value:
        return _join([pc.binary_join_element_wise(k, _null_text(f, absent), "")
                      for k, f in zip(keys, v, strict=True)], "{", "}")

    return make(kernel, values, STRING.with_nullable(False), e.sql(dialect="flink"))


def _json_array(e: JsonArray, scope: Scope) -> CompiledExpr:
    absent = (e.args.get("null_handling") or "ABSENT") == "ABSENT"
    values = [_value_text(v, scope, "JSON_ARRAY") for v in e.expressions]
    return make(lambda v: _join([_null_text(f, absent) for f in v], "[", "]"), values,
                STRING.with_nullable(False), e.sql(dialect="flink"))


def json_string(call: Any, a: Sequence[Value]) -> Value:
    """JSON_STRING(v) kernel (registered in :mod:`flowsql.expr.functions`)."""
    return json_text(a[0], call.arg_types[0], "JSON_STRING")


DISPATCH: list[tuple[type, Callable[..., CompiledExpr]]] = [
    (JsonValue, _json_value),
    (JsonQuery, _json_query),
    (JsonExists, _json_exists),
    (JsonArray, _json_array),
    (exp.JSONObject, _json_object),
    (exp.Is, _is),
]
