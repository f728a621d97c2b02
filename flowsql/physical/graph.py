"""The physical JobGraph: named operators, their parallelism, and the edges between them.

Contract:
- A :class:`JobGraph` is plain, frozen, JSON-able data (see :mod:`flowsql.physical.serde`);
  only the runtime builds live objects from it (``flowsql.operators.registry``), so a graph can
  cross a process boundary unchanged.
- :class:`OperatorSpec` says *what* runs: a stable ``id`` (``"3-window-aggregate"``; it names
  state, metrics, logs and errors), a registry ``kind``, JSON ``params``, a ``parallelism``
  and a display ``name``. ``params`` are normalised through JSON on construction (tuples
  become lists), so ``from_json(to_json(g)) == g`` always holds.
- :class:`Edge` says how records move from one operator to the next: ``forward`` (subtask i
  to subtask i; equal parallelism required), ``hash`` (by ``keys``: all rows of one key reach
  the same downstream subtask), ``broadcast`` (every batch to every subtask) or ``rebalance``
  (batches round-robin). Control messages (watermarks, end of input) always go to every
  downstream subtask. The order of a target's incoming edges is its ``input_index`` order.
- :meth:`JobGraph.validate` raises :class:`~flowsql.errors.PlanError` for unknown ids,
  duplicate ids, cycles, a forward edge between different parallelisms, or keys on a non-hash
  edge; :meth:`JobGraph.topological_order` is deterministic (declaration order breaks ties).
- :meth:`JobGraph.chains` groups operators into chains that run in one task (one thread)
  without any exchange: ``A -> B`` is chained when the edge is ``forward``, parallelisms are
  equal, ``A`` has exactly one outgoing edge and ``B`` exactly one incoming edge (and
  ``JobGraph.chaining`` is on). Each chain is linear; its head may have several inputs and its
  tail several outputs.
- :meth:`JobGraph.explain` is the deterministic text form used by EXPLAIN and golden tests.
  Example (the graph of ``tests/physical/test_graph.py::test_explain_golden``)::

    JobGraph "nexmark-q5" (4 operators, 3 edges, 3 chains)
    Chain 1 [parallelism 1]: 1-source -> 2-calc
      1-source: Source(bids) kind=source params={"connector":"nexmark"}
      2-calc: Calc kind=calc params={"projection":["auction","dateTime"]}
        -> 3-window-aggregate hash[auction]
    Chain 2 [parallelism 2]: 3-window-aggregate
      3-window-aggregate: TumbleWindowAggregate kind=window-aggregate params={"size_ms":10000}
        -> 4-sink rebalance
    Chain 3 [parallelism 1]: 4-sink
      4-sink: CollectSink kind=collect-sink params={}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from flowsql.errors import PlanError

Partitioning = Literal["forward", "hash", "broadcast", "rebalance"]
PARTITIONINGS: tuple[str, ...] = ("forward", "hash", "broadcast", "rebalance")
_PARAMS_TEXT_LIMIT = 160


def _normalise_params(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(params, sort_keys=True))
    except (TypeError, ValueError) as e:
        raise PlanError(f"operator params must be JSON-serializable: {e}") from None


def _display(value: Any) -> Any:
    """Params for display: an embedded table definition shows as its qualified name."""
    if isinstance(value, dict):
        name = value.get("name")
        if "columns" in value and isinstance(name, dict) and "name" in name:
            return f"{name.get('catalog')}.{name.get('database')}.{name['name']}"
        return {k: _display(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_display(v) for v in value]
    return value


@dataclass(frozen=True)
class OperatorSpec:
    """One operator of the physical plan. Not hashable (``params`` is a dict)."""

    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    parallelism: int = 1
    name: str = ""
    uid: str = ""  # names the operator's state in checkpoints; defaults to ``id``

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _normalise_params(dict(self.params)))
        if not self.name:
            object.__setattr__(self, "name", self.kind)
        if not self.uid:
            object.__setattr__(self, "uid", self.id)

    @property
    def params_text(self) -> str:
        text = json.dumps(_display(self.params), sort_keys=True, separators=(",", ":"))
        if len(text) > _PARAMS_TEXT_LIMIT:
            text = text[: _PARAMS_TEXT_LIMIT - 3] + "..."
        return text


@dataclass(frozen=True)
class Edge:
    """A data exchange from operator ``source`` to operator ``target``."""

    source: str
    target: str
    partitioning: Partitioning = "forward"
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(self.keys))

    @property
    def text(self) -> str:
        if self.partitioning == "hash":
            return f"hash[{', '.join(self.keys)}]"
        return self.partitioning


@dataclass(frozen=True)
class Chain:
    """Operators (by id, head first) that run together in one task per subtask."""

    index: int
    operator_ids: tuple[str, ...]
    parallelism: int

    @property
    def head(self) -> str:
        return self.operator_ids[0]

    @property
    def tail(self) -> str:
        return self.operator_ids[-1]

    @property
    def id(self) -> str:
        return f"chain-{self.index}"


@dataclass(frozen=True)
class JobGraph:
    name: str
    operators: tuple[OperatorSpec, ...]
    edges: tuple[Edge, ...] = ()
    chaining: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "operators", tuple(self.operators))
        object.__setattr__(self, "edges", tuple(self.edges))

    # -- lookups -----------------------------------------------------------------------------
    def operator(self, operator_id: str) -> OperatorSpec:
        for op in self.operators:
            if op.id == operator_id:
                return op
        raise PlanError(f"unknown operator id '{operator_id}' in job graph '{self.name}'")

    def inputs(self, operator_id: str) -> list[Edge]:
        """Incoming edges in declaration order (= the target's input_index order)."""
        return [e for e in self.edges if e.target == operator_id]

    def outputs(self, operator_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == operator_id]

    def sources(self) -> list[OperatorSpec]:
        return [op for op in self.operators if not self.inputs(op.id)]

    # -- validation --------------------------------------------------------------------------
    def validate(self) -> JobGraph:
        """Check the graph; return it (for chaining calls). Raises PlanError."""
        if not self.operators:
            raise PlanError(f"job graph '{self.name}' has no operators")
        ids = [op.id for op in self.operators]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise PlanError(f"duplicate operator id(s) in job graph: {', '.join(dup)}")
        by_id = {op.id: op for op in self.operators}
        for op in self.operators:
            if not op.id or not op.kind:
                raise PlanError(f"operator '{op.id}' needs an id and a kind")
            if op.parallelism < 1:
                raise PlanError(f"operator {op.id} has parallelism {op.parallelism}; must be >= 1")
        for e in self.edges:
            for end in (e.source, e.target):
                if end not in by_id:
                    raise PlanError(f"edge {e.source} -> {e.target} names unknown operator '{end}'")
            if e.partitioning not in PARTITIONINGS:
                raise PlanError(
                    f"edge {e.source} -> {e.target}: unknown partitioning '{e.partitioning}'",
                    hint="valid: " + ", ".join(PARTITIONINGS),
                )
            if e.partitioning == "hash" and not e.keys:
                raise PlanError(f"hash edge {e.source} -> {e.target} needs key columns")
            if e.partitioning != "hash" and e.keys:
                raise PlanError(f"{e.partitioning} edge {e.source} -> {e.target} cannot have keys")
            if e.partitioning == "forward":
                ps, pt = by_id[e.source].parallelism, by_id[e.target].parallelism
                if ps != pt:
                    raise PlanError(
                        f"forward edge {e.source} -> {e.target} needs equal parallelism "
                        f"(got {ps} and {pt})",
                        hint="use a rebalance or hash edge between different parallelisms",
                    )
        self.topological_order()  # raises on cycles
        return self

    def topological_order(self) -> list[OperatorSpec]:
        """Kahn's algorithm; among ready operators, declaration order first."""
        indegree = {op.id: 0 for op in self.operators}
        for e in self.edges:
            indegree[e.target] = indegree.get(e.target, 0) + 1
        order: list[OperatorSpec] = []
        done: set[str] = set()
        while len(order) < len(self.operators):
            ready = [op for op in self.operators if op.id not in done and indegree[op.id] == 0]
            if not ready:
                stuck = sorted(op.id for op in self.operators if op.id not in done)
                raise PlanError(f"job graph '{self.name}' has a cycle through: {', '.join(stuck)}")
            op = ready[0]
            order.append(op)
            done.add(op.id)
            for e in self.outputs(op.id):
                indegree[e.target] -= 1
        return order

    # -- chaining ----------------------------------------------------------------------------
    def chainable(self, edge: Edge) -> bool:
        return (
            self.chaining
            and edge.partitioning == "forward"
            and self.operator(edge.source).parallelism == self.operator(edge.target).parallelism
            and len(self.outputs(edge.source)) == 1
            and len(self.inputs(edge.target)) == 1
        )

    def chains(self) -> list[Chain]:
        """Linear operator chains, ordered by the topological position of their heads."""
        chained_into = {e.target for e in self.edges if self.chainable(e)}
        chains: list[Chain] = []
        for op in self.topological_order():
            if op.id in chained_into:
                continue
            ids = [op.id]
            while True:
                outs = self.outputs(ids[-1])
                if len(outs) == 1 and self.chainable(outs[0]):
                    ids.append(outs[0].target)
                else:
                    break
            chains.append(Chain(len(chains) + 1, tuple(ids), op.parallelism))
        return chains

    def network_edges(self) -> list[Edge]:
        """Edges that cross chains (need channels), in declaration order."""
        return [e for e in self.edges if not self.chainable(e)]

    # -- text form ---------------------------------------------------------------------------
    def explain(self) -> str:
        chains = self.chains()
        lines = [
            f'JobGraph "{self.name}" ({len(self.operators)} operators, {len(self.edges)} edges, '
            f"{len(chains)} chains)"
        ]
        for chain in chains:
            lines.append(
                f"Chain {chain.index} [parallelism {chain.parallelism}]: "
                + " -> ".join(chain.operator_ids)
            )
            for op_id in chain.operator_ids:
                op = self.operator(op_id)
                lines.append(f"  {op.id}: {op.name} kind={op.kind} params={op.params_text}")
                for e in self.outputs(op_id):
                    if not self.chainable(e):
                        lines.append(f"    -> {e.target} {e.text}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()
