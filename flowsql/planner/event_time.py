"""Whether a plan uses event time at all: if not, its sources skip watermark generation.

Contract: :func:`needs_event_time` is False only when every node of the plan is one whose
result does not depend on watermarks — scans (without a late-row side table), VALUES,
projections and filters, unbounded GROUP BY aggregates, regular joins, UNION ALL, and sinks
other than a filesystem sink committing partitions on ``partition-time`` — and True for
anything else (windows, interval and
temporal joins, OVER, Top-N and deduplication, window table functions, lookup joins,
correlates: a node this module does not know counts as using event time).

Why: a source evaluates its watermark expression on every batch and reads the columns that
expression needs. For ``SELECT auction, COUNT(*) … GROUP BY auction`` over a table whose
watermark is on a computed ``date_time`` from ``seq``, that is one more Parquet column
decoded and a cast per row for watermarks nothing consumes (yardstick (c) of
``bench/flink_compare.py``: ~40 % of the source's read). Results are unchanged: none of the
nodes above reads watermarks (a GROUP BY never drops late rows). What changes is
observability: such a job's operators report no watermark.
"""

from __future__ import annotations

from flowsql.planner.logical import (
    Calc,
    GroupAggregate,
    Join,
    LogicalNode,
    Scan,
    Sink,
    Union,
    Values,
    walk_nodes,
)


def needs_event_time(roots: list[LogicalNode]) -> bool:
    """True unless no node of the plans under ``roots`` uses watermarks (module contract)."""
    return any(_uses_event_time(n) for root in roots for n in walk_nodes(root))


def _uses_event_time(n: LogicalNode) -> bool:
    if isinstance(n, Scan):
        return n.late_sink is not None
    if isinstance(n, Sink):
        options = n.table.options if n.table is not None else {}
        return options.get("sink.partition-commit.trigger") == "partition-time"
    return type(n) not in (Values, Calc, GroupAggregate, Join, Union)
