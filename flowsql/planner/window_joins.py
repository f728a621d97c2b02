"""Planning window table functions without aggregation, and window joins.

Contract:
- :func:`window_table` turns a relation with a pending window TVF (``TABLE(TUMBLE|HOP|
  CUMULATE(...))`` not followed by a windowed GROUP BY) into a :class:`WindowTable` node:
  the input's columns plus ``window_start``, ``window_end`` and ``window_time``
  (TIMESTAMP(3)), one row per window a row is in. As in Flink, ``window_time`` is the
  relation's event-time attribute afterwards and the original time column is a plain
  timestamp. ``Relation.window_of`` records which columns are a window's start and end
  (the builder carries it through projections and renames; a window aggregate's output
  carries them too: :mod:`flowsql.planner.cascaded_windows`). SESSION without aggregation
  is a NotSupportedError.
- :func:`window_join_keys` finds a window join: a join whose inputs both carry window
  columns (window TVFs, window aggregates, cascaded ones: Nexmark q5) and whose condition equates ``window_start`` with ``window_start`` and
  ``window_end`` with ``window_end``. The windows must be the same (kind, size, slide or
  step, offset), else ValidationError. The other equalities are the join keys (none: the
  join runs on one subtask). The result is a :class:`WindowJoin` (INNER / LEFT / RIGHT /
  FULL): append-only output, emitted when the watermark closes the window (Flink's
  semantics); inputs must be append-only (:mod:`flowsql.planner.changelog`). Only one of
  the two equalities makes a regular join, as in Flink.

Plan text (EXPLAIN)::

    WindowJoin(joinType=[FullOuterJoin], window=[TUMBLE(ts, size=2000 ms)], where=[(k = k0)
      AND (window_start = window_start0) AND (window_end = window_end0)], select=[...])
    :- WindowTableFunction(window=[TUMBLE(ts, size=2000 ms)])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.operators.specs import WindowSpec
from flowsql.planner.logical import JOIN_NAMES, Field, Join, LogicalNode, _q, _window_text, names

if TYPE_CHECKING:
    from flowsql.planner.builder import Relation

START, END, TIME = "window_start", "window_end", "window_time"


@dataclass(frozen=True, eq=False)
class WindowTable(LogicalNode):
    """Window assignment without aggregation (Flink's ``WindowTableFunction``)."""

    input: LogicalNode = field(default=None)  # type: ignore[assignment]
    window: WindowSpec = field(default=None)  # type: ignore[assignment]

    @property
    def inputs(self) -> tuple[LogicalNode, ...]:
        return (self.input,)

    def label(self) -> str:
        return f"WindowTableFunction(window=[{_window_text(self.window)}])"

    def operator_params(self) -> tuple[str, str, dict[str, Any]]:
        """(operator kind, display name, params) for the JobGraph."""
        return "window-table", "WindowTableFunction", {"window": self.window.to_dict()}


@dataclass(frozen=True, eq=False)
class WindowJoin(Join):
    """A :class:`Join` of two windowed inputs on equal windows; ``left_window`` /
    ``right_window`` are the (start, end) input columns, ``left_keys`` / ``right_keys`` the
    other equalities."""

    append_only: ClassVar[bool] = True
    window: WindowSpec = field(default=None)  # type: ignore[assignment]
    left_window: tuple[str, str] = ("", "")
    right_window: tuple[str, str] = ("", "")

    def label(self) -> str:
        right = dict(zip(names(self.right.schema), self.right_names, strict=True))
        pairs = [*zip(self.left_keys, self.right_keys, strict=True),
                 *zip(self.left_window, self.right_window, strict=True)]
        where = " AND ".join(f"({_q(lk)} = {_q(right[rk])})" for lk, rk in pairs)
        if self.residual:
            where = f"{where} AND ({self.residual})"
        return (f"WindowJoin(joinType=[{JOIN_NAMES[self.join_type]}], "
                f"window=[{_window_text(self.window)}], where=[{where}], "
                f"select=[{', '.join(names(self.schema))}])")

    def physical(self) -> tuple[str, str, dict[str, Any]]:
        return "window-join", "WindowJoin", {"left_window": list(self.left_window),
                                             "right_window": list(self.right_window)}


def window_table(rel: Relation) -> None:
    """Materialize ``rel``'s pending window TVF as a :class:`WindowTable` (in place)."""
    window = rel.window
    assert window is not None
    if window.proctime:  # Flink: "Processing time Window TableFunction is not supported yet."
        raise NotSupportedError(
            "a processing-time window TVF without GROUP BY window_start, window_end (window "
            "table function, window join)",
            hint="aggregate the windows (... GROUP BY window_start, window_end), or window on an "
            "event-time attribute (a column with a WATERMARK)")
    if window.kind == "SESSION":
        raise NotSupportedError(
            "a SESSION window TVF without GROUP BY window_start, window_end",
            hint="aggregate the session windows: ... GROUP BY window_start, window_end")
    taken = [n for n in (START, END, TIME) if n in names(rel.node.schema)]
    if taken:
        raise ValidationError(f"the windowed table already has a column '{taken[0]}'")
    schema = tuple(rel.node.schema) + tuple(Field(n, "TIMESTAMP(3)") for n in (START, END, TIME))
    rel.node = WindowTable(schema=schema, input=rel.node, window=window)
    rel.window = None
    rel.window_of = {START: (window, START), END: (window, END)}
    rel.time_attrs = {TIME}


def _same_window(a: WindowSpec, b: WindowSpec) -> bool:
    return replace(a, time_column="") == replace(b, time_column="")


def window_join_keys(
    pairs: list[tuple[exp.Expression, exp.Expression]],
    left_of: dict[str, tuple[WindowSpec, str]],
    right_of: dict[str, tuple[WindowSpec, str]],
    position: str,
) -> tuple[dict[str, tuple[str, str]], WindowSpec] | None:
    """The window equalities among the join's key ``pairs`` (left expr, right expr; right
    columns under output names): ``({"window_start": (left col, right col), "window_end":
    (...)}, window)`` when both are there, else None."""
    found: dict[str, tuple[str, str]] = {}
    specs: dict[str, tuple[WindowSpec, WindowSpec]] = {}
    for le, re_ in pairs:
        if not (isinstance(le, exp.Column) and isinstance(re_, exp.Column)):
            continue
        lw, rw = left_of.get(le.name), right_of.get(re_.name)
        if lw is None or rw is None or lw[1] != rw[1] or lw[1] in found:
            continue
        found[lw[1]] = (le.name, re_.name)
        specs[lw[1]] = (lw[0], rw[0])
    if set(found) != {START, END}:
        return None
    a, b = specs[START]
    if not _same_window(a, b) or not _same_window(*specs[END]) or not _same_window(a, specs[END][0]):
        raise ValidationError(
            f"a window join needs the same window on both inputs; they have "
            f"{_window_text(a)} and {_window_text(b)}{position}",
            hint="use the same TUMBLE / HOP / CUMULATE sizes (and offset) on both sides")
    return found, a
