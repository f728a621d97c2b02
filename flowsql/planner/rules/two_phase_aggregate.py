"""Rule: split a window aggregation into local (per batch) + global (keyed) phases.

Applies when the job runs with parallelism > 1 and the aggregation has keys and only COUNT/SUM/MIN/MAX/AVG
(no DISTINCT): each source-side subtask pre-aggregates every batch per (keys, slice) with one
vectorized group-by (:meth:`Accumulators.partial`), so the hash exchange ships one row per
key and slice instead of every input row; the keyed global step merges partial states.
The logical node is marked ``two_phase``; :mod:`flowsql.planner.translate` emits the
``local-window-aggregate`` → hash → ``window-aggregate`` (merging) pair.
"""

from __future__ import annotations

from flowsql.planner.logical import LogicalNode, WindowAggregate
from flowsql.planner.rules import RuleContext, bottom_up


def applies(node: WindowAggregate, parallelism: int) -> bool:
    from flowsql.operators.local_window_aggregate import two_phase_possible

    return (
        parallelism > 1
        and bool(node.spec.keys)
        and two_phase_possible(node.spec)
        and node.late_sink is None
    )


def apply(plan: LogicalNode, ctx: RuleContext) -> LogicalNode:
    def fn(node: LogicalNode) -> LogicalNode:
        if isinstance(node, WindowAggregate) and applies(node, ctx.parallelism):
            return node.replace(two_phase=True)
        return node

    return bottom_up(plan, fn)
