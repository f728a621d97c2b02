"""Where a node of a parsed statement starts, for error messages."""

from __future__ import annotations

from sqlglot import exp


def node_position(node: exp.Expression) -> str:
    """Where ``node`` starts: `` (line L, column C)`` from its first identifier (sqlglot
    records where a token ends), or ``""`` when the tree carries no positions."""
    spots = [(i.meta["line"], i.meta["col"] - len(i.name) + 1)
             for i in node.find_all(exp.Identifier) if i.meta.get("line")]
    if not spots:
        return ""
    line, column = min(spots)
    return f" (line {line}, column {column})"
