"""JSON round trip for :class:`~flowsql.physical.graph.JobGraph`.

Contract: ``from_json(to_json(g)) == g`` for every graph (params are JSON-normalised when a
spec is built). The text is deterministic (sorted keys), versioned with ``"version": 1``, and
is what a JobManager would ship to a remote TaskManager or store with a job.
"""

from __future__ import annotations

import json
from typing import Any

from flowsql.errors import PlanError
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec

FORMAT_VERSION = 1


def to_dict(graph: JobGraph) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "name": graph.name,
        "chaining": graph.chaining,
        "operators": [
            {
                "id": op.id,
                "kind": op.kind,
                "name": op.name,
                "parallelism": op.parallelism,
                "params": op.params,
                "uid": op.uid,
            }
            for op in graph.operators
        ],
        "edges": [
            {
                "source": e.source,
                "target": e.target,
                "partitioning": e.partitioning,
                "keys": list(e.keys),
            }
            for e in graph.edges
        ],
    }


def from_dict(data: dict[str, Any]) -> JobGraph:
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise PlanError(f"unsupported job graph format version {version}")
    try:
        operators = tuple(
            OperatorSpec(
                id=o["id"],
                kind=o["kind"],
                params=o.get("params") or {},
                parallelism=int(o.get("parallelism", 1)),
                name=o.get("name", ""),
                uid=o.get("uid", ""),
            )
            for o in data["operators"]
        )
        edges = tuple(
            Edge(
                source=e["source"],
                target=e["target"],
                partitioning=e.get("partitioning", "forward"),
                keys=tuple(e.get("keys") or ()),
            )
            for e in data.get("edges") or ()
        )
        return JobGraph(
            name=data["name"],
            operators=operators,
            edges=edges,
            chaining=bool(data.get("chaining", True)),
        )
    except (KeyError, TypeError) as e:
        raise PlanError(f"malformed job graph JSON: missing or bad field {e}") from None


def to_json(graph: JobGraph, indent: int | None = None) -> str:
    return json.dumps(to_dict(graph), sort_keys=True, indent=indent)


def from_json(text: str) -> JobGraph:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise PlanError(f"job graph is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise PlanError("job graph JSON must be an object")
    return from_dict(data)
