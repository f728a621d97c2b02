"""Window table-valued functions → plain DuckDB subqueries.

Contract: :func:`window_subquery` turns a :class:`flowsql.sql.expressions.WindowTVF` whose
input is already a DuckDB relation (a CTE reference or a subquery) into a subquery that
yields every input column plus ``window_start``, ``window_end`` and
``window_time = window_end - 1 ms``, like Flink. Rows whose time column is NULL are dropped
(Flink rejects them). ``floor(ts, size)`` below is epoch-aligned bucketing,
``floor((ts - offset) / size) * size + offset`` on the epoch time line, computed by DuckDB's
native ``time_bucket(size, ts, origin = epoch + offset)`` (the same arithmetic, ~35% faster
than spelling it out with ``epoch_ms`` and ``%`` in SQL):

- TUMBLE(size[, offset]): ``start = floor(ts, size)``;
- HOP(slide, size): the ``k = ceil(size / slide)`` candidate starts
  ``floor(ts, slide) - i * slide`` (``i`` from ``range(k)``), kept when ``ts < start + size``;
- CUMULATE(step, max): ``start = floor(ts, max)``, one row per ``end = start + j * step``
  (``j = 1 .. max / step``) with ``end > ts``;
- SESSION(gap) [PARTITION BY keys]: per partition, ordered by time, a row opens a new session
  when it is more than ``gap`` after the previous row (Flink merges windows that touch); the
  session id is a running sum of those openings; ``start = min(ts)``, ``end = max(ts) + gap``
  over the session.

Generated SQL is written as DuckDB text and parsed with sqlglot's duckdb dialect, so it is
not passed through the Flink function mapping.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from flowsql.errors import NotSupportedError, ValidationError
from flowsql.sql.expressions import WindowTVF
from flowsql.sql.positions import node_position

_UNIT_MS = {
    "MILLISECOND": 1, "SECOND": 1000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000,
}
_SRC = "__flowsql_window_src"


def interval_ms(node: exp.Expression) -> int:
    """Milliseconds of a day-time interval literal (``INTERVAL '10' SECOND`` ...)."""
    if not isinstance(node, exp.Interval):
        raise ValidationError(f"expected an INTERVAL literal, got {node.sql()}")
    value = node.this.name if node.this is not None else ""
    unit = node.args.get("unit")
    unit_text = unit.sql().upper() if unit is not None else ""
    if not unit_text:
        parts = value.split()
        if len(parts) != 2:
            raise ValidationError(f"cannot read interval {node.sql()}")
        value, unit_text = parts
    unit_text = re.sub(r"\(\d+\)", "", unit_text).strip()
    if " TO " in unit_text:
        raise NotSupportedError(f"interval '{value}' {unit_text} in a window")
    unit_text = unit_text.rstrip("S") if unit_text.endswith("S") else unit_text
    if unit_text not in _UNIT_MS:
        raise NotSupportedError(f"window interval unit {unit_text}")
    try:
        amount = float(value)
    except ValueError as e:
        raise ValidationError(f"cannot read interval {node.sql()}") from e
    ms = int(round(amount * _UNIT_MS[unit_text]))
    if ms <= 0:
        raise ValidationError(f"window interval must be positive, got {node.sql()}")
    return ms


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ms(n: int) -> str:
    return f"INTERVAL {n} MILLISECOND"


def _bucket(ts: str, size: int, offset: int) -> str:
    """``floor((ts - origin) / size) * size + origin`` with origin = epoch + offset (DuckDB native)."""
    origin = "TIMESTAMP '1970-01-01'" + (f" + {_ms(offset)}" if offset else "")
    return f"time_bucket({_ms(size)}, CAST({ts} AS TIMESTAMP), {origin})"


def _tumble(ts: str, sizes: list[int], offset: int) -> str:
    (size,) = sizes
    start = _bucket(ts, size, offset)
    return (
        f"SELECT *, {start} AS window_start, {start} + {_ms(size)} AS window_end, "
        f"{start} + {_ms(size - 1)} AS window_time FROM {_SRC} WHERE {ts} IS NOT NULL"
    )


def _hop(ts: str, sizes: list[int], offset: int) -> str:
    slide, size = sizes
    k = math.ceil(size / slide)
    return (
        f"SELECT * EXCLUDE (__i), window_start + {_ms(size)} AS window_end, "
        f"window_start + {_ms(size - 1)} AS window_time FROM ("
        f"SELECT *, {_bucket(ts, slide, offset)} - to_milliseconds(__i * {slide}) AS window_start "
        f"FROM {_SRC} CROSS JOIN range({k}) AS __k(__i) WHERE {ts} IS NOT NULL) "
        f"WHERE window_start + {_ms(size)} > {ts}"
    )


def _cumulate(ts: str, sizes: list[int], offset: int) -> str:
    step, max_size = sizes
    if max_size % step:
        raise ValidationError(
            f"CUMULATE max size ({max_size} ms) must be an integral multiple of step ({step} ms)"
        )
    n = max_size // step
    start = _bucket(ts, max_size, offset)
    return (
        f"SELECT * EXCLUDE (__j), window_end - {_ms(1)} AS window_time FROM ("
        f"SELECT *, {start} AS window_start, {start} + to_milliseconds(__j * {step}) AS window_end "
        f"FROM {_SRC} CROSS JOIN range(1, {n + 1}) AS __k(__j) WHERE {ts} IS NOT NULL) "
        f"WHERE window_end > {ts}"
    )


def _session(ts: str, sizes: list[int], keys: list[str]) -> str:
    (gap,) = sizes
    by = ", ".join(keys)
    part = f"PARTITION BY {by} " if keys else ""
    sess = f"PARTITION BY {by + ', ' if keys else ''}__sid"
    return (
        f"SELECT * EXCLUDE (__e, __new, __sid), "
        f"epoch_ms(min(__e) OVER ({sess})) AS window_start, "
        f"epoch_ms(max(__e) OVER ({sess}) + {gap}) AS window_end, "
        f"epoch_ms(max(__e) OVER ({sess}) + {gap - 1}) AS window_time FROM ("
        f"SELECT *, sum(__new) OVER ({part}ORDER BY __e) AS __sid FROM ("
        f"SELECT *, CASE WHEN __e - lag(__e) OVER ({part}ORDER BY __e) <= {gap} "
        f"THEN 0 ELSE 1 END AS __new FROM ("
        f"SELECT *, epoch_ms({ts}) AS __e FROM {_SRC} WHERE {ts} IS NOT NULL)))"
    )


_ARITY = {"TUMBLE": 1, "HOP": 2, "CUMULATE": 2, "SESSION": 1}


def window_subquery(tvf: WindowTVF, alias: str) -> exp.Subquery:
    """The DuckDB subquery replacing ``tvf`` (its input already a DuckDB relation)."""
    kind = tvf.kind
    if kind not in _ARITY:
        raise NotSupportedError(f"window function {kind}")
    intervals = [interval_ms(i) for i in tvf.args.get("intervals") or []]
    if len(intervals) != _ARITY[kind]:
        raise ValidationError(f"{kind} takes {_ARITY[kind]} interval argument(s), got {len(intervals)}")
    offset_node = tvf.args.get("offset")
    offset = interval_ms(offset_node) if offset_node is not None else 0
    time_col = tvf.args.get("time_col")
    if isinstance(time_col, exp.Expression) and not isinstance(time_col, exp.Column):
        cols = list(time_col.find_all(exp.Column))
        time_col = cols[0] if len(cols) == 1 else None
    if not isinstance(time_col, exp.Column):
        raise ValidationError(f"{kind} needs DESCRIPTOR(<time column>)")
    ts = _quote(time_col.name)
    keys = [_quote(c.name) for c in tvf.args.get("partition_by") or []]
    if keys and kind != "SESSION":
        raise NotSupportedError(f"PARTITION BY in a {kind} window")
    if kind == "TUMBLE":
        sql = _tumble(ts, intervals, offset)
    elif kind == "HOP":
        sql = _hop(ts, intervals, offset)
    elif kind == "CUMULATE":
        sql = _cumulate(ts, intervals, offset)
    else:
        if offset:
            raise NotSupportedError("offset in a SESSION window")
        sql = _session(ts, intervals, keys)
    tree = sqlglot.parse_one(sql, read="duckdb")
    source = tvf.args["table"]
    src = source.copy()
    if isinstance(src, exp.Table | exp.Subquery):
        src.set("alias", exp.TableAlias(this=exp.to_identifier("__src")))
    placeholder = next(t for t in tree.find_all(exp.Table) if t.name == _SRC)
    placeholder.replace(src)
    return exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))


@dataclass(frozen=True)
class TimeColumnCheck:
    """A window TVF's time column, to be checked before the query runs: ``probe`` is DuckDB
    SQL selecting just that column from the TVF's input (prefixed with the query's CTEs by
    the transpiler); the column must come back as a TIMESTAMP."""

    kind: str
    column: str
    position: str  # " (line L, column C)" or ""
    source: exp.Expression

    def probe(self, ctes: list[exp.Expression]) -> str:
        src = self.source.copy()
        if isinstance(src, exp.Table | exp.Subquery):
            src.set("alias", exp.TableAlias(this=exp.to_identifier("__src")))
        query = exp.select(exp.column(self.column, quoted=True)).from_(src).limit(0)
        if ctes:
            query.set("with_", exp.With(expressions=[c.copy() for c in ctes]))
        return query.sql(dialect="duckdb")

    def error(self, duck_type: str) -> ValidationError:
        from flowsql.batch.errors import flink_type_names

        return ValidationError(
            f"the {self.kind} window's time column '{self.column}' is "
            f"{flink_type_names(duck_type)}, not a TIMESTAMP{self.position}",
            hint="DESCRIPTOR(...) must name a TIMESTAMP(p) or TIMESTAMP_LTZ(p) column (in "
            "streaming mode: the event-time attribute of a WATERMARK)",
        )


def time_column_check(tvf: WindowTVF) -> TimeColumnCheck | None:
    """What to check about ``tvf``'s time column (``None`` when it names no single column)."""
    time_col = tvf.args.get("time_col")
    if isinstance(time_col, exp.Expression) and not isinstance(time_col, exp.Column):
        cols = list(time_col.find_all(exp.Column))
        time_col = cols[0] if len(cols) == 1 else None
    if not isinstance(time_col, exp.Column):
        return None
    return TimeColumnCheck(tvf.kind, time_col.name, node_position(time_col),
                           tvf.args["table"].copy())


_DERIVED = {"window_end": 0, "window_time": -1}


def derive_window_properties(tvf: WindowTVF) -> None:
    """Group a fixed-size window aggregate by ``window_start`` only.

    In ``SELECT ... FROM TABLE(TUMBLE|HOP(...)) GROUP BY ..., window_start, window_end``,
    ``window_end`` (and ``window_time``) are functions of ``window_start``; DuckDB cannot know
    that, so they are dropped from GROUP BY and computed after aggregation as
    ``window_start + size`` (``- 1 ms``). Saves one or two hash keys per row (~15% of a
    tumbling-window aggregate). No-op for other shapes.
    """
    select = tvf.parent.parent if isinstance(tvf.parent, exp.From) else None
    group = select.args.get("group") if isinstance(select, exp.Select) else None
    if tvf.kind not in ("TUMBLE", "HOP") or group is None or select.args.get("joins"):
        return
    size = interval_ms(tvf.args["intervals"][-1])
    names = {g.name.lower(): g for g in group.expressions if isinstance(g, exp.Column)}
    start = names.get("window_start")
    derived = [n for n in _DERIVED if n in names]
    if start is None or not derived:
        return
    group.set("expressions", [g for g in group.expressions if not (
        isinstance(g, exp.Column) and g.name.lower() in derived
    )])

    def value(name: str) -> exp.Expression:
        ms = size + _DERIVED[name]
        return exp.Paren(this=exp.Add(
            this=start.copy(), expression=sqlglot.parse_one(_ms(ms), read="duckdb")
        ))

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name.lower() in derived:
            return value(node.name.lower())
        return node

    items = []
    for item in select.expressions:
        if isinstance(item, exp.Column) and item.name.lower() in derived:
            items.append(exp.alias_(value(item.name.lower()), item.name))
        else:
            items.append(item.transform(swap))
    select.set("expressions", items)
    for key in ("having", "order", "qualify"):
        if select.args.get(key) is not None:
            select.set(key, select.args[key].transform(swap))
