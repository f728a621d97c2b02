"""Planning-time checks with clear messages.

Contract:
- :func:`check_query` walks a query before planning and raises
  ``NotSupportedError("not supported yet: <construct>")`` for constructs the streaming engine
  cannot run: OVER windows outside a SELECT list (those are planned by
  :mod:`flowsql.planner.ranking`), LATERAL / UNNEST (``LATERAL TABLE(f(...))`` is planned),
  MATCH_RECOGNIZE, GROUPING SETS / ROLLUP / CUBE, EXCEPT / INTERSECT, scalar subqueries
  outside a WHERE clause or select list (:mod:`flowsql.planner.scalar_subqueries`), and
  IN / EXISTS subqueries anywhere but among a WHERE clause's AND-ed conditions
  (:func:`where_conjunct`).
- :func:`check_sink_job` runs a connector's own checks of its sink against the job's
  settings (the factory's ``check_sink_job``).
- :func:`check_sink` raises ``PlanError`` when an updating (changelog) result goes to a sink
  that only accepts appends, naming the operator that produces updates and suggesting an
  upsert sink with a PRIMARY KEY. Built-in sinks: print, blackhole and the client accept
  changelogs; filesystem writes a row-kind column for changelog input (see
  :func:`sink_accepts_changelog`).
- :func:`source_bounded` asks the connector whether a table's input ends.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from flowsql.errors import NotSupportedError, PlanError, ValidationError

BATCH_HINT = "SET 'execution.runtime-mode' = 'batch' to run bounded queries on DuckDB"

_TOPN = (exp.RowNumber,)
_TOPN_NAMES = ("ROW_NUMBER", "RANK", "DENSE_RANK")


def is_lateral_table(node: exp.Expression) -> bool:
    """``LATERAL TABLE(f(...))`` in a join (planned by :mod:`flowsql.planner.lateral`)."""
    inner = node.this if isinstance(node, exp.Lateral) else None
    return isinstance(node.parent, exp.Join) and isinstance(inner, exp.Anonymous) \
        and str(inner.name).upper() == "TABLE"


def check_query(query: exp.Expression) -> None:
    for node in query.walk():
        if isinstance(node, exp.Window) and not _in_select_list(node):
            inner = node.this
            name = inner.sql_name().upper() if isinstance(inner, exp.Func) else sql_name(inner)
            if isinstance(inner, _TOPN) or name in _TOPN_NAMES:
                raise NotSupportedError(f"{name}() OVER (Top-N / deduplication)")
            raise NotSupportedError("OVER aggregation (window functions)")
        if isinstance(node, exp.Lateral | exp.Unnest) and not is_lateral_table(node):
            raise NotSupportedError("LATERAL / UNNEST")
        if type(node).__name__ == "MatchRecognize":
            raise NotSupportedError("MATCH_RECOGNIZE")
        if isinstance(node, exp.Group) and (
            node.args.get("grouping_sets") or node.args.get("rollup") or node.args.get("cube")
        ):
            raise NotSupportedError("GROUPING SETS / ROLLUP / CUBE")
        if isinstance(node, exp.Except | exp.Intersect):
            raise NotSupportedError(f"{type(node).__name__.upper()}")
        if isinstance(node, exp.Select) and node.args.get("qualify") is not None:
            raise NotSupportedError("QUALIFY")
        if isinstance(node, exp.Subquery | exp.Select) and node is not query:
            parent = node.parent
            if parent is not None and not isinstance(parent, exp.From | exp.Union | exp.Subquery | exp.CTE) and not (
                type(parent).__name__ == "WindowTVF"
            ) and not isinstance(node.parent, exp.Join) and not (
                isinstance(parent, exp.In | exp.Exists) and where_conjunct(parent)
            ) and not _scalar_position(node):
                raise NotSupportedError("subqueries in expressions (IN / EXISTS / scalar subqueries)")
        if isinstance(node, exp.In) and node.args.get("query") is not None and not where_conjunct(node):
            raise NotSupportedError("IN (subquery) outside the AND-ed conditions of a WHERE clause")
        if isinstance(node, exp.Exists) and not where_conjunct(node):
            raise NotSupportedError("EXISTS (subquery) outside the AND-ed conditions of a WHERE clause")


def _scalar_position(node: exp.Expression) -> bool:
    """A scalar subquery in a SELECT's WHERE or select list (planned by
    :mod:`flowsql.planner.scalar_subqueries`)."""
    if not isinstance(node, exp.Subquery) or isinstance(node.parent, exp.In | exp.Exists):
        return False
    child, p = node, node.parent
    while p is not None and not isinstance(p, exp.Select):
        child, p = p, p.parent
    return p is not None and child.arg_key in ("where", "expressions")


def where_conjunct(node: exp.Expression) -> bool:
    """Whether ``node`` is (the negation of) one of a WHERE clause's AND-ed conditions: where
    IN / EXISTS subqueries are planned as semi / anti joins (flowsql.planner.subqueries)."""
    parent = node.parent
    while isinstance(parent, exp.Paren):
        parent = parent.parent
    if isinstance(parent, exp.Not):
        parent = parent.parent
    while isinstance(parent, exp.And | exp.Paren):
        parent = parent.parent
    return isinstance(parent, exp.Where)


def _in_select_list(node: exp.Expression) -> bool:
    """An OVER window inside a SELECT list (or its WINDOW clause) is planned (or refused) by
    :mod:`flowsql.planner.ranking`."""
    while node.parent is not None and not isinstance(node.parent, exp.Select):
        node = node.parent
    return node.parent is not None and node.arg_key in ("expressions", "windows")


def sql_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    return type(node).__name__.upper()


def duration_option(value: str | None, key: str) -> int | None:
    """A Flink duration text in ms (None when unset); ValidationError naming ``key``."""
    if value is None or str(value).strip() == "":
        return None
    from connectors.options import parse_duration_ms

    ms = parse_duration_ms(str(value))
    if ms is None:
        raise ValidationError(
            f"invalid duration '{value}' for '{key}'", hint="e.g. '500 ms', '10 s', '1 min'"
        )
    return ms


def source_bounded(factory: Any, table: Any, options: dict[str, Any]) -> bool:
    """Whether the table's streaming input ends (asks the connector's reader)."""
    reader = factory.source_reader(table, options, parallelism=1)
    try:
        return bool(getattr(reader, "bounded", True))
    finally:
        close = getattr(reader, "close", None)
        if callable(close):
            close()


def sink_accepts_changelog(table: Any) -> bool:
    """Whether the sink table takes a changelog. Connectors declare it with a
    ``sink_accepts_changelog(table)`` method; those that do not are append-only."""
    from connectors.registry import factory_for

    factory = factory_for(table)
    check = getattr(factory, "sink_accepts_changelog", None)
    if callable(check):
        return bool(check(table))
    return factory.identifier in ("print", "blackhole", "filesystem")


def source_changelog_mode(table: Any) -> str:
    """What the table's streaming source produces: ``append`` (insert-only, the default),
    ``retract`` (+I/-U/+U/-D, e.g. a debezium-json topic) or ``upsert`` (+U/-D by primary key,
    e.g. upsert-kafka; the planner adds a ChangelogNormalize). Connectors declare it with a
    ``source_changelog_mode(table)`` method."""
    from connectors.registry import factory_for

    factory = factory_for(table)
    declare = getattr(factory, "source_changelog_mode", None)
    return str(declare(table)) if callable(declare) else "append"


def check_sink(table: Any, updating_operator: str | None) -> None:
    if table is None or updating_operator is None:
        return
    if table.primary_key is not None or sink_accepts_changelog(table):
        return
    raise PlanError(
        f"Table sink {table.name} only accepts appends (insert-only rows), but the query "
        f"produces updates (from {updating_operator})",
        hint="declare a PRIMARY KEY (...) NOT ENFORCED on an upsert sink, or use a window "
        "aggregation (TUMBLE/HOP/...) whose results are final",
    )


def check_sink_job(table: Any, config: Any) -> None:
    """A connector's own checks of its sink against the job's settings, at planning: the
    factory's ``check_sink_job(table, config)`` when it declares one (``config.get(key)``
    gives a session setting; kafka's exactly-once needs checkpointing, for example)."""
    if table is None:
        return
    from connectors.registry import factory_for

    check = getattr(factory_for(table), "check_sink_job", None)
    if callable(check):
        check(table, config)
