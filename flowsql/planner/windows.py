"""Windows in streaming plans: window TVFs → :class:`WindowSpec`, legacy group windows,
and watermark strategies.

Contract:
- :func:`window_spec` turns a parsed ``TABLE(TUMBLE|HOP|CUMULATE|SESSION(...))``
  (:class:`flowsql.sql.expressions.WindowTVF`) into a frozen
  :class:`~flowsql.operators.specs.WindowSpec`; interval arguments must be day-time interval
  literals (``INTERVAL '10' SECOND``), else ``ValidationError``.
- :func:`rewrite_legacy_windows` rewrites ``GROUP BY TUMBLE(ts, INTERVAL ...)`` /
  ``HOP`` / ``SESSION`` and the ``TUMBLE_START``/``_END``/``_ROWTIME`` helpers into the window
  TVF form, so both syntaxes plan through the same path. (The AST rewrite is shared with the
  batch engine: :mod:`flowsql.batch.legacy_windows`.) ``*_PROCTIME`` → NotSupportedError
  (``PROCTIME()`` is a processing-time attribute: :mod:`flowsql.planner.lookup_joins`).
- :func:`watermark_delay` reads a ``WATERMARK FOR c AS <strategy>`` expression: ``c`` (delay
  0) or ``c - INTERVAL 'n' UNIT`` (bounded out-of-orderness, delay in ms); any other strategy
  raises ``NotSupportedError`` naming it.
"""

from __future__ import annotations

from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.operators.specs import WindowSpec
from flowsql.sql.expressions import WindowTVF

WINDOW_COLUMNS = ("window_start", "window_end", "window_time")


def interval_ms(node: exp.Expression) -> int:
    """Milliseconds of a day-time interval literal."""
    from flowsql.batch.windows import interval_ms as _interval_ms

    return int(_interval_ms(node))


def window_spec(tvf: WindowTVF, time_column: str) -> WindowSpec:
    kind = tvf.kind
    intervals = list(tvf.args.get("intervals") or [])
    need = {"TUMBLE": 1, "HOP": 2, "CUMULATE": 2, "SESSION": 1}[kind]
    if len(intervals) != need:
        raise ValidationError(
            f"{kind} takes {need} interval argument(s), got {len(intervals)}",
            hint={
                "TUMBLE": "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)",
                "HOP": "HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
                "CUMULATE": "CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)",
                "SESSION": "SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' MINUTE)",
            }[kind],
        )
    ms = [interval_ms(i) for i in intervals]
    offset = tvf.args.get("offset")
    offset_ms = interval_ms(offset) if offset is not None else 0
    if kind == "TUMBLE":
        return WindowSpec(kind, time_column, size_ms=ms[0], offset_ms=offset_ms)
    if kind == "HOP":
        return WindowSpec(kind, time_column, slide_ms=ms[0], size_ms=ms[1], offset_ms=offset_ms)
    if kind == "CUMULATE":
        return WindowSpec(kind, time_column, step_ms=ms[0], size_ms=ms[1], offset_ms=offset_ms)
    return WindowSpec(kind, time_column, gap_ms=ms[0])


def rewrite_legacy_windows(tree: exp.Expression) -> exp.Expression:
    """Legacy ``GROUP BY TUMBLE(ts, ...)`` → window TVF (in place; returns ``tree``)."""
    from flowsql.batch.legacy_windows import rewrite_group_windows

    for node in tree.find_all(exp.Anonymous):
        name = node.name.upper()
        if name.endswith("_PROCTIME"):  # PROCTIME() itself: flowsql.planner.lookup_joins
            raise NotSupportedError(f"processing time ({name}())")
    return rewrite_group_windows(tree)


def watermark_delay(expression: exp.Expression, column: str) -> int:
    """Delay (ms) of a bounded out-of-orderness watermark strategy on ``column``."""

    def is_col(node: exp.Expression) -> bool:
        return isinstance(node, exp.Column) and node.name.lower() == column.lower() and not node.table

    if is_col(expression):
        return 0
    if isinstance(expression, exp.Sub) and is_col(expression.this) and isinstance(
        expression.expression, exp.Interval
    ):
        literal = expression.expression.this
        if literal is not None and str(literal.name).strip() in ("0", "0.0"):
            return 0
        delay = interval_ms(expression.expression)
        if delay < 0:
            raise ValidationError(f"the watermark delay must not be negative: {expression.sql()}")
        return delay
    raise NotSupportedError(
        f"watermark strategy '{expression.sql(dialect='flink')}'",
        hint=f"use WATERMARK FOR {column} AS {column} - INTERVAL 'n' SECOND",
    )
