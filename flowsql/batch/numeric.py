"""Flink's numeric semantics for ``/`` and ``CAST(… AS <integer>)`` in DuckDB SQL.

The batch transpiler does not type expressions, so the rewrites below let DuckDB pick the
branch from the operand types it binds: ``typeof(x)`` is a constant that DuckDB folds while
planning, so each rewritten expression costs one branch at run time.

- ``a / b`` (:func:`flink_division`): when neither operand is FLOAT/DOUBLE, DuckDB's
  ``divide(a, b)`` — integer ∘ integer stays an integer truncated toward zero (Flink:
  ``7 / 2`` = 3, ``-7 / 2`` = -3), DECIMAL divides exactly; a zero divisor (with a non-NULL
  dividend) raises ``division by zero in '<a / b>'``, the message of the streaming engine
  (Flink raises ArithmeticException). With a FLOAT/DOUBLE operand, DuckDB's ``/`` (Java
  double division: ±Infinity/NaN for a zero divisor). ``cast_to_type`` gives both branches
  the exact branch's type, so ``INT / INT`` stays ``INT``.
- ``MOD(a, b)`` and ``a % b`` (:func:`flink_modulo`): the same division-by-zero error for
  exact operands; DuckDB's own error (or NaN for FLOAT/DOUBLE) otherwise.
- ``CAST(x AS TINYINT|SMALLINT|INT|BIGINT)`` (:func:`flink_integer_cast`): DuckDB rounds a
  FLOAT/DOUBLE, DECIMAL or numeric string; Flink truncates toward zero
  (``CAST(-2.7 AS INT)`` = -2, ``CAST('3.5' AS INT)`` = 3). So the value is truncated first
  (through DOUBLE for FLOAT/DOUBLE, through DECIMAL(38, 9) for DECIMAL and strings), then
  cast; a string that is not a number fails as the plain cast does. Other sources (integers, booleans) cast as before. ``TRY_CAST`` keeps returning NULL
  for what does not convert.
"""

from __future__ import annotations

from sqlglot import exp

_APPROX = ("FLOAT", "DOUBLE")
_INTEGER_TARGETS = frozenset({"TINYINT", "SMALLINT", "INT", "BIGINT"})


def _fn(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _typeof_in(node: exp.Expression, names: tuple[str, ...]) -> exp.Expression:
    return exp.In(this=_fn("TYPEOF", node.copy()),
                  expressions=[exp.Literal.string(n) for n in names])


def _typeof_like(node: exp.Expression, pattern: str) -> exp.Expression:
    return exp.Like(this=_fn("TYPEOF", node.copy()), expression=exp.Literal.string(pattern))


def _guarded_divisor(a: exp.Expression, b: exp.Expression, sql: str) -> exp.Expression:
    """``b``, or an error naming ``sql`` when ``b`` is zero and ``a`` is not NULL (used where
    neither operand is FLOAT/DOUBLE; ``ERROR()`` is typed NULL, so ``b`` keeps its type)."""
    zero = exp.and_(exp.EQ(this=b.copy(), expression=exp.Literal.number(0)),
                    exp.Not(this=exp.Is(this=a.copy(), expression=exp.Null())))
    message = exp.Literal.string(f"division by zero in '{sql}'")
    return exp.Case(ifs=[exp.If(this=zero, true=_fn("ERROR", message))], default=b.copy())


def _approx(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.or_(_typeof_in(a, _APPROX), _typeof_in(b, _APPROX))


def flink_division(node: exp.Div, sql: str) -> exp.Expression:
    """``a / b`` with Flink's semantics (see module contract); ``sql`` is the Flink text of
    the division, named in the division-by-zero error."""
    a, b = exp.Paren(this=node.this), exp.Paren(this=node.expression)
    exact = _fn("DIVIDE", a.copy(), _guarded_divisor(a, b, sql))
    double = exp.Div(this=a.copy(), expression=b.copy(), typed=False, safe=False)
    return exp.Paren(this=exp.Case(
        ifs=[exp.If(this=_approx(a, b), true=_fn("CAST_TO_TYPE", double, exact.copy()))],
        default=exact,
    ))


def flink_modulo(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    """``MOD(a, b)`` / ``a % b``: the sign follows the dividend (DuckDB's too); an exact
    zero divisor raises the streaming engine's ``division by zero in 'a % b'``; with a
    FLOAT/DOUBLE operand a zero divisor gives NaN, as in Java."""
    a, b = exp.Paren(this=a), exp.Paren(this=b)
    sql = exp.Mod(this=a.this.copy(), expression=b.this.copy()).sql()
    divisor = exp.Case(ifs=[exp.If(this=_approx(a, b), true=b.copy())],
                       default=_guarded_divisor(a, b, sql))
    return exp.Mod(this=a, expression=divisor)


def is_integer_target(to: exp.DataType) -> bool:
    return to.this.name in _INTEGER_TARGETS if hasattr(to.this, "name") else False


def flink_integer_cast(node: exp.Cast) -> exp.Expression:
    """``CAST``/``TRY_CAST`` to an integer type, truncating toward zero (module contract).
    ``node``'s target type is already DuckDB's."""
    x = node.this
    kind = exp.TryCast if isinstance(node, exp.TryCast) else exp.Cast
    to = node.args["to"]

    def cast(value: exp.Expression, target: exp.DataType, klass: type = kind) -> exp.Expression:
        return klass(this=value, to=target.copy())

    wide = exp.DataType.build("DECIMAL(38, 9)", dialect="duckdb")
    double = exp.DataType.build("DOUBLE", dialect="duckdb")
    via_double = cast(_fn("TRUNC", cast(x.copy(), double, exp.TryCast)), to)
    # a string that is no number falls through to the plain cast, for DuckDB's own error
    via_decimal = _fn("COALESCE", cast(_fn("TRUNC", cast(x.copy(), wide, exp.TryCast)), to),
                      cast(x.copy(), to))
    stringish = exp.or_(_typeof_like(x, "DECIMAL%"), _typeof_in(x, ("VARCHAR",)))
    return exp.Case(
        ifs=[exp.If(this=_typeof_in(x, _APPROX), true=via_double),
             exp.If(this=stringish, true=via_decimal)],
        default=cast(x.copy(), to),
    )
