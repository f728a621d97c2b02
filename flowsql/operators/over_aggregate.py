"""OVER aggregation on event time: ``SUM / COUNT / AVG / MIN / MAX (…) OVER (PARTITION BY …
ORDER BY <rowtime> ROWS | RANGE BETWEEN … PRECEDING AND CURRENT ROW)`` (Flink's
``RowTimeRowsBoundedPrecedingFunction`` and its RANGE / UNBOUNDED siblings).

Contract:
- :class:`OverSpec` (plain JSON): partition columns, the time column, ``rows`` (ROWS frame)
  or RANGE, ``preceding`` (rows, or milliseconds for RANGE; None = UNBOUNDED PRECEDING) and
  the calls ``(function, input column | None, output column)`` with function one of
  ``COUNT_STAR``, ``COUNT``, ``SUM``, ``AVG``, ``MIN``, ``MAX`` over numeric or temporal
  columns (MIN/MAX) — all calls share the one window, as Flink requires.
- Append-only input and output. A row waits until the watermark reaches its time, then is
  emitted once with its aggregates (the output schema: the input columns, then one column
  per call). A row at or behind the watermark when it arrives is late: counted in
  ``late_records_dropped`` and dropped.
- Frames: rows of the partition ordered by (time, arrival). ROWS p: the row and the ``p``
  rows before it. RANGE p: every row with time in ``[t - p, t]``, so rows with equal time
  (peers) get equal results. UNBOUNDED: every earlier row (and, for RANGE, every peer).
- Steps when the watermark advances (vectorized, no per-row or per-partition Python):
    1. the ready rows (time ≤ watermark) plus the kept history, sorted by (partition,
       time, arrival) with a fresh partition numbering;
    2. each row's frame as an index range ``[lo, hi]`` (group starts; ``np.searchsorted``
       over a composite (partition, time) key for RANGE);
    3. COUNT / SUM / AVG from prefix sums, MIN / MAX from a sparse table of minima, both over
       the frame ranges; UNBOUNDED frames add the partition's carried totals;
    4. only the ready rows are emitted; the history keeps what a later frame can still
       reach (RANGE: time > watermark - p; ROWS: the last ``p`` rows per partition), the
       carried totals (UNBOUNDED) grow by the fired rows.
- ORDER BY a processing-time attribute (``spec.proctime``): the operator is wrapped by
  :class:`~flowsql.operators.over_proctime.ProcessingTimeOver`, which stamps each row with
  its arrival time here and fires by processing-time timers instead of watermarks.
- ``snapshot()``: ``pending`` and ``history`` (rows with their arrival number ``$seq``),
  ``carry`` (partition columns and per-call totals, UNBOUNDED only) and ``meta``
  (watermark, next arrival number); keyed by the partition columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowsql.messages import MIN_WATERMARK, Watermark
from flowsql.operators.assigners import event_time_ms
from flowsql.operators.base import Collector, Operator
from flowsql.operators.late_data import split_late
from flowsql.operators.rank import conform, nullable
from flowsql.operators.snapshots import clock_meta, read_clock_meta
from flowsql.state.keyindex import KeyIndex

SEQ = "$seq"
OVER_FUNCTIONS = ("COUNT_STAR", "COUNT", "SUM", "AVG", "MIN", "MAX")


@dataclass(frozen=True)
class OverSpec:
    partition_keys: tuple[str, ...]
    time_column: str
    rows: bool
    preceding: int | None
    calls: tuple[tuple[str, str | None, str], ...]
    proctime: bool = False  # ORDER BY a processing-time attribute (:class:`ProcessingTimeOver`)

    def to_dict(self) -> dict[str, Any]:
        return {"partition_keys": list(self.partition_keys), "time_column": self.time_column,
                "rows": self.rows, "preceding": self.preceding,
                "calls": [list(c) for c in self.calls], "proctime": self.proctime}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OverSpec:
        return cls(tuple(d["partition_keys"]), d["time_column"], bool(d["rows"]), d["preceding"],
                   tuple((f, i, o) for f, i, o in d["calls"]), bool(d.get("proctime", False)))


def _numeric(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values as int64 / float64 with NULLs as 0, validity)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    t = column.type
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    if pa.types.is_floating(t):
        return pc.fill_null(column.cast(pa.float64()), 0.0).to_numpy(), valid
    if pa.types.is_temporal(t):
        column = column.view(pa.int64()) if pa.types.is_timestamp(t) else column.cast(pa.int64())
    return pc.fill_null(column.cast(pa.int64()), 0).to_numpy(), valid


def _prefix(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(1, dtype=x.dtype), np.cumsum(x)])


def range_extreme(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, fn: Any) -> np.ndarray:
    """``fn`` (np.minimum / np.maximum) of ``x[lo[i] .. hi[i]]`` (inclusive) for every i, by
    a sparse table: level k holds ``fn`` over runs of 2**k; a range is two overlapping runs."""
    levels = [x]
    while (1 << len(levels)) <= len(x):
        prev, half = levels[-1], 1 << (len(levels) - 1)
        levels.append(fn(prev[:-half], prev[half:]))
    k = np.floor(np.log2(hi - lo + 1)).astype(np.int64)
    out = np.empty(len(lo), dtype=x.dtype)
    for level in np.unique(k):
        m = k == level
        table = levels[level]
        out[m] = fn(table[lo[m]], table[hi[m] - (1 << level) + 1])
    return out


def call_input(fn: str, arg: str | None, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(values, validity) a call aggregates: its argument column, or for ``COUNT(*)`` zeros
    that are all valid."""
    if fn == "COUNT_STAR":
        return np.zeros(table.num_rows, np.int64), np.ones(table.num_rows, bool)
    return _numeric(table.column(arg))


def frame_aggregate(fn: str, values: np.ndarray, valid: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray, carry: dict[str, np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` over the frames ``values[lo[i] .. hi[i]]`` (inclusive; NULLs — ``~valid`` —
    skipped): (result, result is not NULL). COUNT / SUM / AVG from prefix sums, MIN / MAX
    from :func:`range_extreme`; ``carry`` (``nn``, ``sum``, ``ext`` per row) adds totals of
    rows before the frames (UNBOUNDED frames whose earlier rows are gone)."""
    count = _prefix(valid.astype(np.int64))
    nn = count[hi + 1] - count[lo]
    if carry is not None:
        nn = nn + carry["nn"]
    if fn in ("COUNT", "COUNT_STAR"):
        return nn, np.ones(len(nn), bool)
    if fn in ("SUM", "AVG"):
        s = _prefix(np.where(valid, values, 0))
        total = s[hi + 1] - s[lo]
        if carry is not None:
            total = total + carry["sum"]
        if fn == "AVG":
            total = total / np.maximum(nn, 1)
        return total, nn > 0
    big = np.finfo(np.float64).max if values.dtype.kind == "f" else np.iinfo(np.int64).max
    extreme, fill = (np.minimum, big) if fn == "MIN" else (np.maximum, -big)
    result = range_extreme(np.where(valid, values, fill), lo, hi, extreme)
    if carry is not None:
        result = extreme(result, carry["ext"])
    return result, nn > 0


def result_array(result: np.ndarray, ok: np.ndarray, fn: str, source: pa.DataType | None) -> pa.Array:
    """A call's results as Arrow (NULL where not ``ok``): COUNT int64, SUM / AVG as computed,
    MIN / MAX in the argument's type ``source``."""
    if fn in ("COUNT", "COUNT_STAR"):
        return pa.array(result, pa.int64())
    arrow = pa.array(result, mask=~ok)
    if fn in ("SUM", "AVG"):
        return arrow
    return arrow.cast(pa.int64()).view(source) if pa.types.is_timestamp(source) else arrow.cast(source)


class OverAggregateOperator(Operator):
    def __init__(self, spec: OverSpec, schema: pa.Schema, output: pa.Schema) -> None:
        self.spec = spec
        self.schema = nullable(schema)
        self.output = output
        self.pending: list[pa.Table] = []
        self.history = self._empty()
        self.watermark = MIN_WATERMARK
        self.seq = 0
        self.unbounded = spec.preceding is None
        self.keys = KeyIndex(list(spec.partition_keys) or ["$none"])
        self.carry: dict[str, np.ndarray] = {}

    def _empty(self) -> pa.Table:
        return self.schema.append(pa.field(SEQ, pa.int64())).empty_table()

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        late = event_time_ms(batch, self.spec.time_column) <= self.watermark
        batch = split_late(batch, late, self.ctx, None)
        if batch.num_rows == 0:
            return
        table = conform(pa.Table.from_batches([batch]), self.schema)
        n = table.num_rows
        self.pending.append(table.append_column(SEQ, pa.array(np.arange(self.seq, self.seq + n), pa.int64())))
        self.seq += n

    def on_watermark(self, wm: Watermark, out: Collector) -> Watermark | None:
        if wm.timestamp <= self.watermark:
            return wm
        self.watermark = wm.timestamp
        if not self.pending:
            return wm
        pending = pa.concat_tables(self.pending).combine_chunks()
        ready = event_time_ms(pending, self.spec.time_column) <= self.watermark
        if not ready.any():
            self.pending = [pending]
            return wm
        rest = pending.filter(pa.array(~ready))
        self.pending = [rest] if rest.num_rows else []
        result = self._fire(pending.filter(pa.array(ready)))
        for b in result.combine_chunks().to_batches():
            self.ctx.metrics.records_out += b.num_rows
            out.emit(b)
        return wm

    # -- computing -----------------------------------------------------------------------
    def _groups(self, table: pa.Table) -> np.ndarray:
        if not self.spec.partition_keys:
            return np.zeros(table.num_rows, dtype=np.int64)
        keys = table.select(list(self.spec.partition_keys))
        return self.keys.lookup(keys) if self.unbounded else KeyIndex(keys.column_names).lookup(keys)

    def _fire(self, ready: pa.Table) -> pa.Table:
        spec = self.spec
        # 1. ready rows and history, sorted by (partition, time, arrival)
        table = pa.concat_tables([self.history, ready]).combine_chunks()
        new = np.concatenate([np.zeros(self.history.num_rows, bool), np.ones(ready.num_rows, bool)])
        gid = self._groups(table)
        ts = event_time_ms(table, spec.time_column)
        order = np.lexsort((table.column(SEQ).to_numpy(), ts, gid))
        table, new, gid, ts = table.take(pa.array(order)), new[order], gid[order], ts[order]
        n = table.num_rows
        # 2. frames [lo, hi]
        idx = np.arange(n)
        start = np.ones(n, dtype=bool)
        start[1:] = gid[1:] != gid[:-1]
        first = np.maximum.accumulate(np.where(start, idx, 0))
        if spec.rows:
            hi = idx
            lo = first if self.unbounded else np.maximum(first, idx - spec.preceding)
        else:
            width = int(ts.max() - ts.min()) + (spec.preceding or 0) + 2
            key = (np.cumsum(start) - 1) * width + (ts - ts.min())
            hi = np.searchsorted(key, key, "right") - 1
            lo = first if self.unbounded else np.searchsorted(key, key - spec.preceding, "left")
        # 3. the calls
        columns = {}
        for i, (fn, arg, name) in enumerate(spec.calls):
            columns[name] = self._call(i, fn, arg, table, lo, hi, gid, new)
        # 4. history / carried totals
        if self.unbounded:
            self._carry_forward(table, gid, first, hi)
        else:
            self.history = table.filter(pa.array(self._keep(gid, ts, start)))
        emitted = table.filter(pa.array(new)).select(self.schema.names)
        for f in self.output:
            if f.name in columns:
                value = columns[f.name]
                emitted = emitted.append_column(f.name, value.filter(pa.array(new)).cast(f.type))
        return emitted

    def _keep(self, gid: np.ndarray, ts: np.ndarray, start: np.ndarray) -> np.ndarray:
        if not self.spec.rows:
            return ts > self.watermark - self.spec.preceding
        n = len(gid)
        end = np.ones(n, dtype=bool)
        end[:-1] = start[1:]
        last = np.minimum.accumulate(np.where(end, np.arange(n), n)[::-1])[::-1]
        return last - np.arange(n) < self.spec.preceding

    def _call(self, i: int, fn: str, arg: str | None, table: pa.Table, lo: np.ndarray,
              hi: np.ndarray, gid: np.ndarray, new: np.ndarray) -> pa.Array:
        values, valid = call_input(fn, arg, table)
        carry = self._carried(i, gid) if self.unbounded else None
        result, ok = frame_aggregate(fn, values, valid, lo, hi, carry)
        return result_array(result, ok, fn, table.schema.field(arg).type if arg else None)

    # -- UNBOUNDED: totals carried per partition --------------------------------------------
    def _carried(self, i: int, gid: np.ndarray) -> dict[str, np.ndarray] | None:
        size = int(gid.max()) + 1 if len(gid) else 0
        out = {}
        for part in ("nn", "sum", "ext"):
            name = f"{part}{i}"
            have = self.carry.get(name)
            if have is None:
                return None
            if len(have) < size:
                grown = np.full(size - len(have), self._fill(i, part, have.dtype), dtype=have.dtype)
                have = self.carry[name] = np.concatenate([have, grown])
            out[part] = have[gid]
        return out

    def _fill(self, i: int, part: str, dtype: np.dtype) -> Any:
        if part != "ext":
            return 0
        fn = self.spec.calls[i][0]
        big = np.finfo(np.float64).max if dtype.kind == "f" else np.iinfo(np.int64).max
        return big if fn == "MIN" else -big

    def _carry_forward(self, table: pa.Table, gid: np.ndarray, first: np.ndarray, hi: np.ndarray) -> None:
        """Totals of each partition's fired rows, added to the carried ones."""
        n = len(gid)
        end = np.ones(n, dtype=bool)
        end[:-1] = gid[1:] != gid[:-1]
        last = np.flatnonzero(end)
        groups = gid[last]
        size = int(gid.max()) + 1
        for i, (fn, arg, _) in enumerate(self.spec.calls):
            values, valid = call_input(fn, arg, table)
            for part in ("nn", "sum", "ext"):
                name = f"{part}{i}"
                if name not in self.carry:
                    dtype = np.int64 if part == "nn" else values.dtype
                    self.carry[name] = np.full(size, self._fill(i, part, np.dtype(dtype)), dtype=dtype)
            self._carried(i, gid)  # grows the arrays
            lo = first[last]
            count = _prefix(valid.astype(np.int64))
            self.carry[f"nn{i}"][groups] += count[last + 1] - count[lo]
            s = _prefix(np.where(valid, values, 0))
            self.carry[f"sum{i}"][groups] += s[last + 1] - s[lo]
            extreme = np.minimum if fn == "MIN" else np.maximum
            fill = self._fill(i, "ext", values.dtype)
            ext = range_extreme(np.where(valid, values, fill), lo, last, extreme)
            self.carry[f"ext{i}"][groups] = extreme(self.carry[f"ext{i}"][groups], ext)

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.spec.partition_keys)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        pending = pa.concat_tables(self.pending) if self.pending else self._empty()
        snap = {"pending": pending, "history": self.history,
                "meta": clock_meta(self.watermark, self.seq)}
        if self.carry:
            size = len(next(iter(self.carry.values())))
            keyed = bool(self.spec.partition_keys)
            ids = np.arange(min(size, self.keys.size) if keyed else 1)
            columns = {f"${name}": pa.array(values[ids].copy())
                       for name, values in sorted(self.carry.items())}
            carry = pa.table(columns)
            if keyed:
                keys = self.keys.keys(ids)
                carry = pa.table({**{c: keys.column(c) for c in keys.column_names}, **columns})
            snap["carry"] = carry
        return snap

    def restore(self, state: dict[str, pa.Table]) -> None:
        self.watermark, self.seq = read_clock_meta(state, (self.watermark, self.seq))
        stored = self._empty().schema
        pending = state.get("pending")
        if pending is not None and pending.num_rows:
            self.pending = [conform(pending, stored)]
        history = state.get("history")
        if history is not None:
            self.history = conform(history, stored)
        carry = state.get("carry")
        if carry is not None and carry.num_rows:
            keys = list(self.spec.partition_keys)
            ids = self.keys.lookup(carry.select(keys)) if keys else np.zeros(carry.num_rows, np.int64)
            size = int(ids.max()) + 1
            for c in carry.column_names:
                if c.startswith("$"):
                    values = carry.column(c).to_numpy()
                    full = np.zeros(size, dtype=values.dtype)
                    full[ids] = values
                    self.carry[c[1:]] = full


def build_over_aggregate(params: dict[str, Any], env: Any) -> OverAggregateOperator:
    """Registry builder of ``over-aggregate``: ``{"spec": OverSpec.to_dict(), "input": [[name,
    type], ...], "output": [[name, type], ...]}``."""
    from flowsql.operators.calc import schema_from_columns

    schema = schema_from_columns([(n, t) for n, t in params["input"]])[0]
    output = schema_from_columns([(n, t) for n, t in params["output"]])[0]
    spec = OverSpec.from_dict(params["spec"])
    op = OverAggregateOperator(spec, schema, output)
    if spec.proctime:
        from flowsql.operators.over_proctime import ProcessingTimeOver

        return ProcessingTimeOver(op)
    return op
