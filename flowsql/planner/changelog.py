"""Changelog mode inference: what kind of stream each operator of a plan produces.

Contract (Flink's ``ChangelogMode``):
- ``append`` — insert-only rows (+I): scans of append-only sources, calcs over append input,
  window aggregates (a window's result is final when it fires), interval and window joins of
  every type and window table functions (they read append-only inputs only), event-time
  temporal joins (an append-only probe side; the versioned side may be updating).
- ``retract`` — +I, -U, +U, -D: an unbounded GROUP BY (and SELECT DISTINCT / UNION), an
  outer join, a join over an updating input, and everything downstream of them (a Calc
  passes the ``$row_kind`` column through); a scan of a changelog source (a connector whose
  ``source_changelog_mode`` is ``retract``, or ``upsert`` normalized by a ChangelogNormalize
  right after the source, see :func:`flowsql.planner.validate.source_changelog_mode`).
- ``upsert`` — +I, +U, -D keyed by a primary key: what an upsert sink (PRIMARY KEY) consumes
  from a retract stream.
:func:`infer` maps every node (by identity) to its mode; :func:`first_updating` names the
node that introduces updates (for error messages). A window aggregate over an updating
input, and MIN/MAX/FIRST_VALUE/LAST_VALUE over one, are rejected with NotSupportedError.
"""

from __future__ import annotations

from flowsql.errors import NotSupportedError
from flowsql.planner.logical import (
    Calc,
    GroupAggregate,
    Join,
    LogicalNode,
    Scan,
    Sink,
    Union,
    WindowAggregate,
)
from flowsql.planner.validate import source_changelog_mode
from flowsql.planner.window_joins import WindowTable

APPEND, RETRACT, UPSERT = "append", "retract", "upsert"
MODE_TEXT = {APPEND: "[I]", RETRACT: "[I,UB,UA,D]", UPSERT: "[I,UA,D]"}


def infer(plan: LogicalNode) -> dict[int, str]:
    modes: dict[int, str] = {}

    def mode(n: LogicalNode) -> str:
        if id(n) in modes:
            return modes[id(n)]
        ins = [mode(i) for i in n.inputs]
        if isinstance(n, Scan):
            m = APPEND if source_changelog_mode(n.table) == APPEND else RETRACT
        elif isinstance(n, GroupAggregate):
            if ins[0] != APPEND:
                _check_retractable(n)
            m = RETRACT
        elif isinstance(n, WindowAggregate):
            if ins[0] != APPEND:
                raise NotSupportedError(
                    "a window aggregation over an updating input (e.g. over an unbounded "
                    "GROUP BY)"
                )
            m = APPEND
        elif isinstance(n, Join) and hasattr(n, "changelog_mode"):  # temporal joins
            m = n.changelog_mode(ins)
        elif isinstance(n, Join) and n.append_only:  # interval and window joins
            if RETRACT in ins:
                raise NotSupportedError(
                    f"an {'interval' if 'Interval' in type(n).__name__ else 'window'} join over "
                    "an updating input (e.g. over an unbounded GROUP BY)",
                    hint="these joins read append-only inputs; a regular join (without the "
                    "time bounds or windows) reads updating ones")
            m = APPEND  # outer rows are emitted once, when their bound or window has passed
        elif isinstance(n, WindowTable):
            if RETRACT in ins:
                raise NotSupportedError("a window TVF over an updating input (e.g. over an "
                                        "unbounded GROUP BY)")
            m = APPEND
        elif isinstance(n, Join):
            # an outer join retracts its NULL-padded rows even over append-only inputs
            # (a semi join of append-only inputs only ever adds rows)
            m = RETRACT if RETRACT in ins or n.join_type not in ("INNER", "SEMI") else APPEND
        elif isinstance(n, Calc | Union):
            m = RETRACT if RETRACT in ins else APPEND
        elif isinstance(n, Sink):
            m = ins[0]
            if m == RETRACT and n.table is not None and n.table.primary_key is not None:
                m = UPSERT
        elif hasattr(n, "changelog_mode"):  # nodes of their own modules (ranking)
            m = n.changelog_mode(ins)
        else:
            m = ins[0] if ins else APPEND
        modes[id(n)] = m
        return m

    mode(plan)
    return modes


_NOT_RETRACTABLE = ("MIN", "MAX", "FIRST_VALUE", "LAST_VALUE")


def _check_retractable(n: GroupAggregate) -> None:
    """An aggregate over an updating input must be able to take rows back: decided here, at
    planning, not when the first retraction happens to arrive."""
    bad = [a for a in n.spec.aggs if a.function in _NOT_RETRACTABLE]
    if bad:
        raise NotSupportedError(
            f"{bad[0].function} over an updating input (aggregating the result of an "
            "unbounded GROUP BY)",
            hint="COUNT, SUM and AVG can be computed over updating input",
        )


def first_updating(plan: LogicalNode) -> str | None:
    """Label of the deepest node that turns an append stream into updates, if any."""
    found: list[str] = []

    def walk(n: LogicalNode) -> None:
        for i in n.inputs:
            walk(i)
        if isinstance(n, Scan) and not found and source_changelog_mode(n.table) != APPEND:
            found.append(n.label())
        if not found and (isinstance(n, GroupAggregate) or getattr(n, "updating", False) or (
                isinstance(n, Join) and n.join_type not in ("INNER", "SEMI") and not n.append_only)):
            found.append(n.label())

    walk(plan)
    return found[0] if found else None


def is_updating(plan: LogicalNode) -> bool:
    return infer(plan)[id(plan)] != APPEND
