"""``LATERAL TABLE(f(args))`` with a Python table function: the :class:`Correlate` node.

Contract of :func:`plan_lateral(builder, rel, join)` (a FROM item ``join`` whose ``this`` is
a sqlglot ``Lateral``), as Flink's correlate:
- ``FROM t, LATERAL TABLE(f(x)) [AS T(a, b)]`` and ``CROSS JOIN LATERAL TABLE(...)``: one
  output row per row the function returns for an input row (inner);
  ``LEFT JOIN LATERAL TABLE(...) ON TRUE``: also each input row it returns nothing for,
  with NULLs (any other ON condition → NotSupportedError, as in Flink).
- The arguments are expressions over the left relation, computed by a Calc into ``$t<i>``
  columns; the output is the left's columns, then the function's (named by the alias's
  column list, else by the function's declared names). A name both have → ValidationError.
- Only a resolved Python table function (:mod:`flowsql.udf.resolve`) may be called; a
  LATERAL subquery or another function is NotSupportedError / ValidationError.
The operator is :class:`flowsql.operators.correlate.CorrelateOperator` (kind ``correlate``);
the changelog mode is the input's (row kinds pass through).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.planner.aggregates import col, sql
from flowsql.planner.logical import Calc, Field, LogicalNode, names
from flowsql.udf.api import TableFunction
from flowsql.udf.loader import load_function
from flowsql.udf.resolve import is_udf_call, lateral_call, udf_parts

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation


@dataclass(frozen=True, eq=False)
class Correlate(LogicalNode):
    """Input rows joined with the rows a Python table function returns for them."""

    input: LogicalNode = field(default=None)  # type: ignore[assignment]
    udf: tuple[str, str] = ("", "")  # (SQL name, 'package.module.attr')
    args: tuple[str, ...] = ()  # input columns holding the arguments
    outer: bool = False  # LEFT JOIN LATERAL ... ON TRUE
    outputs: tuple[tuple[str, str], ...] = ()  # (output column, the function's column)

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    def label(self) -> str:
        cols = ", ".join(f"{f} AS {o}" if f != o else o for o, f in self.outputs)
        return (f"Correlate(invocation=[{self.udf[0]}[{self.udf[1]}]({', '.join(self.args)})], "
                f"joinType=[{'LEFT' if self.outer else 'INNER'}], select=[{cols}])")

    def params(self) -> dict[str, Any]:
        return {"udf": list(self.udf), "args": list(self.args), "outer": self.outer,
                "outputs": [list(o) for o in self.outputs],
                "keep": [n for n in names(self.input.schema) if n not in self.args]}


def _call(join: exp.Join) -> exp.Anonymous:
    lateral = join.this
    inner = lateral_call(lateral)
    if is_udf_call(inner, "table"):
        return inner
    if isinstance(inner, exp.Anonymous | exp.Func) and not isinstance(inner, exp.Query):
        name = inner.name if isinstance(inner, exp.Anonymous) else inner.sql_name()
        raise ValidationError(
            f"table function {name} not found",
            hint="register a Python table function: CREATE FUNCTION f AS 'module.f' "
                 "(declared with @udtf, see docs/udf.md)",
        )
    raise NotSupportedError(f"LATERAL {lateral.this.sql(dialect='flink')}",
                            hint="LATERAL TABLE(f(...)) calls a Python table function")


def _outer(join: exp.Join) -> bool:
    side = str(join.args.get("side") or "").upper()
    on = join.args.get("on")
    is_true = on is None or (isinstance(on, exp.Boolean) and on.this is True)
    if side == "LEFT":
        if on is None or not is_true:
            raise NotSupportedError("LEFT JOIN LATERAL TABLE with a condition other than ON TRUE")
        return True
    if side or not is_true:
        raise NotSupportedError(f"{side or 'a'} JOIN LATERAL TABLE with a join condition",
                                hint="use CROSS JOIN LATERAL TABLE(...) or "
                                     "LEFT JOIN LATERAL TABLE(...) ON TRUE")
    return False


def plan_lateral(b: PlanBuilder, rel: Relation, join: exp.Join) -> Relation:
    from flowsql.planner.builder import Relation, expr_type, type_text
    from flowsql.planner.builder import _merge_calc as merge_calc

    call = _call(join)
    outer = _outer(join)
    name, path, arg_nodes = udf_parts(call)
    fn = load_function(path, name)
    if not isinstance(fn, TableFunction):  # resolved as a table function, then redefined
        raise ValidationError(f"{name} is a {fn.kind} function, not a table function")
    node = b._materialize(rel)
    have = names(node.schema)
    projections = [(n, sql(col(n))) for n in have]
    fields = list(node.schema)
    args: list[str] = []
    for i, a in enumerate(arg_nodes):
        e = b._strip(a.copy(), rel)
        text = e.sql(dialect="flink")
        fields.append(Field(f"$t{i}", type_text(expr_type(e, node.schema, b.config))))
        projections.append((f"$t{i}", text))
        args.append(f"$t{i}")
    pre: LogicalNode = merge_calc(Calc(schema=tuple(fields), input=node,
                                       projections=tuple(projections))) if args else node
    alias = join.this.args.get("alias")
    alias_name = alias.name if alias is not None and alias.name else name
    out_names = [c.name for c in alias.columns] if alias is not None and alias.columns \
        else list(fn.names)
    if len(out_names) != len(fn.names):
        raise ValidationError(f"alias {alias_name} names {len(out_names)} columns but table "
                              f"function {name} returns {len(fn.names)}")
    clash = sorted(set(out_names) & set(have))
    if clash:
        raise ValidationError(f"column(s) {', '.join(clash)} of table function {name} clash "
                              "with the input's", hint=f"rename them: AS {alias_name}(a, b, ...)")
    out_fields = tuple(node.schema) + tuple(
        Field(o, type_text(t)) for o, t in zip(out_names, fn.result_types, strict=True))
    node_out = Correlate(schema=out_fields, input=pre, udf=(name, path), args=tuple(args),
                         outer=outer, outputs=tuple(zip(out_names, fn.names, strict=True)))
    out = Relation(node_out, aliases=set(rel.aliases) | {alias_name},
                   time_attrs=set(rel.time_attrs), late_sink=rel.late_sink)
    if rel.qualified is not None:  # over a join: extend its name maps
        out.qualified = dict(rel.qualified)
        out.qualified.update({(alias_name, o): o for o in out_names})
        out.unqualified = {**rel.unqualified, **{o: o for o in out_names}}
        out.ambiguous = set(rel.ambiguous)
    return out
