"""Rewrite rules over the logical plan, applied in order (sqlglot optimizer style).

Contract: every rule is ``rule(plan, ctx) -> plan`` (a pure function over frozen nodes; it
returns a new tree, or the same one when nothing applies), lives in its own module, and
keeps the plan's output schema. :func:`optimize` runs :data:`RULES` in order:

1. :mod:`.merge_calcs` — fold a Calc into the Calc below it, drop identity Calcs;
2. :mod:`.join_filter_pushdown` — move the conjuncts of a filter above an INNER join that read
   one input only below the join (then :mod:`.merge_calcs` again);
3. :mod:`.filter_pushdown` — move a filter right above a Scan into the Scan (the source's
   first operator applies it before anything else);
4. :mod:`.projection_pruning` — keep only the columns the parents use (Calc projections,
   the Scan's columns and computed columns);
5. :mod:`.two_phase_aggregate` — split window aggregations and GROUP BYs into a per-batch local
   pre-aggregation and a keyed global merge when the job runs with parallelism > 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowsql.planner.logical import LogicalNode


@dataclass(frozen=True)
class RuleContext:
    parallelism: int = 1
    config: Any = field(default=None, compare=False)


Rule = Callable[[LogicalNode, RuleContext], LogicalNode]


def _rules() -> list[Rule]:
    from flowsql.planner.rules import (
        filter_pushdown,
        join_filter_pushdown,
        merge_calcs,
        projection_pruning,
        two_phase_aggregate,
    )

    return [
        merge_calcs.apply,
        join_filter_pushdown.apply,
        merge_calcs.apply,
        filter_pushdown.apply,
        projection_pruning.apply,
        merge_calcs.apply,
        two_phase_aggregate.apply,
    ]


def optimize(plan: LogicalNode, ctx: RuleContext | None = None) -> LogicalNode:
    ctx = ctx or RuleContext()
    for rule in _rules():
        plan = rule(plan, ctx)
    return plan


def rebuild(node: LogicalNode, children: list[LogicalNode]) -> LogicalNode:
    """``node`` with new inputs (same kind, same other fields)."""
    from flowsql.planner.logical import Join, Union

    if isinstance(node, Union):
        return node.replace(children=tuple(children))
    if isinstance(node, Join):
        return node.replace(left=children[0], right=children[1])
    if not children:
        return node
    return node.replace(input=children[0])


def bottom_up(plan: LogicalNode, fn: Callable[[LogicalNode], LogicalNode]) -> LogicalNode:
    kids = [bottom_up(k, fn) for k in plan.inputs]
    return fn(rebuild(plan, kids) if kids else plan)
