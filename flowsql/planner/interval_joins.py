"""Planning interval joins: a join whose condition bounds one input's event time by the
other's, e.g. ``ON o.id = s.order_id AND s.ts BETWEEN o.ts AND o.ts + INTERVAL '4' HOUR``.

Contract:
- :func:`interval_bounds` reads the non-equi conjuncts of a join condition (already resolved
  to the join's output names, see :mod:`flowsql.planner.joins`). A conjunct compares an
  event-time attribute of the left input with one of the right input, each optionally plus
  or minus a day-time interval literal: ``l BETWEEN r + a AND r + b``, ``l >= r - a``,
  ``l > r``, ``r + a < l`` … (``>``/``<`` are ``>= +1 ms``/``<= -1 ms``: time attributes
  have millisecond precision). Conjuncts over the first such pair of columns are folded into
  ``r + lower_ms <= l <= r + upper_ms``. Both bounds → an :class:`IntervalJoin` (Flink's
  rule). Only one bound is a regular join when the condition has an equality (Flink plans it
  so); without an equality it is a ValidationError saying which bound is missing.
- The conjuncts stay in the join's residual, which the operator evaluates on every
  candidate pair, so a match is exactly the SQL condition; the bounds drive state probing
  and eviction.
- Inputs must be append-only (checked in :mod:`flowsql.planner.changelog`): an interval
  join over an updating input is a NotSupportedError, as in Flink. The output is append-only
  for every join type (an outer row is emitted once its bound has passed the watermark) and
  both time columns stay event-time attributes; the operator holds the watermark back by
  ``max(upper_ms, -lower_ms)``.
- Without an equality the join runs on one subtask (all rows share one key), as Flink runs
  a join without keys.

Plan text (EXPLAIN)::

    IntervalJoin(joinType=[LeftOuterJoin], windowBounds=[isRowTime=true, leftLowerBound=-5000,
      leftUpperBound=10000, leftTimeIndex=[ts], rightTimeIndex=[ts]], where=[...], select=[...])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlglot import exp

from flowsql.errors import ValidationError
from flowsql.planner.logical import JOIN_NAMES, Join, _q, names

_FLIP = {exp.GTE: exp.LTE, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.LT: exp.GT}
_EXAMPLE = "a.ts BETWEEN b.ts - INTERVAL '10' SECOND AND b.ts + INTERVAL '10' SECOND"


@dataclass(frozen=True, eq=False)
class IntervalJoin(Join):
    """A :class:`Join` with time bounds: ``right_time + lower_ms <= left_time <= right_time +
    upper_ms`` (input column names); the residual holds the whole non-equi condition."""

    append_only: ClassVar[bool] = True
    left_time: str = ""
    right_time: str = ""
    lower_ms: int = 0
    upper_ms: int = 0

    def label(self) -> str:
        right = dict(zip(names(self.right.schema), self.right_names, strict=True))
        where = " AND ".join(f"{_q(lk)} = {_q(right[rk])}"
                             for lk, rk in zip(self.left_keys, self.right_keys, strict=True))
        if self.residual:
            where = f"({where}) AND ({self.residual})" if where else self.residual
        bounds = (f"isRowTime=true, leftLowerBound={self.lower_ms}, leftUpperBound={self.upper_ms}, "
                  f"leftTimeIndex=[{self.left_time}], rightTimeIndex=[{self.right_time}]")
        return (f"IntervalJoin(joinType=[{JOIN_NAMES[self.join_type]}], windowBounds=[{bounds}], "
                f"where=[{where}], select=[{', '.join(f.name for f in self.schema)}])")

    def physical(self) -> tuple[str, str, dict[str, Any]]:
        """(operator kind, display name, extra params) for the JobGraph."""
        return "interval-join", "IntervalJoin", {
            "left_time": self.left_time, "right_time": self.right_time,
            "lower_ms": self.lower_ms, "upper_ms": self.upper_ms}


@dataclass
class Bounds:
    left_time: str  # output names
    right_time: str
    lower_ms: int | None = None
    upper_ms: int | None = None


def _term(e: exp.Expression) -> tuple[str, int] | None:
    """``column [± INTERVAL ...]`` → (column, offset ms)."""
    from flowsql.planner.windows import interval_ms

    while isinstance(e, exp.Paren):
        e = e.this
    if isinstance(e, exp.Column) and not e.table:
        return e.name, 0
    if isinstance(e, exp.Add | exp.Sub):
        a, b = e.this, e.expression
        if isinstance(a, exp.Interval) and isinstance(e, exp.Add):
            a, b = b, a
        inner = _term(a)
        if inner is None or not isinstance(b, exp.Interval):
            return None
        try:
            ms = interval_ms(b)
        except Exception:  # noqa: BLE001 - not a day-time interval literal: not a bound
            return None
        return inner[0], inner[1] + (ms if isinstance(e, exp.Add) else -ms)
    return None


def _comparisons(c: exp.Expression) -> list[tuple[type, exp.Expression, exp.Expression]]:
    if isinstance(c, exp.Between):
        return [(exp.GTE, c.this, c.args["low"]), (exp.LTE, c.this, c.args["high"])]
    if type(c) in _FLIP:
        return [(type(c), c.this, c.expression)]
    return []


def interval_bounds(residual: list[exp.Expression], left_times: set[str], right_times: set[str],
                    has_equality: bool, cond: exp.Expression, position: str) -> Bounds | None:
    """The time bounds of a join condition (see the module contract), or None."""
    found: Bounds | None = None
    for c in residual:
        for op, a, b in _comparisons(c):
            ta, tb = _term(a), _term(b)
            if ta is None or tb is None:
                continue
            if ta[0] in left_times and tb[0] in right_times:
                pair, d = (ta[0], tb[0]), tb[1] - ta[1]  # l op r + d
            elif ta[0] in right_times and tb[0] in left_times:
                pair, d, op = (tb[0], ta[0]), ta[1] - tb[1], _FLIP[op]
            else:
                continue
            if found is None:
                found = Bounds(*pair)
            if pair != (found.left_time, found.right_time):
                continue
            if op in (exp.GTE, exp.GT):
                d += op is exp.GT
                found.lower_ms = d if found.lower_ms is None else max(found.lower_ms, d)
            else:
                d -= op is exp.LT
                found.upper_ms = d if found.upper_ms is None else min(found.upper_ms, d)
    if found is None or (found.lower_ms is not None and found.upper_ms is not None):
        return found
    if has_equality:
        return None  # a regular join with a time condition, as Flink plans it
    missing = "upper" if found.upper_ms is None else "lower"
    from flowsql.planner.aggregates import sql

    raise ValidationError(
        f"an interval join needs a lower and an upper bound between the inputs' time "
        f"attributes; '{sql(cond)}' has no {missing} bound{position}",
        hint=f"bound both sides, e.g. ON {_EXAMPLE} (or join on an equality of the inputs' "
        "columns for a regular join)")
