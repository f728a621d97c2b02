"""The shared shape of the Top-N, window TVF and OVER nodes: one input, whose columns they
pass on with columns of their own appended (row number, window bounds, aggregates).

Contract (the hooks :mod:`flowsql.planner.changelog`, :mod:`flowsql.planner.translate` and
the projection pruning rule call on nodes of their own modules):
- ``changelog_mode(input modes)`` → the node's mode; ``translate(builder)`` → its operator;
- :meth:`AppendingNode.pruned` — projection pruning: the input keeps what the parent reads,
  minus the node's own columns, plus :meth:`AppendingNode.reads` (the columns the node
  itself needs); the node's own columns stay;
- :meth:`AppendingNode.operator` adds the node's operator after its input's, hash-partitioned
  on ``keys`` (parallelism 1 without keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowsql.planner.logical import LogicalNode


@dataclass(frozen=True, eq=False)
class AppendingNode(LogicalNode):
    input: LogicalNode = field(default=None)  # type: ignore[assignment]

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    def reads(self) -> set[str]:
        return set()

    def pruned(self, need: set[str] | None, prune: Any) -> LogicalNode:
        own = {f.name for f in self.schema[len(self.input.schema):]}
        if need is not None:
            need = (set(need) - own) | self.reads()
        inp = prune(self.input, need)
        return self.replace(input=inp, schema=inp.schema + self.schema[len(self.input.schema):])

    def operator(self, b: Any, kind: str, display: str, params: dict[str, Any],
                 keys: tuple[str, ...]) -> Any:
        up = b.node(self.input)
        op = b.add(kind, display, params, b.parallelism if keys else 1)
        b.connect(up, op, keys)
        return op
