"""Unbounded GROUP BY emitting a changelog (Flink's GroupAggFunction, mini-batch style).

Contract:
- Input: append-only batches, or a changelog carrying ``$row_kind`` (+I/+U add a row,
  -U/-D retract one). Retracting input needs retractable aggregates (COUNT/SUM/AVG, also
  DISTINCT); otherwise :class:`~flowsql.errors.NotSupportedError` is raised.
- Output: key columns, one column per AggCall, then ``$row_kind`` (int8 :class:`RowKind`).
  For every group an input batch touches, with ``visible`` = the group has rows and passes
  ``having`` (a hook the planner fills with the compiled HAVING predicate, evaluated on a
  table of key + aggregate output columns; NULL counts as false):
    * newly visible → ``+I new``; no longer visible → ``-D old``;
    * visible before and after with a different result → ``-U old``, ``+U new``;
    * an unchanged result emits nothing (as Flink does without state TTL).
  One batch per input batch: all -U/-D rows first, then all +I/+U rows, so for each key
  the retraction precedes its update.
- ``snapshot()``: ``groups`` (keys, accumulator state, ``$rows`` signed row count, the last
  emitted results ``$r<i>`` and visibility ``$vis``), ``distinct.<i>`` (keys, ``$v``,
  multiplicity ``$m``) and ``meta``.

Steps of ``process_batch`` (vectorized; the state is merged with one group_by per batch):
  1. sign per row from ``$row_kind``; 2. partial aggregate of the batch per key;
  3. DISTINCT: update (key, value) multiplicities and turn values that appear / disappear
  into +1 / -1 rows for the distinct accumulators; 4. merge partials into the group state;
  5. compute new results and visibility of touched groups; 6. emit the changelog;
  7. keep groups that still have rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.operators.accumulators import SEQ, SIGN, VALUE, Accumulators, concat
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.specs import GroupAggregateSpec
from flowsql.runtime.messages import ROW_KIND, RowKind
from flowsql.state.backend import StateBackend
from flowsql.state.memory import MemoryStateBackend

ROWS, TOUCHED, VIS, MULT, MOLD = "$rows", "$touched", "$vis", "$m", "$mold"

Having = Callable[[pa.Table], pa.Array | pa.ChunkedArray]


def _same(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.Array:
    """Null-safe equality (NULL = NULL is true)."""
    eq = pc.fill_null(pc.equal(a, b), False)
    return pc.or_(eq, pc.and_(pc.is_null(a), pc.is_null(b)))


class GroupAggregateOperator(Operator):
    def __init__(
        self,
        spec: GroupAggregateSpec,
        *,
        having: Having | None = None,
        state: StateBackend | None = None,
    ) -> None:
        self.spec = spec
        self.keys = list(spec.keys)
        self.having = having
        self.accs = Accumulators(spec.aggs)
        self.state = state if state is not None else MemoryStateBackend()
        self.seq = 0
        self.results = [f"$r{i}" for i in range(len(spec.aggs))]

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        keys, n = self.keys, batch.num_rows
        # 1. sign per row
        table = pa.Table.from_batches([batch])
        signed = ROW_KIND in table.column_names
        if signed:
            kind = table.column(ROW_KIND)
            retract = pc.is_in(kind, pa.array([RowKind.UPDATE_BEFORE, RowKind.DELETE], pa.int8()))
            sign = pc.if_else(retract, -1, 1).cast(pa.int64())
            if pc.any(retract).as_py():
                self.accs.check_retractable()
            table = table.drop_columns([ROW_KIND])
        else:
            sign = pa.array(np.ones(n, dtype=np.int64))
        table = table.append_column(SIGN, sign)
        if self.accs.needs_seq:
            table = table.append_column(SEQ, pa.array(np.arange(self.seq, self.seq + n)))
        self.seq += n
        # 2. partial aggregate of the batch
        parts = [
            self.accs.partial(
                table, keys, sign=sign if signed else None, extra=[(SIGN, "sum", ROWS)]
            )
        ]
        # 3. DISTINCT: multiplicities → appear (+1) / disappear (-1) transitions
        for i in self.accs.distinct:
            parts.append(self._distinct_update(table, i, sign))
        # 4. merge into the group state
        parts = [p.append_column(TOUCHED, pa.array(np.ones(p.num_rows, dtype=np.int8)))
                 for p in parts]
        old = self.state.get("groups")
        if old is not None:
            old = old.append_column(TOUCHED, pa.array(np.zeros(old.num_rows, dtype=np.int8)))
            parts.insert(0, old)
        extra = [(ROWS, "sum"), (TOUCHED, "max")]
        if old is not None:
            extra += [(VIS, "max")] + [(r, "one") for r in self.results]
        merged = self.accs.merge(parts, keys, extra=extra)
        touched_mask = pc.equal(merged.column(TOUCHED), 1)
        untouched = merged.filter(pc.invert(touched_mask))
        t = merged.filter(touched_mask)
        # 5. new results and visibility of touched groups
        new_results = self.accs.results(t)
        alive = pc.greater(t.column(ROWS), 0)
        new_vis = alive
        if self.having is not None and t.num_rows:
            view = pa.table(
                {**{k: t.column(k) for k in keys},
                 **{a.output: r for a, r in zip(self.spec.aggs, new_results, strict=True)}}
            )
            new_vis = pc.and_(alive, pc.fill_null(self.having(view), False))
        if old is not None:
            old_vis = pc.fill_null(t.column(VIS), False)
            old_results = [t.column(r) for r in self.results]
        else:
            old_vis = pa.array(np.zeros(t.num_rows, dtype=bool))
            old_results = [pa.nulls(t.num_rows, r.type) for r in new_results]
        # 6. emit the changelog
        self._emit(t, old_vis, new_vis, old_results, new_results, out)
        # 7. keep groups that still have rows
        t = t.drop_columns([c for c in (VIS, *self.results) if c in t.column_names])
        for r, col in zip(self.results, new_results, strict=True):
            t = t.append_column(r, col)
        t = t.append_column(VIS, new_vis).filter(alive)
        keep = concat([untouched.drop_columns([TOUCHED]) if old is not None else None,
                       t.drop_columns([TOUCHED])])
        self.state.put("groups", keep)

    def _distinct_update(self, table: pa.Table, i: int, sign: pa.Array) -> pa.Table:
        keys = self.keys
        delta = self.accs.distinct_values(table, i, keys, sign=sign)
        delta = delta.group_by([*keys, VALUE]).aggregate([(SIGN, "sum")])
        delta = delta.rename_columns([*keys, VALUE, MULT])
        name = f"distinct.{i}"
        old = self.state.get(name)
        if old is not None:
            old = old.append_column(MOLD, old.column(MULT))
            delta = delta.append_column(MOLD, pa.nulls(delta.num_rows, pa.int64()))
            both = concat([old, delta]).group_by([*keys, VALUE]).aggregate(
                [(MULT, "sum"), (MOLD, "max")]
            )
            both = both.rename_columns([*keys, VALUE, MULT, MOLD])
            before = pc.greater(pc.fill_null(both.column(MOLD), 0), 0)
        else:
            both = delta
            before = pa.array(np.zeros(both.num_rows, dtype=bool))
        after = pc.greater(both.column(MULT), 0)
        self.state.put(name, both.filter(after).select([*keys, VALUE, MULT]))
        changed = pc.not_equal(before, after)
        trans = both.filter(changed)
        trans_sign = pc.if_else(after.filter(changed), 1, -1).cast(pa.int64())
        trans = trans.select([*keys, VALUE]).append_column(SIGN, trans_sign)
        part = self.accs.distinct_partial(trans, i, keys, signed=True)
        # a distinct transition touches the group but adds no row to it
        return part.append_column(ROWS, pa.array(np.zeros(part.num_rows, dtype=np.int64)))

    def _emit(
        self,
        t: pa.Table,
        old_vis: pa.Array,
        new_vis: pa.Array,
        old_results: list,
        new_results: list,
        out: Collector,
    ) -> None:
        keys = self.keys
        both = pc.and_(old_vis, new_vis)
        if t.num_rows and len(new_results):
            same = _same(old_results[0], new_results[0])
            for a, b in zip(old_results[1:], new_results[1:], strict=True):
                same = pc.and_(same, _same(a, b))
            update = pc.and_(both, pc.invert(same))
        else:
            update = pa.array(np.zeros(t.num_rows, dtype=bool))
        delete = pc.and_(old_vis, pc.invert(new_vis))
        insert = pc.and_(pc.invert(old_vis), new_vis)
        before = pc.or_(update, delete)
        after = pc.or_(update, insert)
        names = [*keys, *(a.output for a in self.spec.aggs), ROW_KIND]

        def rows(mask: pa.Array, results: list, kind_if_update: int, kind_else: int) -> pa.Table:
            kinds = pc.if_else(update, kind_if_update, kind_else).cast(pa.int8())
            cols = [t.column(k) for k in keys] + list(results) + [kinds]
            return pa.Table.from_arrays(cols, names=names).filter(mask)

        result = concat([
            rows(before, old_results, RowKind.UPDATE_BEFORE.value, RowKind.DELETE.value),
            rows(after, new_results, RowKind.UPDATE_AFTER.value, RowKind.INSERT.value),
        ])
        if result.num_rows:
            self.ctx.metrics.records_out += result.num_rows
            for b in result.combine_chunks().to_batches():
                out.emit(b)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        snap = self.state.snapshot()
        snap["meta"] = pa.table({"seq": [self.seq]})
        if self.accs.input_schema is not None:
            snap["input_schema"] = self.accs.input_schema.empty_table()
        return snap

    def restore(self, state: dict[str, pa.Table]) -> None:
        state = dict(state)
        meta = state.pop("meta")
        schema = state.pop("input_schema", None)
        if schema is not None:
            self.accs.input_schema = schema.schema
        self.seq = meta.column("seq")[0].as_py()
        self.state.restore(state)
