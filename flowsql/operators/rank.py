"""Streaming Top-N and deduplication: ``ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)``
filtered to a rank range (Flink's ``AppendOnlyTopNFunction`` / ``RetractableTopNFunction``
and its row-time ``Deduplicate``), emitting the changelog of the top-N set.

Contract:
- :class:`RankSpec` (plain JSON) names the partition columns, the sort keys ``(column,
  descending, nulls_first)``, the rank range ``rank_start ≤ rn ≤ rank_end``, whether the
  row number is output (``rank_column``, BIGINT, after the input columns) and the tie
  order: rows equal on every sort key are ranked by arrival (first-seen first), or
  latest first with ``keep_last`` (deduplication keeping the last row, as Flink's
  ``keepLastRow``).
- Input: batches with the input columns and, on an updating input, ``$row_kind`` (+I/+U add
  a row, -U/-D retract one). Output: the input columns, the row number when requested, and
  ``$row_kind``. The emitted changelog, applied in order, is always the current top-N set:
  per batch, rows leaving the set (or changing their row number) are retracted before the
  rows entering it. With the row number output, a retraction and an insertion at the same
  (partition, row number) are -U/+U (the rank shifted to another row), others -D/+I;
  without it (Flink's "no rank number" optimisation) rows only enter (+I) and leave (-D),
  so a shift of ranks inside the set emits nothing.
- Steps per batch (vectorized, per partition only through numpy group arithmetic):
    1. net change per distinct row (identical rows with opposite kinds cancel);
    2. the partitions the batch touches, and their current top-N (rows with multiplicity,
       ranked by :func:`row_numbers`);
    3. the change applied to the state; the new top-N of those partitions;
    4. on an append-only input, rows ranked beyond ``rank_end`` are dropped from the state
       (they can never come back); an updating input keeps every row (a retraction may
       promote one);
    5. the difference of the two top-N sets emitted.
- State (:class:`~flowsql.operators.join_state.JoinSide`): the distinct rows with their
  multiplicity, found by partition id. ``snapshot()``: one table ``rows`` (the input
  columns, ``$cnt``, ``$assoc``, ``$touched``), keyed by the partition columns
  (``state_keys``), so it rescales by key group.
- State TTL (``table.exec.state.ttl``; 0 keeps state forever), as in Flink: a row not
  written for longer than the TTL is dropped silently (no output), so it no longer ranks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.group_aggregate import config_ttl
from flowsql.operators.join import _signs
from flowsql.operators.join_state import ASSOC, CNT, TOUCHED, JoinSide
from flowsql.state.keyindex import KeyIndex


@dataclass(frozen=True)
class RankSpec:
    partition_keys: tuple[str, ...]
    order: tuple[tuple[str, bool, bool], ...]  # (column, descending, nulls_first)
    rank_start: int = 1
    rank_end: int = 1
    rank_column: str | None = None  # output the row number under this name
    keep_last: bool = False  # ties: the latest arrival ranks first

    def to_dict(self) -> dict[str, Any]:
        return {"partition_keys": list(self.partition_keys),
                "order": [list(o) for o in self.order],
                "rank_start": self.rank_start, "rank_end": self.rank_end,
                "rank_column": self.rank_column, "keep_last": self.keep_last}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RankSpec:
        return cls(tuple(d["partition_keys"]), tuple((c, bool(s), bool(n)) for c, s, n in d["order"]),
                   int(d["rank_start"]), int(d["rank_end"]), d.get("rank_column"),
                   bool(d.get("keep_last", False)))


def nullable(schema: pa.Schema) -> pa.Schema:
    """``schema`` with every field nullable: the planner's NOT NULL is a type fact, while
    batches may or may not carry the flag, and tables must concatenate either way."""
    return pa.schema([f.with_nullable(True) for f in schema])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table``'s columns of ``schema``, in its order, under its (nullable) fields."""
    return pa.Table.from_arrays([table.column(n) for n in schema.names], schema=schema)


def row_numbers(groups: np.ndarray, table: pa.Table, order: tuple[tuple[str, bool, bool], ...],
                tie: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort rows by (group, sort keys, ``tie``) and number them within each group.

    Returns ``(positions, rn)``: the row indexes in sorted order and each one's 1-based
    ROW_NUMBER. Each sort key becomes a dense integer code (``pyarrow.compute.rank``; NULLs
    get -1 or the highest code; NaN is greater than any number, as in Flink and DuckDB), so
    the whole sort is one ``np.lexsort``."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys: list[np.ndarray] = [tie]
    for column, desc, nulls_first in reversed(order):
        values = table.column(column)
        codes = pc.rank(values, sort_keys="descending" if desc else "ascending",
                        tiebreaker="dense").to_numpy().astype(np.int64)  # NULLs last
        if desc and pa.types.is_floating(values.type):  # NaN is the greatest value
            codes[pc.fill_null(pc.is_nan(values), False).to_numpy(zero_copy_only=False)] = 0
        if nulls_first and values.null_count:
            codes[pc.is_null(values).to_numpy(zero_copy_only=False)] = -1
        keys.append(codes)
    keys.append(groups)
    positions = np.lexsort(keys)
    g = groups[positions]
    start = np.ones(n, dtype=bool)
    start[1:] = g[1:] != g[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return positions, np.arange(n) - first + 1


class RankOperator(Operator):
    def __init__(self, spec: RankSpec, schema: pa.Schema, *, append_only: bool) -> None:
        self.spec = spec
        self.schema = schema = nullable(schema)
        self.append_only = append_only
        self.side = JoinSide(schema, append_only=append_only)
        self.keys = KeyIndex(list(spec.partition_keys) or ["$none"])
        self.width = spec.rank_end + 1
        self.ttl_ms = 0
        self.clock = time.time  # processing time, for the state TTL (tests replace it)
        self._next_sweep = 0.0

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        self.ttl_ms = config_ttl(ctx)

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        if self.ttl_ms:
            self._expire()
        table, sign = _signs(batch)
        table = conform(table, self.schema)
        side = self.side
        now = self.clock() * 1000.0
        # 1. net change per distinct row
        uniq, delta = side.net_change(table, sign)
        if not len(uniq):
            return
        pids = self._partition_ids(side.values(uniq))
        # 2. the touched partitions' top-N before
        touched = np.unique(pids)
        before = side.probe(touched) if side.live else touched[:0]
        before_ids, before_rn = self._top(before)
        # 3. apply, rank again (an append-only input only adds rows, with ids above every
        # stored one: the touched partitions' rows are the earlier ones and the new ones)
        side.add(uniq, delta, pids, now)
        live = np.concatenate([before, uniq]) if self.append_only else side.probe(touched)
        after_ids, after_rn = self._top(live)
        # 4. an append-only input never brings back a row ranked beyond rank_end
        if self.append_only:
            self._prune(live, after_ids)
        # 5. the difference
        self._emit(before_ids, before_rn, after_ids, after_rn, out)
        side.compact()

    def _expire(self) -> None:
        """Drop rows not written for longer than ``table.exec.state.ttl``, silently (as
        Flink's state TTL: no retraction is emitted); swept at most every ttl / 10."""
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + min(self.ttl_ms / 10_000.0, 60.0)
        live = self.side.live_ids()
        self.side.drop(live[self.side.touched[live] < now * 1000.0 - self.ttl_ms])

    def _partition_ids(self, rows: pa.Table) -> np.ndarray:
        if not self.spec.partition_keys:
            return np.zeros(rows.num_rows, dtype=np.int64)
        return self.keys.lookup(rows.select(list(self.spec.partition_keys)))

    def _top(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row ids (one entry per copy) ranked ≤ rank_end among ``ids``, and their ROW_NUMBER."""
        side = self.side
        copies = np.repeat(ids, side.cnt[ids])
        if not len(copies):
            return copies, copies
        columns = [c for c, _, _ in self.spec.order]
        values = side.values(copies).select(columns)
        tie = -copies if self.spec.keep_last else copies
        positions, rn = row_numbers(side.key[copies], values, self.spec.order, tie)
        keep = rn <= self.spec.rank_end
        return copies[positions][keep], rn[keep]

    def _prune(self, live: np.ndarray, kept: np.ndarray) -> None:
        """Drop the rows of ``live`` (the touched partitions' rows: sorted, unique) that are
        not among ``kept`` (the top rows, one entry per copy)."""
        side = self.side
        count = np.zeros(len(live), dtype=np.int64)
        if len(kept):
            where = np.searchsorted(live, kept)  # probe returns sorted unique ids
            count = np.bincount(where, minlength=len(live)).astype(np.int64)
        excess = count - side.cnt[live]
        drop = excess < 0
        if drop.any():
            gone = live[drop]
            side.add(gone, excess[drop], side.key[gone], side.touched[gone])

    def _emit(self, before_ids: np.ndarray, before_rn: np.ndarray, after_ids: np.ndarray,
              after_rn: np.ndarray, out: Collector) -> None:
        start = self.spec.rank_start
        numbered = self.spec.rank_column is not None
        w = self.width
        old_sel, new_sel = before_rn >= start, after_rn >= start
        old = before_ids[old_sel] * w + (before_rn[old_sel] if numbered else 0)
        new = after_ids[new_sel] * w + (after_rn[new_sel] if numbered else 0)
        codes, inverse = np.unique(np.concatenate([old, new]), return_inverse=True)
        weights = np.concatenate([-np.ones(len(old)), np.ones(len(new))])
        net = np.bincount(inverse, weights=weights, minlength=len(codes)).astype(np.int64)
        retract = np.repeat(codes[net < 0], -net[net < 0])
        insert = np.repeat(codes[net > 0], net[net > 0])
        if not len(retract) and not len(insert):
            return
        key = self.side.key
        if numbered:
            slot_r = key[retract // w] * w + retract % w
            slot_i = key[insert // w] * w + insert % w
            kinds_r = np.where(np.isin(slot_r, slot_i), RowKind.UPDATE_BEFORE, RowKind.DELETE)
            kinds_i = np.where(np.isin(slot_i, slot_r), RowKind.UPDATE_AFTER, RowKind.INSERT)
        else:
            kinds_r = np.full(len(retract), RowKind.DELETE)
            kinds_i = np.full(len(insert), RowKind.INSERT)
        codes = np.concatenate([retract, insert])
        rows = self.side.values(codes // w)
        if numbered:
            rows = rows.append_column(self.spec.rank_column, pa.array(codes % w, pa.int64()))
        kinds = np.concatenate([kinds_r, kinds_i]).astype(np.int8)
        rows = rows.append_column(ROW_KIND, pa.array(kinds, pa.int8()))
        for b in rows.combine_chunks().to_batches():
            self.ctx.metrics.records_out += b.num_rows
            out.emit(b)

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.spec.partition_keys)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        return {"rows": self.side.table()}

    def restore(self, state: dict[str, pa.Table]) -> None:
        table = state.get("rows")
        if table is None or not table.num_rows:
            return
        rows = conform(table, self.schema)
        self.side.restore(rows.append_column(CNT, table.column(CNT)).append_column(
            ASSOC, table.column(ASSOC)).append_column(TOUCHED, table.column(TOUCHED)),
            self._partition_ids(rows))


def build_rank(params: dict[str, Any], env: Any) -> RankOperator:
    """Registry builder of ``rank``: ``{"spec": RankSpec.to_dict(), "input": [[name, type],
    ...], "append_only": bool}``."""
    from flowsql.operators.calc import schema_from_columns

    schema = schema_from_columns([(n, t) for n, t in params["input"]])[0]
    return RankOperator(RankSpec.from_dict(params["spec"]), schema,
                        append_only=bool(params.get("append_only")))
