"""Resolve calls of catalog functions in a query tree to self-describing UDF calls.

Contract: :func:`resolve_calls(tree, functions)` returns ``tree`` (a copy when anything
changed) where every call ``f(a, b)`` of a name that is not a built-in and that
``functions.lookup`` finds (a :class:`catalog.functions.Functions`) becomes

    PYTHON_UDF('f', 'package.module.attr', a, b)     -- scalar functions
    PYTHON_UDAF('f', 'package.module.attr', a, b)    -- aggregate functions
    PYTHON_UDTF('f', 'package.module.attr', a, b)    -- table functions

so that the plan (SQL text in the JobGraph) carries the path and any process can run it:
only plain data crosses a process boundary. The function is imported here (so a module
that no longer imports fails at planning, naming the module). Calls of unknown names are
left alone (the expression compiler reports them). Built-in functions win over catalog
functions, as in Flink.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from flowsql.errors import ValidationError
from flowsql.udf.loader import load_function

MARKERS = {"scalar": "PYTHON_UDF", "aggregate": "PYTHON_UDAF", "table": "PYTHON_UDTF"}
MARKER_NAMES = frozenset(MARKERS.values())


def is_udf_call(node: exp.Expression, kind: str | None = None) -> bool:
    if not isinstance(node, exp.Anonymous):
        return False
    name = str(node.name).upper()
    return name == MARKERS[kind] if kind else name in MARKER_NAMES


def udf_parts(node: exp.Anonymous) -> tuple[str, str, list[exp.Expression]]:
    """(SQL name, path, argument nodes) of a resolved call."""
    args = list(node.expressions)
    return args[0].name, args[1].name, args[2:]


def resolve_calls(tree: exp.Expression, functions: Any) -> exp.Expression:
    """See the module contract."""
    if functions is None:
        return tree
    found: dict[str, tuple[str, str]] = {}
    for node in tree.walk():
        if isinstance(node, exp.Anonymous) and not is_udf_call(node):
            name = str(node.name)
            if name.lower() in found:
                continue
            defn = functions.lookup(name)
            if defn is not None:
                fn = load_function(defn.path, name, defn.language)
                found[name.lower()] = (MARKERS[fn.kind], defn.path)
    if not found:
        return tree

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in found \
                and not is_udf_call(node):
            marker, path = found[str(node.name).lower()]
            return exp.Anonymous(this=marker, expressions=[
                exp.Literal.string(str(node.name)), exp.Literal.string(path),
                *[a.copy() for a in node.expressions],
            ])
        return node

    return tree.transform(rewrite)


def lateral_call(lateral: exp.Expression) -> exp.Expression:
    """The call inside ``LATERAL TABLE(call)`` (the ``TABLE(...)`` wrapper removed). A
    resolved Python function of another kind raises ``ValidationError`` naming its kind."""
    inner = lateral.this
    if isinstance(inner, exp.Anonymous) and str(inner.name).upper() == "TABLE" \
            and len(inner.expressions) == 1:
        inner = inner.expressions[0]
    if is_udf_call(inner) and not is_udf_call(inner, "table"):
        kind = "aggregate" if is_udf_call(inner, "aggregate") else "scalar"
        raise ValidationError(
            f"{udf_parts(inner)[0]} is a {kind} function, not a table function",
            hint="LATERAL TABLE(...) calls a table function (declared with @udtf)",
        )
    return inner
