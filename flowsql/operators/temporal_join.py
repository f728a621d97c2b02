"""Event-time temporal join: each probe row joins the version of its key that was valid at
the probe row's time (Flink's ``TemporalRowTimeJoinOperator``), INNER or LEFT.

Contract:
- Two inputs: ``input_index`` 0 is the probe side (append-only), 1 the versioned side, which
  may carry ``$row_kind``: +I and +U rows are new versions of their key at their
  ``right_time``, a -D row ends the key's version at its time, -U rows are ignored (the +U
  that follows carries the new version). With ``latest_only`` (a versioned view: the input of
  a deduplication keeping the last row per key on event time) a row older than an earlier
  row of its key is no version (the deduplication would not emit it). Keys: ``left_keys`` / ``right_keys`` (same Arrow
  types; the versioned table's primary key is among the right ones); a NULL key never
  matches.
- A probe row is held until the watermark (the minimum over both inputs, combined by the
  task) reaches its ``left_time``; then it joins the version found by
  :meth:`~.temporal_state.Versions.find` (the greatest version time ``<= left_time``; of
  equal times the last to arrive; none if that is a deletion), provided the ``residual``
  (over the output columns) is TRUE. INNER drops the rows without such a version, LEFT
  emits them with the right columns NULL. A probe row that arrives behind the watermark is
  joined at once, against the versions still kept; so is a probe row with a NULL time,
  which matches nothing.
- Output: append-only (no ``$row_kind``): the probe columns, then the versioned side's
  (under the ``output`` names); one batch per watermark that releases probe rows. The
  probe's time column stays a time attribute: every row is emitted before the watermark
  that passes it, and the watermark is forwarded unchanged.
- State: the buffered probe rows (:class:`~.interval_state.TimedRows`) and the versions
  (:class:`~.temporal_state.Versions`), pruned at each watermark to the newest version at
  or below it and the ones above it.
- ``snapshot()``: tables ``probe`` (probe columns, ``$time``, ``$matched``), ``versions``
  (versioned columns, ``$time``, ``$deleted``), both with a copy of their join key columns as
  ``$k<i>`` (the operator's ``state_keys``, so state rescales by key group), and ``meta`` (the
  watermark); :func:`~.join_parts.keyed_snapshot`, as the window join's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from flowsql.messages import MIN_WATERMARK, ROW_KIND, RowKind, Watermark
from flowsql.operators.base import Collector, Operator
from flowsql.operators.interval_join import epoch_ms
from flowsql.operators.interval_state import TimedRows, forget_unused_keys
from flowsql.operators.join import assemble, key_ids
from flowsql.operators.join_parts import (
    Residual,
    append_rows,
    emit_parts,
    keyed_snapshot,
    residual_mask,
    restored_watermark,
)
from flowsql.operators.temporal_state import Versions
from flowsql.state.keyindex import KeyIndex


@dataclass(frozen=True)
class TemporalJoinSpec:
    join_type: str  # INNER | LEFT
    left_keys: tuple[str, ...]
    right_keys: tuple[str, ...]
    left_time: str
    right_time: str
    latest_only: bool = False  # a versioned view: rows older than their key's newest are no versions


class TemporalJoinOperator(Operator):
    def __init__(self, spec: TemporalJoinSpec, left: pa.Schema, right: pa.Schema,
                 output: pa.Schema, *, residual: Residual | None = None) -> None:
        self.spec = spec
        self.schemas = (left, right)
        self.output = output
        self.residual = residual
        self.probes = TimedRows(left)
        self.versions = Versions(right)
        self.key_names = [f"$k{i}" for i in range(len(spec.left_keys))]
        self.keys = KeyIndex(self.key_names)
        self.watermark = MIN_WATERMARK

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        if input_index == 1:
            self._add_versions(batch)
            return
        table = append_rows(batch, self.schemas[0])
        time, valid = epoch_ms(table.column(self.spec.left_time))
        time = np.where(valid, time, MIN_WATERMARK)  # no time: joined at once, no match
        keys = key_ids(self.keys, self.key_names, [table.column(n) for n in self.spec.left_keys],
                       valid)
        self.probes.append(table, keys, time, np.zeros(len(keys), dtype=bool))
        if (time <= self.watermark).any():  # behind the watermark: joined at once
            self._fire(self.watermark, out)

    def _add_versions(self, batch: pa.RecordBatch) -> None:
        table = pa.Table.from_batches([batch])
        deleted = np.zeros(table.num_rows, dtype=bool)
        if ROW_KIND in table.column_names:
            kind = table.column(ROW_KIND).to_numpy()
            deleted = kind == RowKind.DELETE
            keep = kind != RowKind.UPDATE_BEFORE
            if not keep.all():
                table, deleted = table.filter(pa.array(keep)), deleted[keep]
        table = table.select(self.schemas[1].names)
        time, valid = epoch_ms(table.column(self.spec.right_time))
        keys = key_ids(self.keys, self.key_names, [table.column(n) for n in self.spec.right_keys],
                       valid)
        stored = keys >= 0  # a version without a key or a time is never found
        if self.spec.latest_only:
            stored &= self._not_older(keys, time)
        if not stored.all():
            table, keys, time, deleted = (table.filter(pa.array(stored)), keys[stored],
                                          time[stored], deleted[stored])
        self.versions.append(table, keys, time, deleted)

    def _not_older(self, keys: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Whether each row (in arrival order) is at least as new as every earlier row of its
        key, stored or in this batch: what a deduplication keeping the last row emits."""
        ok = keys >= 0
        if not ok.any():
            return ok
        latest = self.versions.latest_time(keys)
        n = len(keys)
        order = np.lexsort((np.arange(n), keys))  # by key, then arrival
        k, t = keys[order], time[order]
        first = np.r_[True, k[1:] != k[:-1]]
        group = np.cumsum(first) - 1
        times, rank = np.unique(t, return_inverse=True)
        running = np.maximum.accumulate(group * (n + 1) + rank)  # per key: groups ascend
        before = np.r_[-1, running[:-1]]  # the newest earlier row of the same key, if any
        earlier = np.where(first, latest[order], times[np.maximum(before - group * (n + 1), 0)])
        newest = np.empty(n, dtype=bool)
        newest[order] = t >= np.where(first, latest[order], np.maximum(earlier, latest[order]))
        return ok & newest

    def _fire(self, watermark: int, out: Collector) -> None:
        """Join and emit the probe rows at or below ``watermark`` (see the contract)."""
        due = self.probes.time <= watermark
        if not due.any():
            return
        keys, times = self.probes.key[due], self.probes.time[due]
        rows, _ = self.probes.evict(due)
        found = self.versions.find(keys, times)
        ok = found >= 0
        if self.residual is not None and ok.any():
            candidate = assemble(self.schemas, self.output, rows, self.versions.take(found),
                                 rows.num_rows)
            ok &= residual_mask(self.residual, candidate)
        if self.spec.join_type == "INNER":
            rows, found = rows.filter(pa.array(ok)), found[ok]
        else:
            found = np.where(ok, found, -1)
        emit_parts(self.schemas, self.output, [(rows, self.versions.take(found))], out, self.ctx)

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        """Emit the probe rows the watermark passed, then drop the versions no later probe
        row can see; the watermark goes on unchanged."""
        if wm.timestamp > self.watermark:
            self.watermark = wm.timestamp
            self._fire(wm.timestamp, out)
            self.versions.expire(wm.timestamp)
            forget_unused_keys(self.keys, (self.probes, self.versions))  # type: ignore[arg-type]
        return wm

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.key_names)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return keyed_snapshot([("probe", self.probes.table(), self.spec.left_keys),
                               ("versions", self.versions.table(), self.spec.right_keys)],
                              self.key_names, self.watermark)

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.watermark = restored_watermark(state, self.watermark)
        for name, side in (("probe", self.probes), ("versions", self.versions)):
            table = state.get(name)
            if table is None or not table.num_rows:
                continue
            side.restore(table, key_ids(self.keys, self.key_names,
                                        [table.column(k) for k in self.key_names]))
