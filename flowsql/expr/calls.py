"""Function calls: normalize sqlglot function nodes to (Flink name, arguments) and compile
them through the declarative table in :mod:`flowsql.expr.functions`.

Contract:
- sqlglot parses many functions into typed nodes (``UPPER(s)`` → ``exp.Upper``,
  ``POSITION(a IN b)`` → ``exp.StrPosition``…) and the rest into ``exp.Anonymous``. Both
  reach :func:`compile_call`, which maps the node to the Flink function name and the
  argument order of Flink's signature (:data:`_NODES`), so the function table is the one
  place that defines what a function does.
- Also compiled here: ``EXTRACT(unit FROM x)``, ``CEIL/FLOOR(ts TO unit)``, and the Hive-
  flavoured nodes a dialect may produce (``TimeToStr`` for DATE_FORMAT, ``StrToUnix``…).
- Aggregate functions are rejected with a ``ValidationError`` (after checking the argument
  type, so ``SUM('abc')`` names the type problem); aggregates are planned by the
  aggregation operators, which use :func:`flowsql.expr.typing.aggregate_type`.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.expr import temporal
from flowsql.expr.compile import CompiledExpr, Scope
from flowsql.expr.functions import MISSING, Call, check_arity, lookup
from flowsql.expr.kernels import Value
from flowsql.expr.operators import coerce, compile_node, make
from flowsql.expr.typing import (
    BIGINT,
    DATE,
    TIMESTAMP3,
    aggregate_type,
    arrow_type,
    is_null,
    is_string,
    is_temporal,
    is_timestamp,
    type_name,
)

Args = list[exp.Expression | None]


def _a(*names: str) -> Callable[[exp.Expression], Args]:
    return lambda e: [e.args.get(n) for n in names]


def _trim_name(e: exp.Expression) -> str:
    position = str(e.args.get("position") or "BOTH").upper()
    return {"LEADING": "LTRIM", "TRAILING": "RTRIM"}.get(position, "TRIM")


def _log(e: exp.Expression) -> tuple[str, Args]:
    if e.args.get("expression") is None:
        return "LN", [e.this]
    return "LOG", [e.this, e.expression]


def _regexp_extract_args(e: exp.Expression) -> Args:
    # Flink's third argument is the group index; sqlglot's default dialect names it position
    group = e.args.get("group") or e.args.get("position")
    return [e.this, e.expression, group]


def _unix_timestamp(e: exp.Expression) -> tuple[str, Args]:
    if isinstance(e.this, exp.CurrentTimestamp):
        return "UNIX_TIMESTAMP", []
    return "UNIX_TIMESTAMP", [e.this, e.args.get("format")]


# node class → (Flink name | callable giving it, argument extractor)
_NODES: dict[type, tuple[str | Callable[[exp.Expression], str], Callable[[exp.Expression], Args]]] = {
    exp.Length: ("CHAR_LENGTH", _a("this")),
    exp.Substring: ("SUBSTRING", _a("this", "start", "length")),
    exp.StrPosition: ("LOCATE", _a("substr", "this", "position")),
    exp.Trim: (_trim_name, _a("this", "expression")),
    exp.RegexpExtract: ("REGEXP_EXTRACT", _regexp_extract_args),
    exp.RegexpReplace: ("REGEXP_REPLACE", _a("this", "expression", "replacement")),
    exp.RegexpLike: ("REGEXP", _a("this", "expression")),
    exp.Pad: (lambda e: "LPAD" if e.args.get("is_left") else "RPAD",
              _a("this", "expression", "fill_pattern")),
    exp.Initcap: ("INITCAP", _a("this")),
    exp.Pow: ("POWER", _a("this", "expression")),
    exp.Round: ("ROUND", _a("this", "decimals")),
    exp.Concat: ("CONCAT", lambda e: list(e.expressions)),
    exp.ConcatWs: ("CONCAT_WS", lambda e: list(e.expressions)),
    exp.Greatest: ("GREATEST", lambda e: [e.this, *e.expressions]),
    exp.Least: ("LEAST", lambda e: [e.this, *e.expressions]),
    exp.Repeat: ("REPEAT", _a("this", "times")),
    exp.Replace: ("REPLACE", _a("this", "expression", "replacement")),
    exp.DayOfMonth: ("DAYOFMONTH", _a("this")),
    exp.DayOfWeek: ("DAYOFWEEK", _a("this")),
    exp.DayOfYear: ("DAYOFYEAR", _a("this")),
    exp.Week: ("WEEK", _a("this")),
    exp.WeekOfYear: ("WEEK", _a("this")),
    exp.CurrentTimestamp: ("CURRENT_TIMESTAMP", lambda e: []),
    exp.CurrentDate: ("CURRENT_DATE", lambda e: []),
    exp.Localtimestamp: ("LOCALTIMESTAMP", lambda e: []),
    exp.TimeToStr: ("DATE_FORMAT", _a("this", "format")),
    exp.UnixToStr: ("FROM_UNIXTIME", _a("this", "format")),
}


# Flink functions that are operators (the Flink dialect keeps MOD(a, b) as Anonymous)
_OPERATOR_FUNCTIONS: dict[str, type[exp.Binary]] = {"MOD": exp.Mod}


def _normalize(e: exp.Func) -> tuple[str, Args]:
    if isinstance(e, exp.Anonymous):
        return e.name.upper(), list(e.expressions)
    if isinstance(e, exp.Log):
        return _log(e)
    if isinstance(e, exp.StrToUnix):
        return _unix_timestamp(e)
    for kind, (name, extract) in _NODES.items():
        if type(e) is kind:
            return (name(e) if callable(name) else name), extract(e)
    # generic: sqlglot's SQL name and its arguments in declaration order
    args: Args = []
    for key in e.arg_types:
        value = e.args.get(key)
        if isinstance(value, list):
            args.extend(v for v in value if isinstance(v, exp.Expression))
        elif isinstance(value, exp.Expression):
            args.append(value)
    return e.sql_name().upper(), args


def compile_call(e: exp.Func, scope: Scope) -> CompiledExpr:
    if isinstance(e, exp.Extract):
        return _extract(e, scope)
    if isinstance(e, exp.Ceil | exp.Floor) and e.args.get("to") is not None:
        return _ceil_floor_to(e, scope)
    if isinstance(e, exp.TsOrDsToDate | exp.TimeStrToTime) and e.args.get("format") is None:
        return _to_temporal(e, scope)
    name, nodes = _normalize(e)
    if name in ("PYTHON_UDF", "PYTHON_UDAF", "PYTHON_UDTF"):  # flowsql.udf.resolve
        from flowsql.expr.udf_call import compile_udf_call

        return compile_udf_call(e, scope)
    while nodes and nodes[-1] is None:  # trailing optional arguments
        nodes.pop()
    if any(n is None for n in nodes):
        raise NotSupportedError(f"{name} with these arguments ({e.sql()})")
    if name in _OPERATOR_FUNCTIONS and len(nodes) == 2:
        node = _OPERATOR_FUNCTIONS[name](this=nodes[0], expression=nodes[1])
        return compile_node(node, scope)
    fdef = lookup(name)
    check_arity(fdef, len(nodes))
    args = [compile_node(n, scope) for n in nodes if n is not None]
    call = Call(
        fdef.name,
        [a.flink_type for a in args],
        [a.value if a.constant else MISSING for a in args],
        session_tz=scope.session_tz,
    )
    call.result_type = fdef.returns(call)
    kernel = fdef.kernel
    _dry_run(kernel, call, args)
    if fdef.name == "SPLIT_INDEX":
        shared = _shared_split(e, call, args, scope)
        if shared is not None:
            return shared
    return make(lambda v: kernel(call, v), args, call.result_type, e.sql(),
                deterministic=fdef.deterministic)


def _shared_split(e: exp.Func, call: Call, args: list[CompiledExpr],
                  scope: Scope) -> CompiledExpr | None:
    """SPLIT_INDEX calls on the same text and separator (``url`` split on '/' for parts 3, 4
    and 5) split each batch's strings once: the split is a per-batch memoized value of the
    Calc's :class:`~flowsql.expr.compile.Cse`."""
    from flowsql.expr import strings
    from flowsql.expr.compile import split_key

    key = split_key(e)
    cse = scope.cse
    if key is None or cse is None or key not in cse.shared or args[0].constant \
            or not args[0].deterministic \
            or not args[1].constant or args[1].value is None:
        return None
    sep = args[1].value
    text_fn = args[0].fn
    parts_fn = cse.memoized(key, lambda batch: strings.split_parts(text_fn(batch), sep))

    def fn(batch: pa.RecordBatch | None) -> Value:
        text = text_fn(batch)
        if isinstance(text, pa.Scalar):
            return strings.split_index(call, [text, None, None])
        return strings.split_index(call, [text, None, None], parts=parts_fn(batch))

    return CompiledExpr(fn, call.result_type, e.sql(), may_fail=args[0].may_fail)


def _dry_run(kernel: Callable, call: Call, args: list[CompiledExpr]) -> None:
    """Run the kernel once on empty inputs so that compile-time problems (a pattern that must
    be a constant, an invalid regex or date pattern) surface now, not on the first batch."""
    from flowsql.errors import FlowSQLError

    try:
        kernel(call, [pa.nulls(0, type=a.type) for a in args])
    except FlowSQLError:
        raise
    except Exception:  # noqa: BLE001 - other failures on empty input are not meaningful
        pass


def _extract(e: exp.Extract, scope: Scope) -> CompiledExpr:
    unit = e.this.name.upper()
    operand = compile_node(e.expression, scope)
    t = operand.flink_type
    if is_string(t):
        operand = coerce(operand, TIMESTAMP3, scope)
    elif not (is_temporal(t) or is_null(t)):
        raise ValidationError(f"cannot apply 'EXTRACT' to an argument of type {type_name(t)}")
    if unit not in temporal.EXTRACT_UNITS:
        raise NotSupportedError(f"EXTRACT unit {unit}")
    tz = scope.session_tz
    return make(lambda v: temporal.extract(unit, v[0], tz), [operand], BIGINT, e.sql())


def _ceil_floor_to(e: exp.Func, scope: Scope) -> CompiledExpr:
    operand = compile_node(e.this, scope)
    unit = e.args["to"].name.upper()
    t = operand.flink_type
    if not (is_timestamp(t) or t.root == "DATE"):
        raise ValidationError(f"cannot apply '{e.key.upper()} TO {unit}' to an argument of type "
                              f"{type_name(t)}")
    if unit not in temporal.ROUND_UNITS:
        raise NotSupportedError(f"{e.key.upper()}(... TO {unit})")
    arrow_unit = temporal.ROUND_UNITS[unit]
    fn = pc.ceil_temporal if isinstance(e, exp.Ceil) else pc.floor_temporal
    target = arrow_type(t)
    tz = scope.session_tz

    def kernel(v: list) -> pa.Array:
        value = v[0]
        if t.root == "TIMESTAMP_LTZ" and tz.upper() != "UTC":
            value = pc.cast(value, pa.timestamp(value.type.unit, tz=tz))
        options = {"week_starts_monday": True} if arrow_unit == "week" else {}
        return pc.cast(fn(value, unit=arrow_unit, **options), target)

    return make(kernel, [operand], t, e.sql())


def _to_temporal(e: exp.Func, scope: Scope) -> CompiledExpr:
    """Hive-style wrappers some dialects insert (YEAR(TsOrDsToDate(x))): x as DATE/TIMESTAMP."""
    operand = compile_node(e.this, scope)
    t = operand.flink_type
    if isinstance(e, exp.TsOrDsToDate):
        return operand if is_timestamp(t) or t.root == "DATE" else coerce(operand, DATE, scope)
    return operand if is_timestamp(t) else coerce(operand, TIMESTAMP3, scope)


def reject_aggregate(e: exp.AggFunc, scope: Scope) -> None:
    name = e.sql_name().upper() if not isinstance(e, exp.Anonymous) else e.name.upper()
    arg_node = e.this
    arg_type = None
    if arg_node is not None and not isinstance(arg_node, exp.Star):
        if isinstance(arg_node, exp.Distinct):
            arg_node = arg_node.expressions[0] if arg_node.expressions else None
        if arg_node is not None:
            arg_type = compile_node(arg_node, scope).flink_type
    aggregate_type(name, arg_type)
    raise ValidationError(
        f"aggregate function {name} is not allowed here ({e.sql()})",
        hint="aggregates belong in a SELECT with GROUP BY or a window aggregation",
    )

