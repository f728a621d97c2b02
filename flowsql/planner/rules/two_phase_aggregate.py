"""Rule: split an aggregation into local (per batch) + global (keyed) phases.

Applies when the job runs with parallelism > 1 and the aggregation has keys and only
COUNT/SUM/MIN/MAX/AVG (no DISTINCT):

- a window aggregation (not SESSION, not processing time — as in Flink —, no late-data
  table): each source-side subtask
  pre-aggregates every batch per (keys, slice) with one vectorized group-by
  (:meth:`Accumulators.partial`); the keyed global step merges partial states
  (``local-window-aggregate`` → hash → ``window-aggregate`` with ``merge``);
- an unbounded GROUP BY: each upstream subtask pre-aggregates every batch per key (signed
  for a changelog input, with the signed row count); the keyed global step folds the partial
  states and emits the changelog (``local-group-aggregate`` → hash → ``group-aggregate`` with
  ``merge``).

Either way the hash exchange ships about one row per key and batch instead of every input
row. The logical node is marked ``two_phase``; :mod:`flowsql.planner.translate` emits the
pair of operators.
"""

from __future__ import annotations

from flowsql.planner.logical import GroupAggregate, LogicalNode, WindowAggregate
from flowsql.planner.rules import RuleContext, bottom_up


def applies(node: WindowAggregate, parallelism: int) -> bool:
    from flowsql.operators.local_window_aggregate import two_phase_possible

    return (
        parallelism > 1
        and bool(node.spec.keys)
        and two_phase_possible(node.spec)
        and node.late_sink is None
        and not node.spec.window.proctime  # rows are windowed on arrival at the global step
    )


def applies_to_group(node: GroupAggregate, parallelism: int) -> bool:
    from flowsql.operators.local_group_aggregate import two_phase_possible

    return parallelism > 1 and two_phase_possible(node.spec)


def apply(plan: LogicalNode, ctx: RuleContext) -> LogicalNode:
    def fn(node: LogicalNode) -> LogicalNode:
        if isinstance(node, WindowAggregate) and applies(node, ctx.parallelism):
            return node.replace(two_phase=True)
        if isinstance(node, GroupAggregate) and applies_to_group(node, ctx.parallelism):
            return node.replace(two_phase=True)
        return node

    return bottom_up(plan, fn)
