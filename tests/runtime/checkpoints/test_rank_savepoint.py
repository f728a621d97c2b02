"""Top-N state through a real savepoint: STOP JOB ... WITH SAVEPOINT at parallelism 2,
resumed at 3 and at 1 (the ranked rows redistributed by key group).

Ids 1..N arrive paced into the top 2 ids per ``id % 7`` (ROW_NUMBER by id DESC, the row
number selected: every new id shifts both ranks, -U/+U), written as a changelog (a
``row_kind`` column) by an exactly-once filesystem sink. Pass: the changelog of both runs,
applied in order, is the final top 2 of every key — a second run without the first run's
state would insert rows without retracting the ones it replaces.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from flowsql.session import Session
from tests.runtime import savepoint_session as sp
from tests.runtime.sink_output import committed_rows

ROWS = 12_000
KEYS = 7
INSERT = ("INSERT INTO out SELECT id, k, rn FROM (SELECT id, id % 7 AS k, ROW_NUMBER() OVER "
          "(PARTITION BY id % 7 ORDER BY id DESC) AS rn FROM src) WHERE rn <= 2")


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return sp.savepoint_session(tmp_path, parallelism, [
        sp.paced_ids(ROWS, event_time=False),
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, k BIGINT, rn BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _final(out: Path) -> Counter:
    """The changelog in the committed part files, applied."""
    state: Counter = Counter()
    for *row, kind in committed_rows(out):
        state[tuple(int(x) for x in row)] += 1 if kind in ("+I", "+U") else -1
    return +state


@pytest.mark.parametrize("parallelism", [3, 1])
def test_top_n_state_survives_a_savepoint_at_another_parallelism(tmp_path, parallelism):
    out = tmp_path / "out"
    path = sp.stop_with_savepoint(_session(tmp_path, out, 2), INSERT, ROWS // 2)
    sp.resume(_session(tmp_path, out, parallelism), path, INSERT)
    top = [(i, i % KEYS, r) for k in range(KEYS) for r, i in enumerate(
        sorted((i for i in range(1, ROWS + 1) if i % KEYS == k), reverse=True)[:2], start=1)]
    assert _final(out) == Counter(top)
