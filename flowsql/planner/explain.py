"""EXPLAIN text for streaming statements.

Contract: :func:`explain_text` renders, in this order and deterministically:

1. ``== Abstract Syntax Tree ==`` — the logical plan as built (one tree per sink);
2. ``== Optimized Logical Plan ==`` — after the rewrite rules, each node annotated with its
   changelog mode (``changelogMode=[I]`` append, ``[I,UB,UA,D]`` retract, ``[I,UA,D]`` upsert);
3. ``== Physical Plan ==`` — the JobGraph (:meth:`JobGraph.explain`);
4. ``== Changelog Modes ==`` — one line per physical operator: ``<id>: append | retract``.
"""

from __future__ import annotations

from flowsql.physical.graph import JobGraph
from flowsql.planner import changelog
from flowsql.planner.logical import explain_plan
from flowsql.planner.plan import Planned

_UPDATING_KINDS = ("group-aggregate", "changelog-normalize", "rank")


def operator_modes(graph: JobGraph) -> dict[str, str]:
    """Changelog mode of every physical operator (propagated along the edges)."""
    modes: dict[str, str] = {}
    for op in graph.topological_order():
        ins = [modes[e.source] for e in graph.inputs(op.id)]
        if op.kind in _UPDATING_KINDS:
            modes[op.id] = changelog.RETRACT
        elif op.kind == "source" and op.params.get("changelog"):
            modes[op.id] = changelog.UPSERT if op.params["changelog"] == "upsert" else changelog.RETRACT
        elif op.kind == "join":
            modes[op.id] = changelog.RETRACT if op.params.get("changelog") else changelog.APPEND
        elif op.kind in ("window-aggregate", "session-window", "local-window-aggregate",
                         "local-group-aggregate"):
            modes[op.id] = changelog.APPEND
        else:
            modes[op.id] = changelog.RETRACT if changelog.RETRACT in ins else changelog.APPEND
    return modes


def explain_text(planned: Planned) -> str:
    out = ["== Abstract Syntax Tree =="]
    out += [explain_plan(s) for s in planned.raw]
    out += ["", "== Optimized Logical Plan =="]
    for s in planned.optimized:
        modes = changelog.infer(s)
        out.append(explain_plan(s, lambda n, m=modes: f"changelogMode={changelog.MODE_TEXT[m[id(n)]]}"))
    out += ["", "== Physical Plan ==", planned.graph.explain(), "", "== Changelog Modes =="]
    out += [f"{op_id}: {mode}" for op_id, mode in operator_modes(planned.graph).items()]
    return "\n".join(out)
