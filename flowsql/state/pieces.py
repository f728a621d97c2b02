"""Append-only row storage in a few contiguous Arrow tables ("pieces"), read as one table.

Contract:
- :func:`add_piece` appends rows; the last two pieces merge while the older one has fewer
  than :data:`PIECE_ROWS` rows and at most twice the newer's rows, so a row is copied
  O(log(PIECE_ROWS / batch)) times and storing a batch never copies the whole store.
- :func:`piece_starts` gives the first row number of each piece; :func:`take_pieces` takes
  rows by row number (in the given order) from each piece alone, because a ``take`` on a
  many-chunk table would concatenate all of it first.

Used by the join / rank state (``flowsql.operators.join_state``) and by
:class:`~flowsql.state.keyindex.KeyIndex` for its key rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

PIECE_ROWS = 1 << 16


def add_piece(pieces: list[pa.Table], rows: pa.Table) -> None:
    """Append ``rows`` to ``pieces`` (tables read as one, in order): the last two pieces merge
    while the older one has fewer than :data:`PIECE_ROWS` rows and at most twice the newer's.
    A row is copied O(log(PIECE_ROWS / batch)) times, never the whole table per batch."""
    if any(c.num_chunks > 1 for c in rows.columns):
        rows = rows.combine_chunks()
    pieces.append(rows)
    while len(pieces) > 1 and (
            pieces[-2].num_rows < PIECE_ROWS and pieces[-2].num_rows <= 2 * pieces[-1].num_rows):
        last = pieces.pop()
        pieces[-1] = pa.concat_tables([pieces[-1], last],
                                      promote_options="permissive").combine_chunks()


def take_pieces(pieces: Sequence[pa.Table], ids: np.ndarray,
                starts: np.ndarray | None = None) -> pa.Table:
    """Rows ``ids`` (in that order) of the tables ``pieces`` read as one (``starts``: the
    first row number of each piece, computed when not given). Takes from each piece alone:
    a ``take`` on a many-chunk table would concatenate all of it first."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(pieces) == 1:
        return pieces[0].take(pa.array(ids))
    if starts is None:
        starts = piece_starts(pieces)
    piece = np.searchsorted(starts, ids, "right") - 1
    order = np.argsort(piece, kind="stable")
    bounds = np.searchsorted(piece[order], np.arange(len(pieces) + 1))
    parts = []
    for i, t in enumerate(pieces):
        at = order[bounds[i]:bounds[i + 1]]
        if len(at) or not parts:
            parts.append(t.take(pa.array(ids[at] - starts[i])))
    out = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    if len(ids) > 1 and (piece[1:] < piece[:-1]).any():  # back to the order of ids
        out = out.take(pa.array(np.argsort(order, kind="stable")))
    return out
def piece_starts(pieces: Sequence[pa.Table]) -> np.ndarray:
    """The first row number of each piece."""
    sizes = np.array([t.num_rows for t in pieces], dtype=np.int64)
    return np.cumsum(sizes) - sizes
