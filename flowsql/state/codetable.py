"""A persistent hash map from uint64 codes to int64 ids, with vectorized numpy operations.

Contract (:class:`CodeTable`):
- :meth:`CodeTable.find` returns the id of every code (-1 for an unknown code).
- :meth:`CodeTable.insert` adds codes that are unique and not yet in the table, with their
  ids (ids must be >= 0 and unique).
- :meth:`CodeTable.filter` keeps the entries whose id survives a remap (old id → new id, -1
  = dropped) and renumbers them.
- Costs: a lookup or insert of ``n`` codes is O(n) expected, whatever the table's size; the
  table doubles when more than :data:`MAX_LOAD` of its slots are used (a rehash of every
  entry, O(1) amortized per entry).

How: open addressing with linear probing over two arrays (``codes``, ``ids``; ``ids == -1``
marks an empty slot, so every uint64 code can be stored). Every operation runs in rounds over
the codes still probing: a round gathers a window of :data:`_WINDOW` consecutive slots for
each (a code is found, or known absent at an empty slot, almost always in the first window)
and moves the rest one window on. Inserting codes that want the same empty slot: they are all
written there, and the one whose id is read back won (numpy fancy assignment keeps one of the
writes); the others look again.
"""

from __future__ import annotations

import numpy as np

from flowsql.state.keygroups import mix64

MAX_LOAD = 0.5
_MIN_CAPACITY = 1 << 10
_WINDOW = 8  # slots looked at per probing round (two cache lines)
_STEPS = np.arange(_WINDOW, dtype=np.int64)


# the home slot of a code: its high-quality mix (exact codes, raw integer bits, are often
# sequential), masked to the table size
_slot_hash = mix64


class CodeTable:
    """uint64 code → int64 id."""

    def __init__(self, capacity: int = _MIN_CAPACITY) -> None:
        self._empty(capacity)
        self.size = 0

    def _empty(self, capacity: int) -> None:
        cap = _MIN_CAPACITY
        while cap < capacity:
            cap <<= 1
        self._codes = np.zeros(cap, dtype=np.int64)  # the uint64 codes' bits
        self._ids = np.full(cap, -1, dtype=np.int64)  # -1: empty slot

    def _home(self, codes: np.ndarray) -> np.ndarray:
        return (_slot_hash(codes.view(np.uint64)) & np.uint64(len(self._ids) - 1)).astype(np.int64)

    def _window(self, slot: np.ndarray) -> np.ndarray:
        """The slot numbers of the :data:`_WINDOW` slots from each of ``slot`` (wrapping)."""
        return (slot[:, None] + _STEPS) & (len(self._ids) - 1)

    def find(self, codes: np.ndarray) -> np.ndarray:
        out = np.full(len(codes), -1, dtype=np.int64)
        if not self.size or not len(codes):
            return out
        todo = codes.view(np.int64)
        # round 1: the home slot alone (most codes end here)
        slot = self._home(todo)
        ids = self._ids[slot]
        hit = (ids >= 0) & (self._codes[slot] == todo)
        out[hit] = ids[hit]
        go = (ids >= 0) & ~hit  # an occupied slot of another code: probe on
        rows, slot, todo = np.flatnonzero(go), slot[go] + 1, todo[go]
        while len(rows):  # then windows of slots
            at = self._window(slot)
            ids = self._ids[at]
            hit = (ids >= 0) & (self._codes[at] == todo[:, None])
            found = hit.any(axis=1)
            out[rows[found]] = ids[found, hit[found].argmax(axis=1)]
            # no match and no empty slot in the window: the code may be further on
            go = ~found & (ids >= 0).all(axis=1)
            rows, slot, todo = rows[go], slot[go] + _WINDOW, todo[go]
        return out

    def insert(self, codes: np.ndarray, ids: np.ndarray) -> None:
        if not len(codes):
            return
        if (self.size + len(codes)) > MAX_LOAD * len(self._ids):
            self._grow(self.size + len(codes))
        self._place(codes.view(np.int64), np.asarray(ids, dtype=np.int64))
        self.size += len(codes)

    def _place(self, codes: np.ndarray, ids: np.ndarray) -> None:
        mask = len(self._ids) - 1
        slot = self._home(codes)
        width = 1  # round 1: the home slot alone; then windows
        while len(codes):
            empty = self._ids[(slot[:, None] + _STEPS[:width]) & mask] < 0
            free = empty.any(axis=1)
            at = (slot + empty.argmax(axis=1)) & mask  # the first empty slot looked at
            fs = at[free]
            self._ids[fs] = ids[free]  # competing writes to one slot: one of them stays
            won = np.zeros(len(codes), dtype=bool)
            won[free] = self._ids[fs] == ids[free]
            self._codes[at[won]] = codes[won]
            # losers of a free slot look at the same slots again; the others move on
            go = ~won
            step = np.where(free, 0, width)[go]
            codes, ids, slot = codes[go], ids[go], (slot[go] + step) & mask
            width = _WINDOW

    def _rebuild(self, cap: int, codes: np.ndarray, ids: np.ndarray) -> None:
        """A table of ``cap`` slots holding ``codes`` → ``ids`` (unique codes). Entries are
        laid out in order of their home slot, each at max(home, previous slot + 1) — the
        linear-probing layout, as one cumulative maximum; the few that run past the last
        slot are then placed by probing from slot 0."""
        self._empty(cap)
        home = self._home(codes)
        order = np.argsort(home)
        step = np.arange(len(order), dtype=np.int64)
        at = np.maximum.accumulate(home[order] - step) + step
        inside = at < len(self._ids)
        self._codes[at[inside]] = codes[order[inside]]
        self._ids[at[inside]] = ids[order[inside]]
        past = order[~inside]
        if len(past):
            self._place(codes[past], ids[past])

    def _grow(self, needed: int) -> None:
        cap = len(self._ids)
        while needed > MAX_LOAD * cap:
            cap <<= 1
        used = self._ids >= 0
        self._rebuild(cap, self._codes[used], self._ids[used])

    def filter(self, remap: np.ndarray) -> None:
        used = self._ids >= 0
        ids = remap[self._ids[used]]
        keep = ids >= 0
        self.size = int(keep.sum())
        cap = _MIN_CAPACITY
        while self.size > MAX_LOAD * cap:
            cap <<= 1
        self._rebuild(cap, self._codes[used][keep], ids[keep])
