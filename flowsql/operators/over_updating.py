"""OVER aggregation over an *updating* input, as a materialized view: ``SUM / COUNT / AVG /
MIN / MAX (…) OVER (PARTITION BY … ORDER BY <any columns> ROWS BETWEEN N | UNBOUNDED
PRECEDING AND CURRENT ROW)`` (or ``RANGE BETWEEN UNBOUNDED | p PRECEDING AND CURRENT ROW``)
over a changelog (+I / -U / +U / -D). Flink rejects this ("OverAggregate doesn't support
consuming update changes"); here the output changelog, applied, is the batch answer of the
same query over the input as it stands.

Contract:
- :class:`UpdatingOverSpec` (plain JSON): partition columns, sort keys ``(column,
  descending, nulls_first)``, ``preceding`` (rows; None = UNBOUNDED PRECEDING) and the calls
  ``(function, input column | None, output column)`` as in
  :class:`~flowsql.operators.over_aggregate.OverSpec`; ``rows`` False is a RANGE frame: a
  row's frame ends with its last *peer* (the last row equal to it on every sort key, so peers
  get equal results) and starts at the partition's first row (UNBOUNDED) or, for RANGE
  ``p``, at the first row whose one sort key — an integer, or a timestamp in milliseconds —
  is within ``p`` of the row's (before it in the order); a NULL key's frame is its peers.
- Input: batches with the input columns and, on an updating input, ``$row_kind`` (+I/+U add
  a row, -U/-D retract one). Output: the input columns, one column per call, ``$row_kind``.
- Row order within a partition: the sort keys, then the row's identity (identical rows are
  one distinct row with a multiplicity, numbered in first-seen order; its copies are
  adjacent). Rows tied on every sort key are therefore ordered by when they were first seen,
  which the batch answer does not fix either: only tie-free orders (or tie-insensitive
  results) are comparable across engines.
- Every live row copy (a *slot*: distinct row id, copy number) has the result last emitted
  for it, kept in the operator. Per batch (vectorized; no per-row or per-partition Python):
    1. net change per distinct row (identical rows with opposite kinds cancel); the
       partitions it touches;
    2. the touched partitions' slots before and after the change, merged into one sequence
       sorted by (partition, sort keys, row id, copy); a slot is *changed* when it is only
       before (retracted) or only after (inserted);
    3. the *affected* slots: after the change, at or behind a changed slot of the same
       partition, and — for ``N PRECEDING`` — no more than ``N`` rows behind the nearest
       one; RANGE: a changed slot within the frame's key range (the same range before and
       after); no other slot's frame changed;
    4. the frames of the after sequence (:meth:`UpdatingOverOperator._frames`; bounded RANGE
       by ``np.searchsorted`` over a (partition, key code) composite) and the calls over them
       (prefix sums, a sparse table for MIN/MAX;
       :func:`~flowsql.operators.over_aggregate.frame_aggregate`), kept for the affected
       slots only;
    5. emitted, retractions first: -D for a retracted slot and -U for an affected slot whose
       result changed (both with the result emitted earlier), then +U with the new result
       and +I for an inserted slot. Results are compared exactly (NaN equal to NaN).
- ``snapshot()``: one table ``rows`` — the distinct rows, ``$cnt`` / ``$assoc`` /
  ``$touched`` (:class:`~flowsql.operators.join_state.JoinSide`) and one list column
  ``$res<i>`` per call (the emitted result of each copy) — keyed by the partition columns, so
  it rescales by key group.
- Not here: state TTL (``table.exec.state.ttl`` is not applied: rows stay until retracted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import Collector, Operator
from flowsql.operators.join import _signs
from flowsql.operators.join_state import ASSOC, CNT, TOUCHED, JoinSide
from flowsql.operators.over_aggregate import (
    _numeric,
    _prefix,
    call_input,
    frame_aggregate,
    result_array,
)
from flowsql.operators.rank import conform, nullable, row_numbers
from flowsql.state.growth import grown
from flowsql.state.keyindex import KeyIndex

Key = tuple[np.ndarray, np.ndarray]  # (values, valid) of a sort key
COPY_BITS = 24  # a slot code is row id << COPY_BITS | copy number
RESULT = "$res"


@dataclass(frozen=True)
class UpdatingOverSpec:
    partition_keys: tuple[str, ...]
    order: tuple[tuple[str, bool, bool], ...]  # (column, descending, nulls_first)
    preceding: int | None  # ROWS; None = UNBOUNDED PRECEDING
    calls: tuple[tuple[str, str | None, str], ...]
    rows: bool = True  # False: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW

    def to_dict(self) -> dict[str, Any]:
        return {"partition_keys": list(self.partition_keys), "order": [list(o) for o in self.order],
                "preceding": self.preceding, "calls": [list(c) for c in self.calls],
                "rows": self.rows}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UpdatingOverSpec:
        return cls(tuple(d["partition_keys"]), tuple((c, bool(s), bool(n)) for c, s, n in d["order"]),
                   d["preceding"], tuple((f, i, o) for f, i, o in d["calls"]), bool(d.get("rows", True)))


def _copies(ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each id repeated ``counts`` times, and the copy number (0, 1, …) of each repetition."""
    rid = np.repeat(ids, counts)
    starts = np.cumsum(counts) - counts
    return rid, np.arange(len(rid)) - np.repeat(starts, counts)


def _codes(rid: np.ndarray, copy: np.ndarray) -> pa.Table:
    if len(copy) and int(copy.max()) >= 1 << COPY_BITS:
        raise RuntimeError(f"OVER aggregation: more than {1 << COPY_BITS} identical rows")
    return pa.table({"$slot": (rid << COPY_BITS) | copy})


def _group_end(group: np.ndarray) -> np.ndarray:
    """For each position of a sorted group-number array, the last position of its group."""
    n = len(group)
    end = np.ones(n, dtype=bool)
    end[:-1] = group[1:] != group[:-1]
    return np.minimum.accumulate(np.where(end, np.arange(n), n)[::-1])[::-1]


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind == "f":
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return a == b


class UpdatingOverOperator(Operator):
    def __init__(self, spec: UpdatingOverSpec, schema: pa.Schema, output: pa.Schema) -> None:
        self.spec = spec
        self.schema = schema = nullable(schema)
        self.output = output
        self.side = JoinSide(schema)
        self.keys = KeyIndex(list(spec.partition_keys) or ["$none"])
        self.slots = KeyIndex(["$slot"])
        self.slots_live = 0
        self.types = [schema.field(a).type if a else None for _, a, _ in spec.calls]
        self.values = [np.zeros(0, self._dtype(f, t)) for (f, _, _), t in zip(spec.calls, self.types, strict=True)]
        self.ok = [np.zeros(0, bool) for _ in spec.calls]

    @staticmethod
    def _dtype(fn: str, source: pa.DataType | None) -> type:
        if fn in ("COUNT", "COUNT_STAR"):
            return np.int64
        if fn == "AVG" or pa.types.is_floating(source):
            return np.float64
        return np.int64

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        table, sign = _signs(batch)
        side = self.side
        # 1. net change per distinct row; the touched partitions
        uniq, delta = side.net_change(conform(table, self.schema), sign)
        if not len(uniq):
            return
        pids = self._partition_ids(side.values(uniq))
        before_u = side.cnt[uniq].copy()
        side.add(uniq, delta, pids, 0.0)
        after_u = side.cnt[uniq]
        # 2. the touched partitions' slots before and after, in one sorted sequence
        seen = (before_u > 0) | (after_u > 0)
        rows = np.union1d(side.probe(np.unique(pids)), uniq[seen & (after_u == 0)])
        new_cnt = side.cnt[rows]
        old_cnt = new_cnt.copy()
        old_cnt[np.searchsorted(rows, uniq[seen])] = before_u[seen]
        rid, copy = _copies(rows, np.maximum(old_cnt, new_cnt))
        position = np.repeat(np.arange(len(rows)), np.maximum(old_cnt, new_cnt))
        inb, ina = copy < old_cnt[position], copy < new_cnt[position]
        sort, peer, key = self._sorted(rid)
        rid, copy, inb, ina = rid[sort], copy[sort], inb[sort], ina[sort]
        gid = side.key[rid]
        # 3. the affected slots
        affected = self._affected(gid, inb, ina, peer, key)
        # 4. the calls over the after sequence, for the affected slots
        after = np.flatnonzero(ina)
        pick = affected[after]
        results = self._compute(rid[after], pick, *self._frames(
            gid[after], None if peer is None else peer[after],
            None if key is None else (key[0][after], key[1][after])))
        # 5. the changes
        self._emit(rid, copy, inb, ina, after[pick], results, out)
        self._maybe_compact()

    def _partition_ids(self, rows: pa.Table) -> np.ndarray:
        if not self.spec.partition_keys:
            return np.zeros(rows.num_rows, dtype=np.int64)
        return self.keys.lookup(rows.select(list(self.spec.partition_keys)))

    def _sorted(self, rid: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, Key | None]:
        """Positions of the slots ``rid`` (given in (row id, copy) order) sorted by
        (partition, sort keys, row id, copy); for RANGE frames also each sorted slot's peer
        group number (slots equal on the partition and every sort key share one) and, for a
        bounded RANGE, the sort key as int64 (negated when DESC, so it ascends) and valid."""
        columns = [c for c, _, _ in self.spec.order]
        values = self.side.values(rid).select(columns)
        groups = self.side.key[rid]
        positions, _ = row_numbers(groups, values, self.spec.order, np.arange(len(rid)))
        if self.spec.rows:
            return positions, None, None
        new = np.zeros(len(rid), dtype=bool)
        new[:1] = True
        for key in [groups, *(pc.rank(values.column(c), tiebreaker="dense").to_numpy() for c in columns)]:
            ordered = np.asarray(key)[positions]
            new[1:] |= ordered[1:] != ordered[:-1]
        if self.spec.preceding is None:
            return positions, np.cumsum(new) - 1, None
        column = values.column(0)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("ms"))
        number, valid = _numeric(column)
        sign = -1 if self.spec.order[0][1] else 1
        return positions, np.cumsum(new) - 1, (sign * number[positions], valid[positions])

    def _frames(self, gid: np.ndarray, peer: np.ndarray | None, key: Key | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Each slot's frame ``[lo, hi]`` (inclusive positions) in a sorted sequence of slots
        (partition ids ``gid``; RANGE: peer group numbers ``peer`` and, when bounded, the
        ascending sort key ``key``). RANGE p: the slots of the partition whose key lies in
        ``[key - p, key]``, and its peers; a NULL key's frame is its peers (the NULLs)."""
        n = len(gid)
        idx = np.arange(n)
        start = np.ones(n, dtype=bool)
        start[1:] = gid[1:] != gid[:-1]
        first = np.maximum.accumulate(np.where(start, idx, 0))
        p = self.spec.preceding
        if self.spec.rows:
            return (first if p is None else np.maximum(first, idx - p)), idx
        hi = _group_end(peer)
        if p is None:
            return first, hi
        values, valid = key
        pstart = np.ones(n, dtype=bool)
        pstart[1:] = peer[1:] != peer[:-1]
        lo = np.maximum.accumulate(np.where(pstart, idx, 0))
        if valid.any():
            known = np.unique(np.concatenate([values[valid], values[valid] - p]))
            width = len(known) + 2
            null_code = 0 if self.spec.order[0][2] else len(known) + 1
            comp = gid * width + np.where(valid, np.searchsorted(known, values) + 1, null_code)
            target = gid * width + np.searchsorted(known, values - p) + 1
            lo[valid] = np.searchsorted(comp, target[valid], "left")
        return lo, hi

    def _affected(self, gid: np.ndarray, inb: np.ndarray, ina: np.ndarray,
                  peer: np.ndarray | None, key: Key | None) -> np.ndarray:
        """Slots after the change whose frame may hold a changed slot (see the contract)."""
        changed = inb != ina
        if not self.spec.rows:  # a RANGE frame is set by key values: the same before and after
            lo, hi = self._frames(gid, peer, key)
            count = _prefix(changed.astype(np.int64))
            return ina & (count[hi + 1] - count[lo] > 0)
        n = len(gid)
        idx = np.arange(n)
        start = np.ones(n, dtype=bool)
        start[1:] = gid[1:] != gid[:-1]
        first = np.maximum.accumulate(np.where(start, idx, 0))
        last = np.maximum.accumulate(np.where(changed, idx, -1))
        behind = ina & (last >= first)
        if self.spec.preceding is None:
            return behind
        # rows between the last change and the slot are unchanged: as many before as after
        a = np.cumsum(ina)
        return behind & (a - a[np.maximum(last, 0)] <= self.spec.preceding)

    def _compute(self, rid: np.ndarray, pick: np.ndarray, lo: np.ndarray, hi: np.ndarray
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each call's (results, not NULL) over the after sequence ``rid`` with frames
        ``[lo, hi]``, for the positions ``pick``."""
        n = len(rid)
        args = sorted({a for _, a, _ in self.spec.calls if a})
        table = self.side.values(rid).select(args) if n else None
        out = []
        for fn, arg, _ in self.spec.calls:
            if n:
                values, valid = call_input(fn, arg, table)
                result, ok = frame_aggregate(fn, values, valid, lo, hi)
            else:
                result, ok = np.zeros(0), np.zeros(0, bool)
            out.append((result[pick], ok[pick]))
        return out

    def _emit(self, rid: np.ndarray, copy: np.ndarray, inb: np.ndarray, ina: np.ndarray,
              affected: np.ndarray, results: list[tuple[np.ndarray, np.ndarray]], out: Collector) -> None:
        """Steps 5 of the contract; the new results become the slots' stored ones."""
        gone = np.flatnonzero(inb & ~ina)
        gone_slots = self.slots.lookup(_codes(rid[gone], copy[gone]), insert=False)
        size = self.slots.size
        slots = self.slots.lookup(_codes(rid[affected], copy[affected]))
        if self.slots.size > size:
            self._grow()
        existed = inb[affected]
        changed = ~existed
        old_slots = np.where(existed, slots, 0)
        for (result, ok), values, valid in zip(results, self.values, self.ok, strict=True):
            differ = (ok != valid[old_slots]) | (ok & ~_same(result.astype(values.dtype), values[old_slots]))
            changed |= existed & differ
        updated = existed & changed
        self.slots_live += len(affected) - int(existed.sum()) - len(gone)
        # retractions (with the stored results), then insertions (with the new ones)
        r_rows = np.concatenate([rid[gone], rid[affected[updated]]])
        r_slots = np.concatenate([gone_slots, slots[updated]])
        r_kind = np.concatenate([np.full(len(gone), RowKind.DELETE), np.full(int(updated.sum()), RowKind.UPDATE_BEFORE)])
        i_rows = rid[affected[changed]]
        i_kind = np.where(existed[changed], RowKind.UPDATE_AFTER, RowKind.INSERT)
        columns: list[list[pa.Array]] = []
        for i, ((fn, _, _), (result, ok)) in enumerate(zip(self.spec.calls, results, strict=True)):
            old = result_array(self.values[i][r_slots], self.ok[i][r_slots], fn, self.types[i])
            new = result_array(result[changed], ok[changed], fn, self.types[i])
            columns.append([old, new])
            self.values[i][slots] = result
            self.ok[i][slots] = ok
        if not len(r_rows) and not len(i_rows):
            return
        values = self.side.values(np.concatenate([r_rows, i_rows]))
        for f, (old, new) in zip(list(self.output)[len(self.schema):], columns, strict=True):
            values = values.append_column(f.name, pa.concat_arrays([old.cast(f.type), new.cast(f.type)]))
        kinds = np.concatenate([r_kind, i_kind]).astype(np.int8)
        values = values.append_column(ROW_KIND, pa.array(kinds, pa.int8()))
        for b in values.combine_chunks().to_batches():
            self.ctx.metrics.records_out += b.num_rows
            out.emit(b)

    def _grow(self) -> None:
        n = self.slots.size
        self.values = [grown(v, n) for v in self.values]
        self.ok = [grown(v, n, False) for v in self.ok]

    # -- housekeeping ----------------------------------------------------------------------
    def _maybe_compact(self) -> None:
        """Renumber the slots when the row ids are renumbered (``JoinSide.compact``) or when
        dead slots outnumber the live ones."""
        side = self.side
        keep = side.cnt[: side.size] > 0
        live = np.flatnonzero(keep)
        if side.compact():
            self._reslot(live, np.arange(len(live)))
        elif self.slots.size > 2 * self.slots_live + 4096:
            self._reslot(live, live)

    def _reslot(self, old_ids: np.ndarray, new_ids: np.ndarray) -> None:
        cnt = self.side.cnt[new_ids]
        rid, copy = _copies(old_ids, cnt)
        old = self.slots.lookup(_codes(rid, copy), insert=False)
        self.slots = KeyIndex(["$slot"])
        self.slots.lookup(_codes(np.repeat(new_ids, cnt), copy))  # ids 0 .. n-1, in order
        self.values = [v[old] for v in self.values]
        self.ok = [v[old] for v in self.ok]
        self.slots_live = len(old)

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.spec.partition_keys)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        table = self.side.table()
        live = self.side.live_ids()
        cnt = self.side.cnt[live]
        slots = self.slots.lookup(_codes(*_copies(live, cnt)), insert=False)
        offsets = pa.array(np.concatenate([[0], np.cumsum(cnt)]), pa.int32())
        for i in range(len(self.spec.calls)):
            flat = pa.array(self.values[i][slots], mask=~self.ok[i][slots])
            table = table.append_column(f"{RESULT}{i}", pa.ListArray.from_arrays(offsets, flat))
        return {"rows": table}

    def restore(self, state: dict[str, pa.Table]) -> None:
        table = state.get("rows")
        if table is None or not table.num_rows:
            return
        rows = conform(table, self.schema)
        kept = [*self.schema.names, CNT, ASSOC, TOUCHED]  # the JoinSide part of the table
        self.side.restore(pa.table([rows.column(c) if c in self.schema.names else table.column(c)
                                    for c in kept], names=kept), self._partition_ids(rows))
        ids = self.side.row_ids(rows)
        slots = self.slots.lookup(_codes(*_copies(ids, table.column(CNT).to_numpy())))
        self._grow()
        self.slots_live = self.slots.size
        for i in range(len(self.spec.calls)):
            flat = pc.list_flatten(table.column(f"{RESULT}{i}").combine_chunks())
            self.ok[i][slots] = flat.is_valid().to_numpy(zero_copy_only=False)
            self.values[i][slots] = pc.fill_null(flat, 0).to_numpy().astype(self.values[i].dtype)


def build_updating_over(params: dict[str, Any], env: Any) -> UpdatingOverOperator:
    """Registry builder of ``over-aggregate-updating``: ``{"spec": UpdatingOverSpec.to_dict(),
    "input": [[name, type], ...], "output": [[name, type], ...]}``."""
    from flowsql.operators.calc import schema_from_columns

    schema = schema_from_columns([(n, t) for n, t in params["input"]])[0]
    output = schema_from_columns([(n, t) for n, t in params["output"]])[0]
    return UpdatingOverOperator(UpdatingOverSpec.from_dict(params["spec"]), schema, output)
