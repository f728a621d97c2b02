"""Window properties of window-aggregate outputs, and cascaded window aggregation.

Flink keeps knowing which columns of a window aggregation's output are its window's start
and end after projections and renames (``window_start AS starttime``). A GROUP BY over such
an output that groups by both of them (plus other keys, or none) aggregates the *same*
windows again: Flink plans it as a window aggregate too (its window-attached strategy,
``HOP(win_start=[starttime], win_end=[endtime], ...)`` in its EXPLAIN), append-only and
emitted per window, instead of an updating GROUP BY that keeps state forever. A join of two
such outputs on both columns is then a window join (:mod:`flowsql.planner.window_joins`).

Contract:
- :func:`window_properties` is the ``Relation.window_of`` of a window aggregate's output:
  ``window_start`` / ``window_end`` (when the aggregate outputs them) map to (window,
  bound), for TUMBLE / HOP / CUMULATE on event time. SESSION windows (their bounds depend
  on the key) and processing-time windows carry none. The builder carries ``window_of``
  through projections, renames and filters.
- :func:`find_cascade` recognizes a GROUP BY whose keys include plain columns S and E that
  are the start and end of one window (``window_of``), over an append-only input; other
  expressions of S or E (``window_start + INTERVAL ...``), only one of the two, or an input
  that lost the properties (a regular join, a GROUP BY, a UNION) → None: an ordinary GROUP
  BY, as in Flink.
- :meth:`Cascade.prepare` rewrites the aggregation to run on the window aggregate
  operator. Each TUMBLE / HOP / CUMULATE window is the only one of its kind ending at its
  end, so the windows of the input rows are those of a TUMBLE whose size is the grid period
  of the window ends (TUMBLE: size; HOP: slide; CUMULATE: step; offset on the same grid)
  over the time column ``cw$time`` = E - 1 ms (Flink's window_time): a row falls in
  the tumbling window ending at its own E. E becomes the aggregate's ``window_end``; S is a
  grouping key ``cw$window_start`` (a function of E, so it splits no group). Other input
  columns named like window columns are renamed ``cw$<name>`` so they stay plain columns.
  The output's ``window_of`` names the original window, so the result can cascade again
  or be window-joined with the first aggregation's output.

Rows reach a cascaded aggregate before the watermark that closes their window (the
upstream window aggregate emits a window, then forwards the watermark that fired it), so
none is late. EXPLAIN shows the window it runs and the one it cascades::

    WindowAggregate(window=[TUMBLE(cw$time, size=2000 ms)], cascaded=[HOP(ts,
      slide=2000 ms, size=10000 ms)], keys=[cw$window_start], aggs=[MAX(num)],
      window_columns=[window_end])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from flowsql.operators.specs import WindowSpec
from flowsql.planner.logical import Calc, Field, LogicalNode, names
from flowsql.planner.windows import WINDOW_COLUMNS

if TYPE_CHECKING:
    from flowsql.planner.builder import Relation

START, END = "window_start", "window_end"
PREFIX = "cw$"  # not "$...": aggregation outputs may not start with "$"
START_KEY = PREFIX + "window_start"
TIME_COLUMN = PREFIX + "time"


def window_properties(window: WindowSpec, columns: tuple[str, ...] | list[str]
                      ) -> dict[str, tuple[WindowSpec, str]]:
    """``window_of`` of a window aggregate's output with window columns ``columns``."""
    if window.kind == "SESSION" or window.proctime:
        return {}
    return {c: (window, c) for c in columns if c in (START, END)}


def _grid(window: WindowSpec) -> tuple[int, int]:
    """(period, phase): window ends lie on ``phase + k * period``."""
    if window.kind == "TUMBLE":
        period, first = window.size_ms, window.offset_ms
    elif window.kind == "HOP":
        period, first = window.slide_ms, window.offset_ms + window.size_ms
    else:  # CUMULATE
        period, first = window.step_ms, window.offset_ms
    return int(period), int(first) % int(period)


@dataclass(frozen=True)
class Cascade:
    """A GROUP BY over window columns ``start`` / ``end`` of ``window`` (input names)."""

    window: WindowSpec
    start: str
    end: str

    @property
    def tumble(self) -> WindowSpec:
        """The window the operator runs: one tumbling window per input window end."""
        period, phase = _grid(self.window)
        return WindowSpec("TUMBLE", TIME_COLUMN, size_ms=period, offset_ms=phase)

    def renames(self, columns: list[str]) -> dict[str, str]:
        out = {self.start: START_KEY, self.end: END}
        for c in columns:
            if c not in out and (c in WINDOW_COLUMNS or c in (START_KEY, TIME_COLUMN)):
                out[c] = PREFIX + c
        return out

    def prepare(self, node: LogicalNode, exprs: list[exp.Expression]) -> LogicalNode:
        """Rename the input's columns for the window aggregate (references in ``exprs``
        rewritten in place) and add ``cw$time``; returns the new input node."""
        from flowsql.planner.aggregates import col

        renames = self.renames(names(node.schema))
        for e in exprs:
            for c in list(e.find_all(exp.Column)):
                if not c.table and c.name in renames:
                    c.set("this", col(renames[c.name]).this)
        fields = [Field(renames.get(f.name, f.name), f.type) for f in node.schema]
        projections = [(renames.get(f.name, f.name), col(f.name).sql(dialect="flink"))
                       for f in node.schema]
        end_type = next(f.type for f in node.schema if f.name == self.end)
        fields.append(Field(TIME_COLUMN, end_type))
        projections.append(
            (TIME_COLUMN, f"{col(self.end).sql(dialect='flink')} - INTERVAL '0.001' SECOND"))
        return Calc(schema=tuple(fields), input=node, projections=tuple(projections))

    def output_properties(self) -> dict[str, tuple[WindowSpec, str]]:
        """``window_of`` of the cascaded aggregate's output (before its projection)."""
        return {START_KEY: (self.window, START), END: (self.window, END)}


def find_cascade(rel: Relation, group: list[exp.Expression]) -> Cascade | None:
    """The cascade a GROUP BY over ``rel`` is, or None (see the module contract)."""
    from flowsql.planner.changelog import is_updating

    if rel.window is not None or not rel.window_of:
        return None
    bounds: dict[str, tuple[WindowSpec, str]] = {}
    for g in group:
        if isinstance(g, exp.Column) and not g.table and g.name in rel.window_of:
            window, bound = rel.window_of[g.name]
            bounds.setdefault(bound, (window, g.name))
    if set(bounds) != {START, END}:
        return None
    (w_start, start), (w_end, end) = bounds[START], bounds[END]
    if w_start != w_end or is_updating(rel.node):
        return None
    return Cascade(w_start, start, end)
