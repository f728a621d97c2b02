"""Regular streaming join: INNER, LEFT, RIGHT and FULL OUTER equi-joins over append-only or
updating inputs, emitting a changelog (Flink's ``StreamingJoinOperator``).

Contract:
- Two inputs: ``input_index`` 0 is the left input, 1 the right. A batch may carry
  ``$row_kind`` (+I/+U add a row, -U/-D retract one); without it every row is +I.
- Two rows match when their join keys (``left_keys`` / ``right_keys``: columns of the same
  Arrow types, the planner casts) are equal and none is NULL, and the ``residual`` predicate
  (over the output columns) is TRUE.
- Output columns: the left columns, then the right ones (under the ``output`` names), then
  ``$row_kind`` when ``changelog`` is set. Without it (an inner join of append-only inputs,
  where every row is +I) the column is omitted. Emitted kinds are +I and -D.
- Per input batch, on the batch's net change (identical rows with opposite kinds cancel),
  one output batch with every retraction before every insertion:
    1. each changed row joined with the other side's state: ``(row, match)`` pairs, +I for
       added and -D for retracted rows, once per copy of each;
    2. an added / retracted row of an outer side without any match: ``(row, NULL…)`` +I / -D;
    3. a row of the *other* side, when that side is outer: it loses its NULL-padded row
       (-D) when its first match arrives, and gets it back (+I) when its last match goes;
    4. the batch's rows enter (or leave) this side's state.
  Applied in order, the output is the join of the inputs' current contents (Flink's
  semantics; the tests compare it with DuckDB).
- SEMI and ANTI (``IN`` / ``EXISTS`` subqueries): no pairs; the output is the left rows
  (right columns NULL, dropped by the planner's projection above). ANTI emits exactly a
  LEFT join's NULL-padded rows (steps 2-3); SEMI the opposite: a left row once per copy
  while it has at least one match (+I when its first match arrives, -D when its last goes).
- State (:mod:`.join_state`): per side the distinct rows with multiplicity, key id, number
  of matches and last write time; key ids come from one index shared by both sides.
- State TTL (``table.exec.state.ttl``, or ``state_ttl_ms`` per side from a STATE_TTL hint;
  0 keeps state forever), as in Flink: a row not written for longer than its side's TTL is
  dropped silently (no output), so a later match no longer finds it. Expired rows are
  swept at most every ``ttl / 10`` (at least every minute) and before every snapshot.
- ``snapshot()``: tables ``left`` and ``right`` (the side's columns, the key columns as
  ``$k<i>`` — the operator's ``state_keys``, so state rescales by key group — and ``$cnt``,
  ``$assoc``, ``$touched``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import Collector, Operator, OperatorContext
from flowsql.operators.group_aggregate import config_ttl
from flowsql.operators.join_state import JoinSide, expand
from flowsql.state.keyindex import KeyIndex

JOIN_TYPES = ("INNER", "LEFT", "RIGHT", "FULL", "SEMI", "ANTI")
_SLACK = 4096

Residual = Callable[[pa.RecordBatch], pa.Array]


@dataclass(frozen=True)
class JoinSpec:
    join_type: str
    left_keys: tuple[str, ...]
    right_keys: tuple[str, ...]
    changelog: bool = True

    @property
    def outer(self) -> tuple[bool, bool]:
        """Whether the left / right side keeps rows without a match (NULL-padded); a semi
        or anti join counts the left rows' matches as a LEFT join does."""
        return (self.join_type in ("LEFT", "FULL", "SEMI", "ANTI"),
                self.join_type in ("RIGHT", "FULL"))

    @property
    def filtering(self) -> bool:
        """A semi / anti join: left rows only, no pairs."""
        return self.join_type in ("SEMI", "ANTI")


def key_ids(index: KeyIndex, key_names: list[str], cols: list[pa.ChunkedArray | pa.Array],
            valid: np.ndarray | None = None) -> np.ndarray:
    """Key id (in ``index``) of every row of the key columns ``cols``; -1 where a key column
    is NULL or ``valid`` is False (such rows never match)."""
    n = len(cols[0]) if cols else (len(valid) if valid is not None else 0)
    valid = np.ones(n, dtype=bool) if valid is None else valid.copy()
    for c in cols:
        if c.null_count:
            valid &= c.is_valid().to_numpy(zero_copy_only=False)
    ids = np.full(n, -1, dtype=np.int64)
    if not cols:  # no key columns: every valid row has the one key 0
        ids[valid] = 0
    elif valid.any():
        keyed = pa.table(dict(zip(key_names, cols, strict=True)))
        if not valid.all():
            keyed = keyed.filter(pa.array(valid))
        ids[valid] = index.lookup(keyed)
    return ids


def assemble(schemas: tuple[pa.Schema, pa.Schema], output: pa.Schema, left: pa.Table | None,
             right: pa.Table | None, n: int) -> pa.RecordBatch:
    """Output rows from the left and the right rows (``None``: that side NULL-padded)."""
    cols: list[pa.Array] = []
    for part, schema in ((left, schemas[0]), (right, schemas[1])):
        for f in schema:
            if part is None:
                cols.append(pa.nulls(n, f.type))
            else:
                c = part.column(f.name)
                cols.append(c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c)
    return pa.RecordBatch.from_arrays(cols, names=output.names[: len(cols)])


def _signs(batch: pa.RecordBatch) -> tuple[pa.Table, np.ndarray]:
    table = pa.Table.from_batches([batch])
    if ROW_KIND not in table.column_names:
        return table, np.ones(batch.num_rows, dtype=np.int64)
    kind = table.column(ROW_KIND).to_numpy()
    retract = (kind == RowKind.UPDATE_BEFORE) | (kind == RowKind.DELETE)
    return table.drop_columns([ROW_KIND]), np.where(retract, -1, 1).astype(np.int64)


class JoinOperator(Operator):
    def __init__(
        self,
        spec: JoinSpec,
        left: pa.Schema,
        right: pa.Schema,
        output: pa.Schema,
        *,
        residual: Residual | None = None,
        state_ttl_ms: tuple[int | None, int | None] = (None, None),
    ) -> None:
        self.spec = spec
        self.schemas = (left, right)
        self.output = output
        self.residual = residual
        # without a changelog both inputs are append-only (planner.changelog): no row identity
        self.sides = (JoinSide(left, append_only=not spec.changelog),
                      JoinSide(right, append_only=not spec.changelog))
        self.key_names = [f"$k{i}" for i in range(len(spec.left_keys))]
        self.keys = KeyIndex(self.key_names)
        self.hint_ttl = state_ttl_ms
        self.ttl_ms = (0, 0)
        self.clock = time.time  # processing time (tests replace it)
        self._next_sweep = 0.0

    def open(self, ctx: OperatorContext) -> None:
        super().open(ctx)
        config = config_ttl(ctx)
        self.ttl_ms = tuple(config if t is None else int(t) for t in self.hint_ttl)  # type: ignore[assignment]

    # -- data ----------------------------------------------------------------------------
    def process_batch(self, batch: pa.RecordBatch, out: Collector, input_index: int = 0) -> None:
        if batch.num_rows == 0:
            return
        if any(self.ttl_ms):
            self._expire(sweep_due=True)
        this, other = input_index, 1 - input_index
        side, opp = self.sides[this], self.sides[other]
        table, sign = _signs(batch)
        table = table.select(self.schemas[this].names)
        # net change per distinct row
        uniq, delta = side.net_change(table, sign)
        if not len(uniq):
            return
        # an append-only side stores the batch as it is (uniq: its rows' ids, in order)
        rows = table if side.append_only else side.values(uniq)
        keys = self._key_ids(rows, this)
        # 1. pairs with the other side's state (key ids equal, residual TRUE)
        mine, theirs = self._pairs(keys, opp)
        mine_rows, their_rows = rows.take(pa.array(mine)), opp.values(theirs)
        if self.residual is not None and len(mine):
            ok = self._residual(*self._sides(this, mine_rows, their_rows))
            mine, theirs = mine[ok], theirs[ok]
            mine_rows, their_rows = mine_rows.filter(pa.array(ok)), their_rows.filter(pa.array(ok))
        pair_left, pair_right = self._sides(this, mine_rows, their_rows)
        parts: list[tuple[pa.Table | None, pa.Table | None, np.ndarray]] = []
        weight = delta[mine] * opp.cnt[theirs]
        if not self.spec.filtering:
            parts.append((pair_left, pair_right, weight))
        outer = self.spec.outer
        semi = self.spec.join_type == "SEMI"
        # 2. this side's rows without a match (a semi join: with a match)
        matches = np.bincount(mine, weights=opp.cnt[theirs], minlength=len(uniq)).astype(np.int64)
        if outer[this]:
            lonely = np.flatnonzero(matches > 0 if semi else matches == 0)
            if len(lonely):
                picked = rows.take(pa.array(lonely))
                parts.append((picked, None, delta[lonely]) if this == 0 else (None, picked, delta[lonely]))
        # 3. the other side's NULL-padded rows
        if outer[other] and len(theirs):
            hit, at = np.unique(theirs, return_inverse=True)
            change = np.bincount(at, weights=delta[mine], minlength=len(hit)).astype(np.int64)
            old = opp.assoc[hit]
            new = old + change
            opp.assoc[hit] = np.maximum(new, 0)
            gone, back = (old <= 0) & (new > 0), (old > 0) & (new <= 0)
            flips = np.flatnonzero(gone | back)
            if len(flips):
                w = np.where(gone[flips], -1, 1) * opp.cnt[hit[flips]] * (-1 if semi else 1)
                padded = opp.values(hit[flips])
                parts.append((None, padded, w) if this == 0 else (padded, None, w))
        # 4. this side's state (rows with a NULL key never match: they are not kept)
        keep = keys >= 0
        side.add(uniq[keep], delta[keep], keys[keep], self.clock() * 1000.0)
        if outer[this]:
            side.assoc[uniq[keep]] = matches[keep]
        self._emit(parts, out)
        self._housekeeping()

    @staticmethod
    def _sides(this: int, mine: pa.Table, theirs: pa.Table) -> tuple[pa.Table, pa.Table]:
        """(left, right) from this side's and the other side's rows."""
        return (mine, theirs) if this == 0 else (theirs, mine)

    def _key_ids(self, rows: pa.Table, index: int) -> np.ndarray:
        """Key id of every row; -1 where a key column is NULL (such rows never match)."""
        names = self.spec.left_keys if index == 0 else self.spec.right_keys
        return key_ids(self.keys, self.key_names, [rows.column(n) for n in names])

    @staticmethod
    def _pairs(keys: np.ndarray, opp: JoinSide) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``keys``, row id of ``opp``) of every pair with equal key ids."""
        wanted = np.unique(keys[keys >= 0])
        if not len(wanted) or not opp.live:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        found = opp.probe(wanted)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        theirs_key = opp.key[found]
        lo = np.searchsorted(sorted_keys, theirs_key, "left")
        hi = np.searchsorted(sorted_keys, theirs_key, "right")
        owner, pos = expand(lo, hi)
        return order[pos], found[owner]

    def _residual(self, left: pa.Table, right: pa.Table) -> np.ndarray:
        batch = self._assemble(left, right, left.num_rows)
        from flowsql.operators.join_parts import residual_mask

        return residual_mask(self.residual, batch)  # type: ignore[arg-type]

    def _assemble(self, left: pa.Table | None, right: pa.Table | None, n: int) -> pa.RecordBatch:
        return assemble(self.schemas, self.output, left, right, n)

    def _emit(self, parts: list[tuple[pa.Table | None, pa.Table | None, np.ndarray]],
              out: Collector) -> None:
        """Every part's rows, each repeated |weight| times: retractions (weight < 0) first."""
        pieces: list[tuple[pa.RecordBatch, int]] = []
        for retract in (True, False):
            for left, right, weight in parts:
                pick = np.flatnonzero(weight < 0 if retract else weight > 0)
                if not len(pick):
                    continue
                if len(pick) == len(weight) and (np.abs(weight) == 1).all():
                    rows = pick  # every row once, in order (an append-only inner join)
                    lt, rt = left, right
                else:
                    rows = np.repeat(pick, np.abs(weight[pick]))
                    idx = pa.array(rows)
                    lt = left.take(idx) if left is not None else None
                    rt = right.take(idx) if right is not None else None
                pieces.append((self._assemble(lt, rt, len(rows)),
                               RowKind.DELETE if retract else RowKind.INSERT))
        if not pieces:
            return
        batches = []
        for b, kind in pieces:
            if self.spec.changelog:
                b = b.append_column(ROW_KIND, pa.array(np.full(b.num_rows, kind, np.int8)))
            batches.append(b)
        merged = pa.Table.from_batches(batches).combine_chunks().to_batches()
        for b in merged:
            self.ctx.metrics.records_out += b.num_rows
            out.emit(b)

    # -- housekeeping --------------------------------------------------------------------
    def _housekeeping(self) -> None:
        """Drop dead row ids, then key ids no live row uses, once they dominate."""
        for s in self.sides:
            s.compact()
        # live keys ≤ live rows: a cheap test before counting them (that costs O(state))
        if self.keys.size > 2 * sum(side.live for side in self.sides) + _SLACK:
            used = np.concatenate([s.key[s.live_ids()] for s in self.sides])
            used = np.unique(used)
            if self.keys.size > 2 * len(used) + _SLACK:
                keep = np.zeros(self.keys.size, dtype=bool)
                keep[used] = True
                remap = self.keys.retain(keep)
                for s in self.sides:
                    live = s.live_ids()
                    s.key[live] = remap[s.key[live]]
                    s.rebuild()

    def _expire(self, sweep_due: bool) -> None:
        now = self.clock()
        if sweep_due and now < self._next_sweep:
            return
        ttls = [t for t in self.ttl_ms if t]
        self._next_sweep = now + min(min(ttls) / 10_000.0, 60.0)
        for side, ttl in zip(self.sides, self.ttl_ms, strict=True):
            if not ttl:
                continue
            live = side.live_ids()
            side.drop(live[side.touched[live] < now * 1000.0 - ttl])

    # -- checkpoints ---------------------------------------------------------------------
    @property
    def state_keys(self) -> list[str]:
        return list(self.key_names)

    def snapshot(self, checkpoint_id: int) -> dict[str, pa.Table]:
        if any(self.ttl_ms):
            self._expire(sweep_due=False)
        snap = {}
        for name, side in zip(("left", "right"), self.sides, strict=True):
            table = side.table()
            live = side.live_ids()
            keys = self.keys.keys(side.key[live])
            for k in self.key_names:
                table = table.append_column(k, keys.column(k))
            snap[name] = table
        return snap

    def restore(self, state: dict[str, pa.Table]) -> None:
        for name, side in zip(("left", "right"), self.sides, strict=True):
            table = state.get(name)
            if table is None or not table.num_rows:
                continue
            keys = self.keys.lookup(table.select(self.key_names))
            side.restore(table, keys)
