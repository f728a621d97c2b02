"""Rule: keep only the columns that some parent reads.

Walks the plan top-down with the set of columns each node's parent needs:
- a Sink, a Union and an aggregate's output need all their columns;
- a Join asks each input for the columns its parent, its keys and its residual read (and a
  window join its window columns, an interval or temporal join its time columns); a window
  table function asks for what its parent needs
  of the input's columns plus its time column;
- a Calc keeps only the projections its parent needs and asks its input for the columns
  those projections and its condition read;
- an aggregate asks for its keys, aggregate inputs, FILTER columns and time column;
- a node with a ``pruned(need, prune)`` method (Top-N, OVER, window TVF) prunes itself;
- a Scan keeps the needed columns (and computed columns) plus those its pushed filter reads;
  ``Scan.columns`` lists the physical columns the Scan's output, computed columns and filter
  read. The watermark expression is evaluated on the raw source batch, so it needs nothing
  from the Scan output; the scan translation (``flowsql.planner.translate``) adds its columns
  to those a projecting source reads.

Example::

    Calc(select=[a])                         Calc(select=[a])
    +- Scan(fields=[a, b, c], computed=[..])  →  +- Scan(fields=[a])
"""

from __future__ import annotations

from flowsql.planner.logical import (
    Calc,
    GroupAggregate,
    Join,
    LogicalNode,
    Scan,
    Sink,
    Union,
    WindowAggregate,
    names,
)
from flowsql.planner.rules import RuleContext
from flowsql.planner.rules.refs import referenced
from flowsql.planner.window_joins import WindowTable


def _agg_needs(node: WindowAggregate | GroupAggregate) -> set[str]:
    spec = node.spec
    need = set(spec.keys)
    for a in spec.aggs:
        need |= {c for c in (a.input, a.filter, *a.extra_inputs) if c}
    if isinstance(node, WindowAggregate):
        need.add(spec.window.time_column)
    return need


def prune(node: LogicalNode, need: set[str] | None) -> LogicalNode:
    if isinstance(node, Sink):
        return node.replace(input=prune(node.input, None))
    if isinstance(node, Union):
        return node.replace(children=tuple(prune(k, None) for k in node.children))
    if isinstance(node, Join):
        return _prune_join(node, need)
    if isinstance(node, WindowTable):  # keeps its time column and the three window columns
        window_cols = node.schema[len(node.input.schema):]
        inner = None if need is None else (
            {n for n in need if n in names(node.input.schema)} | {node.window.time_column})
        child = prune(node.input, inner)
        return node.replace(schema=tuple(child.schema) + tuple(window_cols), input=child)
    if isinstance(node, WindowAggregate | GroupAggregate):
        return node.replace(input=prune(node.input, _agg_needs(node)))
    if isinstance(node, Calc):
        keep = [(n, e) for n, e in node.projections if need is None or n in need]
        if not keep:  # keep one column so batches keep their row count
            keep = list(node.projections[:1])
        available = names(node.input.schema)
        reads: set[str] = set()
        for _, e in keep:
            reads |= referenced(e, available)
        reads |= referenced(node.condition, available)
        fields = tuple(f for f in node.schema if f.name in {n for n, _ in keep})
        return Calc(schema=fields, input=prune(node.input, reads), projections=tuple(keep),
                    condition=node.condition)
    if hasattr(node, "pruned"):  # nodes of their own modules (ranking, OVER)
        return node.pruned(need, prune)
    if isinstance(node, Scan):
        if need is None:
            return node
        available = names(node.schema)
        need = set(need) | referenced(node.filter, available)
        computed = dict(node.computed)
        fields = tuple(f for f in node.schema if f.name in need) or node.schema[:1]
        kept = {f.name for f in fields}
        physical = set(node.columns)
        reads = {n for n in kept if n in physical}
        for n in kept:
            if n in computed:
                reads |= referenced(computed[n], physical)
        columns = tuple(c for c in node.columns if c in reads) or node.columns[:1]
        return node.replace(
            schema=fields,
            columns=columns,
            computed=tuple((n, e) for n, e in node.computed if n in kept),
        )
    return node


def _prune_join(node: Join, need: set[str] | None) -> LogicalNode:
    """Each input keeps the columns the parent, the keys and the residual read; the join's
    schema shrinks with them (right columns keep their output names)."""
    out = names(node.schema)
    right_out = dict(zip(names(node.right.schema), node.right_names, strict=True))
    want = (set(out) if need is None else set(need)) | referenced(node.residual, out)
    # a window join also reads its window columns (flowsql.planner.window_joins), a temporal
    # join its time columns (flowsql.planner.temporal_joins)
    left = prune(node.left, {n for n in names(node.left.schema) if n in want} | set(node.left_keys)
                 | set(getattr(node, "left_window", ())) | _time(node, "left_time"))
    right = prune(node.right, {n for n, o in right_out.items() if o in want} | set(node.right_keys)
                  | set(getattr(node, "right_window", ())) | _time(node, "right_time"))
    types = {f.name: f for f in node.schema}
    schema = tuple(types[f.name] for f in left.schema) + tuple(types[right_out[f.name]] for f in right.schema)
    return node.replace(schema=schema, left=left, right=right)


def _time(node: Join, attr: str) -> set[str]:
    name = getattr(node, attr, "")
    return {name} if name else set()


def apply(plan: LogicalNode, ctx: RuleContext) -> LogicalNode:
    return prune(plan, None)
