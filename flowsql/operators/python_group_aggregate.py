"""Unbounded GROUP BY with Python aggregate functions (``@udaf``), emitting a changelog.

Planned instead of :mod:`.group_aggregate` when a GROUP BY calls a Python aggregate function
(operator kind ``python-group-aggregate``, same params). The output is the same: key
columns, one column per AggCall, ``$row_kind``; per touched group ``+I`` when it appears,
``-D old`` when its last row is retracted, ``-U old`` / ``+U new`` when its result changes,
nothing when it does not; all retractions of a batch before its additions.

Per batch (steps):
  1. a sign per row from ``$row_kind`` (+I/+U add, -U/-D retract);
  2. one vectorized ``group_by(keys)`` collects each group's row indices;
  3. per touched *group* (not per row): its rows' argument arrays are folded into the
     group's accumulators — ``accumulate`` for added rows, ``retract`` for retracted ones
     (:class:`flowsql.udf.aggregate.UdafRunner`, the call path batch mode uses too);
  4. the old and new results, visibility (rows left and HAVING) and the changelog.

Built-in aggregates next to a Python one (COUNT, COUNT(*), SUM, AVG, MIN, MAX, with
FILTER) are folded the same way by small accumulators here; MIN/MAX cannot retract;
DISTINCT, FIRST_VALUE and LAST_VALUE beside a Python aggregate are not supported yet (the
planner says so). Window aggregations with Python aggregates:
:mod:`.python_window_aggregate`. State is a dict key → (row count, accumulators); ``snapshot()`` gives a
``groups`` table (keys, ``$rows``, ``$acc`` = the pickled accumulators), so accumulators must
be picklable. State TTL does not apply to this operator yet.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.errors import NotSupportedError
from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.accumulators import Accumulators
from flowsql.operators.base import Collector, Operator
from flowsql.operators.specs import AggCall, GroupAggregateSpec
from flowsql.udf.aggregate import UdafRunner
from flowsql.udf.loader import load_function

ROWS, ACC, INDEX = "$rows", "$acc", "$i"
PYTHON_UDAF = "PYTHON_UDAF"
BUILTINS = ("COUNT", "COUNT_STAR", "SUM", "AVG", "MIN", "MAX")
Having = Callable[[pa.Table], pa.Array | pa.ChunkedArray]


def unsupported_beside_udaf(aggs: tuple[AggCall, ...]) -> str | None:
    """What in ``aggs`` this operator cannot run (None: all of it)."""
    for a in aggs:
        if a.function != PYTHON_UDAF and (a.function not in BUILTINS or a.distinct):
            return f"{a.function}{'(DISTINCT ...)' if a.distinct else ''} in a GROUP BY " \
                   "that calls a Python aggregate function"
    return None


def check_planned(aggs: tuple[AggCall, ...] | list[AggCall], *, window: str | None) -> None:
    """Planning-time check of a GROUP BY that calls Python aggregate functions."""
    udafs = [a for a in aggs if a.function == PYTHON_UDAF]
    if not udafs:
        return
    if window == "SESSION":
        raise NotSupportedError(
            f"Python aggregate function {udafs[0].udf[0]} in a SESSION window",  # type: ignore[index]
            hint="Python aggregate functions run in TUMBLE, HOP and CUMULATE windows and in "
                 "unbounded GROUP BY",
        )
    problem = unsupported_beside_udaf(tuple(aggs))
    if problem:
        raise NotSupportedError(problem)
    if window in ("HOP", "CUMULATE"):  # a window merges the accumulators of its slices
        for a in udafs:
            name, path = a.udf  # type: ignore[misc]
            if not load_function(path, name).can_merge:  # type: ignore[union-attr]
                raise NotSupportedError(
                    f"Python aggregate function {name} without merge() in a {window} window",
                    hint="define merge(acc, others) in its class: a window is merged from slices",
                )


class _Builtin:
    """A built-in aggregate as a Python accumulator over one group's arrays."""

    def __init__(self, fn: str) -> None:
        self.fn = fn

    def create(self) -> Any:
        return None if self.fn in ("MIN", "MAX") else [0, 0]

    def _fold(self, acc: Any, arrays: list[pa.Array], sign: int) -> Any:
        if self.fn == "COUNT_STAR":
            return [acc[0] + sign * len(arrays[0]), 0]
        x = arrays[0]
        if self.fn == "COUNT":
            return [acc[0] + sign * (len(x) - x.null_count), 0]
        if self.fn in ("SUM", "AVG"):
            s = pc.sum(pc.cast(x, pa.float64()) if self.fn == "AVG" else x).as_py()
            return [acc[0] + sign * (s or 0), acc[1] + sign * (len(x) - x.null_count)]
        if sign < 0:
            raise NotSupportedError(f"{self.fn} over an updating (retracting) input",
                                    hint="COUNT, SUM and AVG can retract; MIN/MAX cannot yet")
        v = (pc.min if self.fn == "MIN" else pc.max)(x).as_py()
        if v is None or acc is None:
            return v if acc is None else acc
        return min(acc, v) if self.fn == "MIN" else max(acc, v)

    def accumulate(self, acc: Any, arrays: list[pa.Array]) -> Any:
        return self._fold(acc, arrays, 1)

    def retract(self, acc: Any, arrays: list[pa.Array]) -> Any:
        return self._fold(acc, arrays, -1)

    def merge(self, acc: Any, others: list[Any]) -> Any:
        for o in others:
            if self.fn in ("MIN", "MAX"):
                pick = min if self.fn == "MIN" else max
                acc = o if acc is None else acc if o is None else pick(acc, o)
            else:
                acc = [acc[0] + o[0], acc[1] + o[1]]
        return acc

    def value(self, acc: Any) -> Any:
        if self.fn in ("COUNT", "COUNT_STAR"):
            return acc[0]
        if self.fn in ("MIN", "MAX"):
            return acc
        if acc[1] <= 0:
            return None
        return acc[0] / acc[1] if self.fn == "AVG" else acc[0]


def group_rows(table: pa.Table, keys: list[str]) -> list[tuple[tuple, np.ndarray]]:
    """(key tuple, row indices) of every group of ``table`` (one vectorized group_by)."""
    work = table.select(keys).append_column(
        INDEX, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    grouped = work.group_by(keys, use_threads=False).aggregate([(INDEX, "list")])
    lists = grouped.column(f"{INDEX}_list").combine_chunks()
    return [(tuple(row[k] for k in keys), lists[g].values.to_numpy(zero_copy_only=False))
            for g, row in enumerate(grouped.select(keys).to_pylist())]


def fold(aggs: tuple[AggCall, ...], runners: list[Any], accs: list[Any], table: pa.Table,
         idx: np.ndarray, retract: np.ndarray | None = None) -> list[Any]:
    """One group's rows ``idx`` of ``table`` folded into its accumulators: accumulate for
    added rows, retract for retracted ones; FILTER masks applied per aggregate."""
    accs = list(accs)
    for i, (a, runner) in enumerate(zip(aggs, runners, strict=True)):
        rows = idx
        if a.filter is not None:
            keep = pc.fill_null(table.column(a.filter).take(pa.array(idx)), False)
            rows = idx[keep.to_numpy(zero_copy_only=False)]
        neg = retract[rows] if retract is not None else np.zeros(len(rows), dtype=bool)
        names = [c for c in (a.input, *a.extra_inputs) if c is not None]
        for part, sign in ((rows[~neg], 1), (rows[neg], -1)):
            if not len(part):
                continue
            take = pa.array(part)
            arrays = [table.column(n).take(take).combine_chunks() for n in names] if names \
                else [take]
            accs[i] = runner.accumulate(accs[i], arrays) if sign > 0 \
                else runner.retract(accs[i], arrays)
    return accs


def _runner(a: AggCall) -> UdafRunner | _Builtin:
    if a.function == PYTHON_UDAF:
        name, path = a.udf  # type: ignore[misc]
        return UdafRunner(load_function(path, name), name)  # type: ignore[arg-type]
    return _Builtin(a.function)


class PythonGroupAggregateOperator(Operator):
    def __init__(self, spec: GroupAggregateSpec, *, having: Having | None = None) -> None:
        problem = unsupported_beside_udaf(spec.aggs)
        if problem:
            raise NotSupportedError(problem)
        self.keys = list(spec.keys)
        self.aggs = spec.aggs
        self.having = having
        self.runners = [_runner(a) for a in spec.aggs]
        self.accs = Accumulators(spec.aggs)  # output types only
        self.groups: dict[tuple, list[Any]] = {}  # key → [rows, [acc...]]
        self.key_types: list[pa.DataType] | None = None

    # -- per batch -------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch])
        self.accs.bind(table.schema)
        if self.key_types is None:
            self.key_types = [table.schema.field(k).type for k in self.keys]
        # 1. signs
        retract = np.zeros(batch.num_rows, dtype=bool)
        if ROW_KIND in table.column_names:
            kinds = pc.is_in(table.column(ROW_KIND),
                             pa.array([RowKind.UPDATE_BEFORE, RowKind.DELETE], pa.int8()))
            retract = kinds.to_numpy(zero_copy_only=False)
        # 2. row indices per group; 3. fold each touched group
        touched: list[tuple] = []
        old: list[list[Any] | None] = []
        for key, idx in group_rows(table, self.keys):
            state = self.groups.get(key)
            if state is None:
                state = [0, [r.create() for r in self.runners]]
                self.groups[key] = state
                old.append(None)
            else:
                old.append(state[2] if len(state) > 2 else self._results(state))
            state[1] = fold(self.aggs, self.runners, state[1], table, idx, retract)
            state[0] += int(len(idx) - 2 * int(retract[idx].sum()))
            touched.append(key)
        # 4. results, visibility, changelog
        new = [self._results(self.groups[k]) if self.groups[k][0] > 0 else None for k in touched]
        visible = self._visible(touched, new)
        old_visible = [o is not None and (len(self.groups[k]) < 4 or self.groups[k][3])
                       for k, o in zip(touched, old, strict=True)]
        before: list[tuple[tuple, list[Any], int]] = []
        after: list[tuple[tuple, list[Any], int]] = []
        for k, o, n, was, now in zip(touched, old, new, old_visible, visible, strict=True):
            if was and now:
                if o != n:
                    before.append((k, o, RowKind.UPDATE_BEFORE))
                    after.append((k, n, RowKind.UPDATE_AFTER))
            elif was:
                before.append((k, o, RowKind.DELETE))
            elif now:
                after.append((k, n, RowKind.INSERT))
            state = self.groups[k]
            if state[0] <= 0:
                del self.groups[k]
            else:
                self.groups[k] = [state[0], state[1], n, now]
        rows = before + after
        if rows:
            out.emit(self._batch(rows))
            self.ctx.metrics.records_out += len(rows)

    def _results(self, state: list[Any]) -> list[Any]:
        return [r.value(acc) for r, acc in zip(self.runners, state[1], strict=True)]

    def _visible(self, keys: list[tuple], results: list[list[Any] | None]) -> list[bool]:
        alive = [r is not None for r in results]
        if self.having is None or not any(alive):
            return alive
        picked = [(k, r) for k, r in zip(keys, results, strict=True) if r is not None]
        t = self._table([(k, r, 0) for k, r in picked]).drop_columns([ROW_KIND])
        ok = iter(pc.fill_null(self.having(t), False).to_pylist())
        return [next(ok) if a else False for a in alive]

    def _table(self, rows: list[tuple[tuple, list[Any], int]]) -> pa.Table:
        cols: dict[str, pa.Array] = {}
        for j, k in enumerate(self.keys):
            cols[k] = pa.array([r[0][j] for r in rows], type=(self.key_types or [])[j])
        for i, a in enumerate(self.aggs):
            values = [r[1][i] for r in rows]
            runner = self.runners[i]
            cols[a.output] = runner.results(values) if isinstance(runner, UdafRunner) \
                else pa.array(values, type=self.accs.output_type(i))
        cols[ROW_KIND] = pa.array([int(r[2]) for r in rows], pa.int8())
        return pa.table(cols)

    def _batch(self, rows: list[tuple[tuple, list[Any], int]]) -> pa.RecordBatch:
        return self._table(rows).combine_chunks().to_batches()[0]

    # -- state -----------------------------------------------------------------------------
    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        keys = list(self.groups)
        cols: dict[str, Any] = {}
        for j, k in enumerate(self.keys):
            typ = self.key_types[j] if self.key_types else pa.null()
            cols[k] = pa.array([key[j] for key in keys], type=typ)
        cols[ROWS] = pa.array([self.groups[k][0] for k in keys], pa.int64())
        cols[ACC] = pa.array([pickle.dumps(self.groups[k][1]) for k in keys], pa.binary())
        cols["$vis"] = pa.array([bool(self.groups[k][3]) if len(self.groups[k]) > 3 else True
                                 for k in keys], pa.bool_())
        return {"groups": pa.table(cols)}

    def restore(self, state: dict[str, pa.Table]) -> None:
        groups = state.get("groups")
        self.groups = {}
        if groups is None:
            return
        if self.keys:
            self.key_types = [groups.schema.field(k).type for k in self.keys]
        for row in groups.to_pylist():
            key = tuple(row[k] for k in self.keys)
            entry = [row[ROWS], pickle.loads(row[ACC])]  # noqa: S301 - our own snapshot
            entry += [self._results(entry), row["$vis"]]
            self.groups[key] = entry
