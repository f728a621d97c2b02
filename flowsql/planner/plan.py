"""Planning entry points: statements → optimized logical plans → one JobGraph.

Contract:
- :func:`plan_query` / :func:`plan_inserts` build the logical plan(s) with
  :class:`~flowsql.planner.builder.PlanBuilder`, run the rewrite rules
  (:func:`flowsql.planner.rules.optimize`), infer changelog modes and check sinks
  (:func:`flowsql.planner.validate.check_sink`), and translate to a validated JobGraph
  (:func:`flowsql.planner.translate.translate`) with the session's parallelism and
  mini-batch settings. Everything is plain data; nothing runs.
- :class:`Planned` carries the raw and optimized plans, the graph, whether every source is
  bounded, whether the result is a changelog, client-side ORDER BY / LIMIT, and the
  planner's warnings (a STATE_TTL hint that has no effect) for the session to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from flowsql.physical.graph import JobGraph
from flowsql.planner.builder import ClientSide, PlanBuilder
from flowsql.planner.logical import Scan, Sink, walk_nodes


@dataclass
class Planned:
    raw: list[Sink]
    optimized: list[Sink]
    graph: JobGraph
    bounded: bool
    updating: bool
    client: ClientSide = field(default_factory=ClientSide)
    warnings: list[str] = field(default_factory=list)  # planner notes for the user


def _finish(raw: list[Sink], session: Any, name: str, client: ClientSide,
            warnings: list[str] | None = None) -> Planned:
    from flowsql.planner import changelog
    from flowsql.planner.rules import RuleContext, optimize
    from flowsql.planner.translate import parallelism_from_config, settings_from_config, translate
    from flowsql.planner.validate import check_sink, check_sink_job

    config = session.config
    parallelism = parallelism_from_config(config)
    ctx = RuleContext(parallelism=parallelism, config=config)
    optimized = [optimize(s, ctx) for s in raw]  # type: ignore[misc]
    updating = False
    for s in optimized:
        modes = changelog.infer(s)
        is_upd = modes[id(s.input)] != changelog.APPEND
        updating = updating or is_upd
        check_sink(s.table, changelog.first_updating(s) if is_upd else None)
        check_sink_job(s.table, config)
    graph = translate(optimized, name=name, parallelism=parallelism, settings=settings_from_config(config))  # type: ignore[arg-type]
    bounded = all(n.bounded for s in optimized for n in walk_nodes(s) if isinstance(n, Scan))
    return Planned(raw, optimized, graph, bounded, updating, client,  # type: ignore[arg-type]
                   list(dict.fromkeys(warnings or [])))


def job_name(session: Any, default: str) -> str:
    name = session.config.get("pipeline.name") or ""
    return name or default


def plan_query(session: Any, query: exp.Expression, text: str = "") -> Planned:
    builder = PlanBuilder(session.catalog, session.config)
    sink = builder.query(query)
    return _finish([sink], session, job_name(session, _short("collect", text)), builder.client,
                   builder.warnings)


def plan_inserts(session: Any, inserts: list[Any], text: str = "") -> Planned:
    builder = PlanBuilder(session.catalog, session.config)
    sinks = [builder.insert(i.target, i.query, i.columns) for i in inserts]
    for i in inserts:
        if getattr(i, "overwrite", False):
            from flowsql.errors import NotSupportedError

            raise NotSupportedError("INSERT OVERWRITE in streaming mode")
    targets = ", ".join(".".join(i.target) for i in inserts)
    return _finish(sinks, session, job_name(session, _short(f"insert-into_{targets}", text)),
                   ClientSide(), builder.warnings)


def _short(prefix: str, text: str) -> str:
    words = " ".join(text.split())
    return prefix if not words else f"{prefix}: {words[:60]}{'...' if len(words) > 60 else ''}"
