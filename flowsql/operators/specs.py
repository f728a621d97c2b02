"""Frozen, JSON-serializable specs of aggregate calls and windows (shared with the planner).

Contract:
- The planner builds these specs; only the runtime turns them into live operators
  (``WindowAggregateOperator(spec)``, ``SessionWindowOperator(spec)``,
  ``GroupAggregateOperator(spec)``). Specs hold no state and no callables.
- Every spec round-trips through ``to_dict()`` / ``from_dict()`` (plain JSON types only).
- Column names refer to the operator's *input* batch: ``AggCall.input`` is the aggregated
  column (None for ``COUNT_STAR``), ``AggCall.filter`` a boolean column computed upstream for
  ``FILTER (WHERE ...)`` (NULL counts as false), ``AggCall.output`` the result column name.
- Window sizes are milliseconds; the time column is ``timestamp[ms]`` (or int64 epoch ms).
- Output schema of a window aggregate: key columns, then the window columns requested in
  ``WindowAggregateSpec.window_columns`` (a subset of window_start, window_end, window_time,
  in that order), then one column per AggCall. A group aggregate outputs key columns, the
  aggregate columns, then the ``$row_kind`` column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowsql.errors import PlanError

AGG_FUNCTIONS = (
    "COUNT",
    "COUNT_STAR",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "FIRST_VALUE",
    "LAST_VALUE",
    "PYTHON_UDAF",  # a Python aggregate function: ``udf`` = (SQL name, 'module.attr')
)
WINDOW_KINDS = ("TUMBLE", "HOP", "CUMULATE", "SESSION")
WINDOW_COLUMNS = ("window_start", "window_end", "window_time")


@dataclass(frozen=True)
class AggCall:
    """One aggregate call, e.g. ``COUNT(DISTINCT x) FILTER (WHERE f) AS c``."""

    function: str
    input: str | None
    output: str
    distinct: bool = False
    filter: str | None = None
    udf: tuple[str, str] | None = None  # PYTHON_UDAF: (SQL name, 'package.module.attr')
    extra_inputs: tuple[str, ...] = ()  # PYTHON_UDAF: the arguments after ``input``

    def __post_init__(self) -> None:
        fn = self.function.upper()
        object.__setattr__(self, "function", fn)
        if fn not in AGG_FUNCTIONS:
            raise PlanError(f"unknown aggregate function {self.function!r}")
        if fn == "COUNT_STAR":
            if self.input is not None:
                raise PlanError("COUNT_STAR takes no input column")
            if self.distinct:
                raise PlanError("COUNT(DISTINCT *) is not valid")
        elif self.input is None:
            raise PlanError(f"{fn} needs an input column")
        if (fn == "PYTHON_UDAF") != (self.udf is not None):
            raise PlanError("PYTHON_UDAF and only it names a Python function (udf)")
        object.__setattr__(self, "extra_inputs", tuple(self.extra_inputs))

    def to_dict(self) -> dict[str, Any]:
        d = {
            "function": self.function,
            "input": self.input,
            "output": self.output,
            "distinct": self.distinct,
            "filter": self.filter,
        }
        if self.udf is not None:
            d["udf"] = list(self.udf)
            d["extra_inputs"] = list(self.extra_inputs)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AggCall:
        udf = d.get("udf")
        return cls(d["function"], d.get("input"), d["output"], bool(d.get("distinct", False)),
                   d.get("filter"), tuple(udf) if udf else None,  # type: ignore[arg-type]
                   tuple(d.get("extra_inputs") or ()))


@dataclass(frozen=True)
class WindowSpec:
    """A window TVF: TUMBLE(size), HOP(slide, size), CUMULATE(step, size), SESSION(gap).
    ``proctime``: the time column is a processing-time attribute (``PROCTIME()``): rows are
    windowed by the time the window operator sees them (:mod:`flowsql.operators.proctime_window`)."""

    kind: str
    time_column: str
    size_ms: int | None = None
    slide_ms: int | None = None
    step_ms: int | None = None
    gap_ms: int | None = None
    offset_ms: int = 0
    proctime: bool = False

    def __post_init__(self) -> None:
        kind = self.kind.upper()
        object.__setattr__(self, "kind", kind)
        if kind not in WINDOW_KINDS:
            raise PlanError(f"unknown window kind {self.kind!r}")
        need = {"TUMBLE": ("size_ms",), "HOP": ("size_ms", "slide_ms"),
                "CUMULATE": ("size_ms", "step_ms"), "SESSION": ("gap_ms",)}[kind]
        for name in need:
            value = getattr(self, name)
            if value is None or int(value) <= 0:
                raise PlanError(f"{kind} window needs a positive {name[:-3]} (got {value!r})")
        if kind == "CUMULATE" and self.size_ms % self.step_ms != 0:
            raise PlanError("CUMULATE window: the max size must be a multiple of the step")

    def to_dict(self) -> dict[str, Any]:
        d = {
            "kind": self.kind,
            "time_column": self.time_column,
            "size_ms": self.size_ms,
            "slide_ms": self.slide_ms,
            "step_ms": self.step_ms,
            "gap_ms": self.gap_ms,
            "offset_ms": self.offset_ms,
        }
        if self.proctime:  # only then: event-time plans keep their text
            d["proctime"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowSpec:
        return cls(d["kind"], d["time_column"], d.get("size_ms"), d.get("slide_ms"),
                   d.get("step_ms"), d.get("gap_ms"), int(d.get("offset_ms", 0)),
                   bool(d.get("proctime", False)))


@dataclass(frozen=True)
class WindowAggregateSpec:
    """A windowed GROUP BY: keys + window → one row per (key, window) when the window fires."""

    window: WindowSpec
    keys: tuple[str, ...] = ()
    aggs: tuple[AggCall, ...] = ()
    window_columns: tuple[str, ...] = ("window_start", "window_end")

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "aggs", tuple(self.aggs))
        cols = tuple(c for c in WINDOW_COLUMNS if c in self.window_columns)
        unknown = set(self.window_columns) - set(WINDOW_COLUMNS)
        if unknown:
            raise PlanError(f"unknown window column(s) {sorted(unknown)}")
        object.__setattr__(self, "window_columns", cols)
        _check_names(self.keys, self.aggs, cols)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window.to_dict(),
            "keys": list(self.keys),
            "aggs": [a.to_dict() for a in self.aggs],
            "window_columns": list(self.window_columns),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowAggregateSpec:
        return cls(WindowSpec.from_dict(d["window"]), tuple(d.get("keys", ())),
                   tuple(AggCall.from_dict(a) for a in d.get("aggs", ())),
                   tuple(d.get("window_columns", ("window_start", "window_end"))))


@dataclass(frozen=True)
class GroupAggregateSpec:
    """An unbounded GROUP BY emitting a changelog (HAVING is a runtime hook, not in the spec)."""

    keys: tuple[str, ...] = ()
    aggs: tuple[AggCall, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(self.keys))
        object.__setattr__(self, "aggs", tuple(self.aggs))
        _check_names(self.keys, self.aggs, ())

    def to_dict(self) -> dict[str, Any]:
        return {"keys": list(self.keys), "aggs": [a.to_dict() for a in self.aggs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GroupAggregateSpec:
        return cls(tuple(d.get("keys", ())), tuple(AggCall.from_dict(a) for a in d.get("aggs", ())))


def _check_names(keys: tuple[str, ...], aggs: tuple[AggCall, ...], extra: tuple[str, ...]) -> None:
    names = list(keys) + list(extra) + [a.output for a in aggs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PlanError(f"duplicate output column name(s): {', '.join(dupes)}")
    bad = [n for n in names if n.startswith("$")]
    if bad:
        raise PlanError(f"output column names may not start with '$': {', '.join(bad)}")
