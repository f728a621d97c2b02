"""Compile a resolved Python UDF call (``PYTHON_UDF('f', 'pkg.mod.f', args…)``, see
:mod:`flowsql.udf.resolve`) into a vectorized expression for the streaming engine.

Contract: :func:`compile_udf_call` imports the function (errors name the module), compiles the
arguments, and returns a :class:`~flowsql.expr.compile.CompiledExpr` of the declared result
type whose evaluation calls the function once per batch with one ``pa.Array`` per argument
(constants broadcast to the batch length) through :func:`flowsql.udf.invoke.call_scalar`,
the same call path batch mode uses. A deterministic call on constants only is folded once.
An aggregate or table function in a scalar position is a ``ValidationError`` saying where it
belongs.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from flowsql.errors import ValidationError
from flowsql.expr.compile import CompiledExpr, Scope
from flowsql.expr.kernels import Value, as_array, broadcast
from flowsql.udf.invoke import call_scalar
from flowsql.udf.loader import load_function
from flowsql.udf.resolve import udf_parts


def compile_udf_call(e: exp.Anonymous, scope: Scope) -> CompiledExpr:
    from flowsql.expr.operators import compile_node

    marker = str(e.name).upper()
    name, path, nodes = udf_parts(e)
    fn = load_function(path, name)
    if marker == "PYTHON_UDAF" or fn.kind == "aggregate":
        raise ValidationError(
            f"aggregate function {name} is not allowed here",
            hint="aggregates belong in a SELECT with GROUP BY or a window aggregation",
        )
    if marker == "PYTHON_UDTF" or fn.kind == "table":
        raise ValidationError(
            f"table function {name} is not allowed here",
            hint=f"call it in FROM: ... CROSS JOIN LATERAL TABLE({name}(...))",
        )
    args = [compile_node(n, scope) for n in nodes]
    fns = [a.fn for a in args]
    sql = f"{name}({', '.join(n.sql(dialect='flink') for n in nodes)})"

    def evaluate(batch: pa.RecordBatch | None) -> Value:
        rows = batch.num_rows if batch is not None else 1
        arrays = [as_array(broadcast(f(batch), rows)) for f in fns]
        out = call_scalar(fn, name, arrays, rows)
        return out[0] if batch is None else out

    deterministic = fn.deterministic and all(a.deterministic for a in args)
    if deterministic and args and all(a.constant for a in args):
        value = evaluate(None)
        return CompiledExpr(lambda batch, _v=value: _v, fn.result_type, sql, constant=True)
    return CompiledExpr(evaluate, fn.result_type, sql, deterministic=deterministic,
                        may_fail=True)
