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
- ``snapshot()``: ``groups`` (keys, accumulator state, ``$rows`` signed row count,
  visibility ``$vis`` and last-write time ``$touched`` (epoch ms) of every group with rows),
  ``distinct.<i>`` (keys, ``$v``, multiplicity ``$m``) and ``meta``.
- State TTL (``table.exec.state.ttl`` in the job config, e.g. ``'1 h'``; unset or 0: keep
  forever; the ``state_ttl_ms`` argument, which a ``/*+ STATE_TTL(...) */`` hint sets, wins
  over the config for this operator, 0 again meaning forever), as Flink's OnCreateAndWrite /
  NeverReturnExpired in processing time: a group not written for longer than the TTL is
  dropped silently (no retraction is emitted), with its DISTINCT values; a later row of that
  key starts a new group (``+I``). Expired groups are swept at most every ``ttl / 10`` (and
  at least every minute) and before every snapshot, so they never reach a checkpoint; the
  two-phase global operator (:mod:`.local_group_aggregate`) sweeps the same way.

State layout (so a batch costs O(batch), not O(groups)): a :class:`KeyIndex` gives every
group a dense id; accumulators, row counts and visibility are columns indexed by that id
(:class:`AccumulatorStore`, numpy). The signed row count ``$rows`` is the store's ``rows``
column: count columns equal to it (an unfiltered ``COUNT(*)``; the count of a ``SUM``
whose input has had no NULL) share its array until they differ. Without HAVING a group is
visible exactly when it has rows, so no visibility array is kept (``vis`` is None). The
(group, value) multiplicities of DISTINCT aggregates use their own index. Ids of emptied
groups are recycled by compaction once they outnumber the live ones.

Steps of ``process_batch``:
  1. sign per row from ``$row_kind``; 2. partial aggregate of the batch per key (one
  vectorized ``group_by``); 3. DISTINCT: update (key, value) multiplicities and turn values
  that appear / disappear into +1 / -1 rows for the distinct accumulators; 4. look up the
  touched groups' ids and fold the partials into their state (old results are computed from
  the state before the fold); 5. new results and visibility of the touched groups;
  6. emit the changelog; 7. empty the groups left without rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.options import parse_duration_ms
from flowsql.errors import ValidationError
from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.acc_store import AccumulatorStore, as_array
from flowsql.operators.accumulators import SEQ, SIGN, VALUE, Accumulators
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.snapshots import seal, unseal
from flowsql.operators.specs import GroupAggregateSpec
from flowsql.state.backend import StateBackend
from flowsql.state.growth import grown
from flowsql.state.keyindex import KeyIndex
from flowsql.state.memory import MemoryStateBackend

ROWS, VIS, MULT, TOUCHED = "$rows", "$vis", "$m", "$touched"
_SLACK = 4096  # dead ids tolerated before compaction (besides as many as live ones)

Having = Callable[[pa.Table], pa.Array | pa.ChunkedArray]


def _same(a: pa.Array, b: pa.Array) -> pa.Array:
    """Null-safe equality (NULL = NULL is true)."""
    eq = pc.fill_null(pc.equal(a, b), False)
    return pc.or_(eq, pc.and_(pc.is_null(a), pc.is_null(b)))


def _same_np(a: pa.Array, b: pa.Array) -> np.ndarray:
    """:func:`_same` as a numpy bool array; numpy comparison for numeric columns."""
    t = a.type
    if t == b.type and (pa.types.is_integer(t) or pa.types.is_floating(t)):
        va = a.is_valid().to_numpy(zero_copy_only=False) if a.null_count else None
        vb = b.is_valid().to_numpy(zero_copy_only=False) if b.null_count else None
        xa = (pc.fill_null(a, pa.scalar(0, t)) if a.null_count else a).to_numpy()
        xb = (pc.fill_null(b, pa.scalar(0, t)) if b.null_count else b).to_numpy()
        eq = xa == xb
        if va is None and vb is None:
            return eq
        va = np.ones(len(a), dtype=bool) if va is None else va
        vb = np.ones(len(b), dtype=bool) if vb is None else vb
        return (eq & va & vb) | (~va & ~vb)
    return _same(a, b).to_numpy(zero_copy_only=False)


def signed_rows(batch: pa.RecordBatch, accs: Accumulators) -> tuple[pa.Table, pa.Array | None]:
    """``batch`` as a table with a ``$sign`` column (+1 for +I/+U, -1 for -U/-D) instead of
    ``$row_kind``, and that sign for :meth:`Accumulators.partial` — None for an append-only
    batch (all +1: unsigned partials are cheaper). Retractions need retractable aggregates."""
    table = pa.Table.from_batches([batch])
    n = batch.num_rows
    if ROW_KIND not in table.column_names:
        return table.append_column(SIGN, pa.array(np.ones(n, dtype=np.int64))), None
    kind = table.column(ROW_KIND)
    retract = pc.is_in(kind, pa.array([RowKind.UPDATE_BEFORE, RowKind.DELETE], pa.int8()))
    retract = retract.to_numpy(zero_copy_only=False)
    if retract.any():
        accs.check_retractable()
    sign = pa.array(np.where(retract, -1, 1))
    return table.drop_columns([ROW_KIND]).append_column(SIGN, sign), sign


class DistinctCounts:
    """Multiplicity of every (group keys, value) pair of one DISTINCT aggregate."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.index = KeyIndex([*keys, VALUE])
        self.mult = np.zeros(0, dtype=np.int64)
        self.live = 0

    def update(self, delta: pa.Table) -> pa.Table:
        """Apply ``delta`` (keys, ``$v``, ``$m`` change; one row per pair) and return the
        pairs that appear (``$sign`` +1) or disappear (-1)."""
        ids = self.index.lookup(delta)
        self.mult = grown(self.mult, self.index.size)
        before = self.mult[ids] > 0
        self.mult[ids] += delta.column(MULT).to_numpy()
        after = self.mult[ids] > 0
        self.live += int(after.sum()) - int(before.sum())
        changed = before != after
        trans = delta.filter(pa.array(changed)).select([*self.keys, VALUE])
        trans = trans.append_column(SIGN, pa.array(np.where(after[changed], 1, -1)))
        if self.index.size > 2 * self.live + _SLACK:
            keep = self.mult[: self.index.size] > 0
            self.index.retain(keep)
            self.mult = self.mult[: len(keep)][keep]
        return trans

    def table(self) -> pa.Table:
        live = np.flatnonzero(self.mult[: self.index.size] > 0)
        t = self.index.keys(live)
        return t.append_column(MULT, pa.array(self.mult[live]))

    def drop_groups(self, groups: KeyIndex, expired: np.ndarray) -> None:
        """Forget the values of the groups ``expired`` (ids in ``groups``)."""
        live = np.flatnonzero(self.mult[: self.index.size] > 0)
        if not len(live):
            return
        owners = groups.lookup(self.index.keys(live).select(self.keys), insert=False)
        gone = live[np.isin(owners, expired)]
        self.mult[gone] = 0
        self.live -= len(gone)

    def restore(self, table: pa.Table) -> None:
        ids = self.index.lookup(table)
        self.mult = grown(self.mult, self.index.size)
        self.mult[ids] = table.column(MULT).to_numpy()
        self.live = int((self.mult > 0).sum())


def config_ttl(ctx: OperatorContext) -> int:
    """``table.exec.state.ttl`` of the job in ms (0: unset, keep state forever)."""
    text = str(ctx.config.get("table.exec.state.ttl") or "").strip()
    ttl = parse_duration_ms(text) if text else 0
    if ttl is None:
        raise ValidationError(f"option 'table.exec.state.ttl': '{text}' is not a duration "
                              "(examples: '1 h', '30 min', '1000 ms')")
    return ttl


class GroupAggregateOperator(Operator):
    def __init__(
        self,
        spec: GroupAggregateSpec,
        *,
        having: Having | None = None,
        state: StateBackend | None = None,
        state_ttl_ms: int | None = None,
    ) -> None:
        self.spec = spec
        self.state_ttl_ms = state_ttl_ms  # a STATE_TTL hint's TTL: wins over the config
        self.keys = list(spec.keys)
        self.having = having
        self.accs = Accumulators(spec.aggs)
        self.state = state if state is not None else MemoryStateBackend()
        self.seq = 0
        self.index = KeyIndex(self.keys)
        self.store = AccumulatorStore(self.accs, extra=[(ROWS, "sum")], rows=ROWS)
        # visibility per group id; None without HAVING (visible = has rows)
        self.vis: np.ndarray | None = np.zeros(0, dtype=bool) if having is not None else None
        self.live = 0
        self.distinct = {i: DistinctCounts(self.keys) for i in self.accs.distinct}
        self.ttl_ms = 0
        self.touched = np.zeros(0, dtype=np.float64)  # last write per group id, epoch ms
        self.clock = time.time  # processing time (tests replace it)
        self._next_sweep = 0.0

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.ttl_ms = self.state_ttl_ms if self.state_ttl_ms is not None else config_ttl(ctx)
        self._next_sweep = 0.0

    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        self.ctx.metrics.records_in += batch.num_rows
        if batch.num_rows == 0:
            return
        if self.ttl_ms:
            self._expire(sweep_due=True)
        keys, n = self.keys, batch.num_rows
        # 1. sign per row
        table, sign = signed_rows(batch, self.accs)
        if self.accs.needs_seq:
            table = table.append_column(SEQ, pa.array(np.arange(self.seq, self.seq + n)))
        self.seq += n
        # 2. partial aggregate of the batch
        parts = [self.accs.partial(table, keys, sign=sign, extra=[(SIGN, "sum", ROWS)])]
        # 3. DISTINCT: multiplicities → appear (+1) / disappear (-1) transitions
        if sign is None:
            sign = table.column(SIGN)
        for i in self.accs.distinct:
            parts.append(self._distinct_update(table, i, sign))
        part = parts[0] if len(parts) == 1 else self.accs.merge(parts, keys,
                                                                 extra=[(ROWS, "sum")])
        self._fold(part, self.index.lookup(part), out)

    def _fold(self, part: pa.Table, ids: np.ndarray, out: Collector) -> None:
        """Steps 4-7 for ``part`` (keys, state columns, ``$rows``; one row per group, whose
        ids are ``ids``)."""
        keys = self.keys
        # 4. fold into the state of the touched groups
        self.store.resize(self.index.size)
        old_state = self.store.table(ids)
        old_alive = self.store.numpy(ROWS)[ids] > 0
        if self.vis is not None:
            self.vis = grown(self.vis, self.index.size)
            old_vis = self.vis[ids]
        else:
            old_vis = old_alive
        self.store.merge(ids, part)
        new_state = self.store.table(ids)
        # 5. new results and visibility
        old_results = self.accs.results(old_state)
        new_results = self.accs.results(new_state)
        alive = self.store.numpy(ROWS)[ids] > 0
        new_vis = alive
        key_cols = {k: part.column(k) for k in keys}
        if self.having is not None and len(ids):
            view = pa.table(
                {**key_cols,
                 **{a.output: r for a, r in zip(self.spec.aggs, new_results, strict=True)}}
            )
            new_vis = alive & pc.fill_null(self.having(view), False).to_numpy(
                zero_copy_only=False)
        # 6. emit the changelog
        self._emit(key_cols, len(ids), old_vis, new_vis, old_results, new_results, out)
        # 7. empty the groups left without rows; compact once dead ids dominate
        if self.vis is not None:
            self.vis[ids] = new_vis
        if self.ttl_ms:
            self.touched = grown(self.touched, self.index.size)
            self.touched[ids] = self.clock() * 1000.0
        self.live += int(alive.sum()) - int(old_alive.sum())
        gone = ids[~alive]
        if len(gone):
            self.store.reset(gone)
        if self.index.size > 2 * self.live + _SLACK:
            self._compact()

    def _compact(self) -> None:
        keep = self.store.numpy(ROWS)[: self.index.size] > 0
        self.index.retain(keep)
        self.store.compact(np.flatnonzero(keep))
        if self.vis is not None:
            self.vis = self.vis[: len(keep)][keep]
        if len(self.touched):
            self.touched = grown(self.touched, len(keep))[: len(keep)][keep]

    def _expire(self, sweep_due: bool) -> None:
        """Drop the groups not written for longer than the TTL (see the module contract)."""
        now = self.clock()
        if sweep_due and now < self._next_sweep:
            return
        self._next_sweep = now + min(self.ttl_ms / 10_000.0, 60.0)
        n = self.index.size
        if not n:
            return
        self.store.resize(n)
        self.touched = grown(self.touched, n)
        alive = self.store.numpy(ROWS)[:n] > 0
        expired = np.flatnonzero(alive & (self.touched[:n] < now * 1000.0 - self.ttl_ms))
        if not len(expired):
            return
        self.store.reset(expired)
        if self.vis is not None:
            self.vis[expired] = False
        self.live -= len(expired)
        for counts in self.distinct.values():
            counts.drop_groups(self.index, expired)
        if self.index.size > 2 * self.live + _SLACK:
            self._compact()

    def _distinct_update(self, table: pa.Table, i: int, sign: pa.Array) -> pa.Table:
        keys = self.keys
        delta = self.accs.distinct_values(table, i, keys, sign=sign)
        delta = delta.group_by([*keys, VALUE], use_threads=False).aggregate([(SIGN, "sum")])
        delta = delta.rename_columns([*keys, VALUE, MULT])
        trans = self.distinct[i].update(delta)
        part = self.accs.distinct_partial(trans, i, keys, signed=True)
        # a distinct transition touches the group but adds no row to it
        return part.append_column(ROWS, pa.array(np.zeros(part.num_rows, dtype=np.int64)))

    def _emit(
        self,
        key_cols: dict[str, pa.ChunkedArray],
        n: int,
        old_vis: np.ndarray,
        new_vis: np.ndarray,
        old_results: list,
        new_results: list,
        out: Collector,
    ) -> None:
        both = old_vis & new_vis
        if n and len(new_results) and both.any():
            same = np.ones(n, dtype=bool)
            for a, b in zip(old_results, new_results, strict=True):
                same &= _same_np(a, b)
            update = both & ~same
        else:
            update = np.zeros(n, dtype=bool)
        before = np.flatnonzero(update | (old_vis & ~new_vis))
        after = np.flatnonzero(update | (~old_vis & new_vis))
        m = len(before) + len(after)
        if not m:
            return
        # -U/-D rows (old results) first, then +I/+U rows (new results): one take per column
        rows = np.concatenate([before, after])
        kinds = np.concatenate([
            np.where(update[before], RowKind.UPDATE_BEFORE.value, RowKind.DELETE.value),
            np.where(update[after], RowKind.UPDATE_AFTER.value, RowKind.INSERT.value),
        ]).astype(np.int8)
        picks = pa.array(np.concatenate([before, after + n]))
        cols = [as_array(c).take(pa.array(rows)) for c in key_cols.values()]
        for old, new in zip(old_results, new_results, strict=True):
            if not len(before):
                cols.append(new.take(pa.array(after)))
            elif not len(after):
                cols.append(old.take(pa.array(before)))
            else:
                cols.append(pa.concat_arrays([old, new]).take(picks))
        cols.append(pa.array(kinds))
        names = [*key_cols, *(a.output for a in self.spec.aggs), ROW_KIND]
        self.ctx.metrics.records_out += m
        out.emit(pa.RecordBatch.from_arrays(cols, names=names))

    # -- checkpoints -------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        """The key columns of every keyed state table (they rescale by key group)."""
        return list(self.keys)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        if self.ttl_ms:
            self._expire(sweep_due=False)  # expired state never reaches a checkpoint
        live = np.flatnonzero(self.store.numpy(ROWS)[: self.index.size] > 0) \
            if self.index.size else np.empty(0, dtype=np.int64)
        groups = self.store.table(live)
        for k, col in zip(self.keys, self.index.keys(live).columns, strict=True):
            groups = groups.append_column(k, col)
        vis = self.vis[live] if self.vis is not None else np.ones(len(live), dtype=bool)
        groups = groups.append_column(VIS, pa.array(vis, pa.bool_()))
        touched = grown(self.touched, self.index.size)[live]
        groups = groups.append_column(TOUCHED, pa.array(touched, pa.float64()))
        self.state.put("groups", groups)
        for i, counts in self.distinct.items():
            self.state.put(f"distinct.{i}", counts.table())
        return seal(self.state.snapshot(), self.accs, seq=self.seq)

    def restore(self, state: dict[str, pa.Table]) -> None:
        meta, state = unseal(state, self.accs)
        self.seq = meta["seq"]
        self.state.restore(state)
        groups = self.state.get("groups")
        if groups is not None and groups.num_rows:
            ids = self.index.lookup(groups)
            self.store.resize(self.index.size)
            self.store.assign(ids, groups)
            if self.vis is not None:
                self.vis = grown(self.vis, self.index.size)
                self.vis[ids] = groups.column(VIS).to_numpy(zero_copy_only=False)
            self.live = len(ids)
            if TOUCHED in groups.column_names:
                self.touched = grown(self.touched, self.index.size)
                self.touched[ids] = groups.column(TOUCHED).to_numpy(zero_copy_only=False)
        for i, counts in self.distinct.items():
            table = self.state.get(f"distinct.{i}")
            if table is not None and table.num_rows:
                counts.restore(table)

    def num_groups(self) -> int:
        """Groups currently holding rows."""
        return self.live
