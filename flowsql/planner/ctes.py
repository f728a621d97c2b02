"""``WITH`` (common table expressions) in streaming plans.

Contract:
- :func:`plan_with` plans a query that carries a ``WITH`` clause: its CTEs become visible,
  by name, to the query's FROM items (:func:`cte_relation`), then the query is planned
  without the clause. A CTE sees the CTEs defined before it in the same clause and those of
  enclosing queries; a CTE name shadows a catalog table or view of that (one-part) name, as
  in Flink. Column lists (``WITH x (a, b) AS ...``) rename the CTE's columns.
- A CTE is inlined where it is used (as views are): a CTE read twice is planned — and run
  — twice. ``WITH RECURSIVE`` is a NotSupportedError.
- A view's stored query does not see the CTEs of the query that reads the view
  (:func:`isolated`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from flowsql.errors import NotSupportedError

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation


@dataclass(frozen=True)
class Cte:
    name: str
    query: exp.Expression
    columns: tuple[str, ...]
    visible: tuple[Cte, ...]  # the CTEs its own query sees


def _scope(b: PlanBuilder) -> tuple[Cte, ...]:
    return getattr(b, "_ctes", ())


@contextmanager
def _seeing(b: PlanBuilder, scope: tuple[Cte, ...]) -> Iterator[None]:
    saved = _scope(b)
    b._ctes = scope  # type: ignore[attr-defined]
    try:
        yield
    finally:
        b._ctes = saved  # type: ignore[attr-defined]


def plan_with(b: PlanBuilder, query: exp.Expression, top: bool) -> Relation:
    with_ = query.args["with_"]
    if with_.args.get("recursive"):
        raise NotSupportedError("WITH RECURSIVE")
    scope = _scope(b)
    for cte in with_.expressions:
        alias = cte.args.get("alias")
        columns = tuple(c.name for c in (alias.columns if alias is not None else []) or [])
        scope = (*scope, Cte(cte.alias_or_name.lower(), cte.this, columns, scope))
    rest = query.copy()
    rest.set("with_", None)
    with _seeing(b, scope):
        return b._query(rest, top=top)


def cte_relation(b: PlanBuilder, item: exp.Table) -> Relation | None:
    """The relation of a one-part table name that names a visible CTE, else None."""
    if item.db or item.catalog:
        return None
    name = item.name.lower()
    for cte in reversed(_scope(b)):
        if cte.name == name:
            with _seeing(b, cte.visible):
                rel = b._query(cte.query.copy(), top=False)
                rel.node = b._materialize(rel)
            if cte.columns:
                rel = b._rename(rel, list(cte.columns), f"WITH {cte.name}")
            rel.aliases = set()
            return rel
    return None


@contextmanager
def isolated(b: PlanBuilder) -> Iterator[None]:
    """No CTE is visible inside (a view's stored query)."""
    with _seeing(b, ()):
        yield
