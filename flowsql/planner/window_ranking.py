"""Window Top-N and window deduplication: a Top-N (:mod:`flowsql.planner.ranking`) whose
PARTITION BY holds ``window_start`` and ``window_end`` of a window TVF or of a window
aggregation becomes a :class:`WindowRank` — emitted once, append-only, when the watermark
closes the window (Flink's ``WindowRank`` / ``WindowDeduplicate``).

Contract:
- :func:`window_relation` plans ``TABLE(TUMBLE|HOP|CUMULATE(TABLE t, DESCRIPTOR(ts), …))``
  as a :class:`WindowTable` (the TVF's rows: the input columns plus ``window_start``,
  ``window_end`` and ``window_time``, one row per window containing it; operator
  ``window-assign``). SESSION windows are not supported here.
- :func:`window_end_column` traces the partition columns through plain Calc projections down
  to a WindowTable or WindowAggregate; when both window bounds are among them it returns the
  rank input's ``window_end`` column, and the planner builds a :class:`WindowRank` (operator
  ``window-rank``). Otherwise the Top-N stays a regular, updating Rank.
- Both nodes need an append-only input (NotSupportedError otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flowsql.errors import NotSupportedError
from flowsql.operators.specs import WindowSpec
from flowsql.planner.aggregates import col, sql
from flowsql.planner.appending import AppendingNode
from flowsql.planner.logical import Calc, Field, LogicalNode, WindowAggregate, _window_text
from flowsql.planner.ranking import Rank

if TYPE_CHECKING:
    from flowsql.planner.builder import PlanBuilder, Relation

BOUNDS = ("window_start", "window_end")


def _append_only(ins: list[str], what: str) -> str:
    if ins and ins[0] != "append":
        raise NotSupportedError(f"{what} over an updating input (e.g. over an unbounded GROUP BY)")
    return "append"


@dataclass(frozen=True, eq=False)
class WindowTable(AppendingNode):
    window: WindowSpec = field(default=None)  # type: ignore[assignment]

    def label(self) -> str:
        return f"WindowTableFunction(window=[{_window_text(self.window)}])"

    def changelog_mode(self, ins: list[str]) -> str:
        return _append_only(ins, "a window table function")

    def reads(self) -> set[str]:
        return {self.window.time_column}

    def translate(self, b: Any) -> Any:
        up = b.node(self.input)
        op = b.add("window-assign", "WindowTableFunction", {"window": self.window.to_dict()},
                   up.parallelism)
        b.connect(up, op)
        return op


@dataclass(frozen=True, eq=False)
class WindowRank(Rank):
    window_end: str = "window_end"
    updating = False

    def label(self) -> str:
        return "Window" + super().label()

    def changelog_mode(self, ins: list[str]) -> str:
        return _append_only(ins, "a window Top-N")

    def translate(self, b: Any) -> Any:
        from flowsql.planner.translate import _schema_json

        params = {"spec": self.spec.to_dict(), "input": _schema_json(self.input.schema),
                  "window_end": self.window_end}
        return self.operator(b, "window-rank", "WindowDeduplicate" if self.deduplicate else "WindowRank",
                             params, self.spec.partition_keys)


def window_relation(b: PlanBuilder, tvf: Any) -> Relation:
    """The window TVF ``tvf`` as a table (see the module contract)."""
    from flowsql.planner.builder import Relation

    rel = b._relation(tvf)
    spec = rel.window
    assert spec is not None
    if spec.proctime:  # as in Flink
        raise NotSupportedError("window Top-N / deduplication over processing-time windows",
                                hint="window on an event-time attribute (a column with a WATERMARK)")
    if spec.kind == "SESSION":
        raise NotSupportedError("window Top-N / deduplication over SESSION windows")
    schema = rel.node.schema + tuple(Field(c, "TIMESTAMP(3)") for c in
                                     ("window_start", "window_end", "window_time"))
    node = WindowTable(schema=schema, input=rel.node, window=spec)
    return Relation(node, rel.aliases, rel.time_attrs | {"window_time"}, late_sink=rel.late_sink)


def _origin(node: LogicalNode, name: str) -> str | None:
    """Which window bound column ``name`` is, traced through plain Calc projections."""
    while isinstance(node, Calc):
        text = dict(node.projections).get(name)
        names = [f.name for f in node.input.schema]
        match = [n for n in names if text == sql(col(n))]
        if not match:
            return None
        node, name = node.input, match[0]
    if isinstance(node, WindowTable) and name in BOUNDS:
        return name
    if isinstance(node, WindowAggregate) and name in BOUNDS and name in node.spec.window_columns:
        return name
    return None


def window_end_column(node: LogicalNode, keys: tuple[str, ...]) -> str | None:
    origins = {_origin(node, k): k for k in keys}
    if all(b in origins for b in BOUNDS):
        return origins["window_end"]
    return None
