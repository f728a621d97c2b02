"""OVER aggregation state through a real savepoint: STOP JOB ... WITH SAVEPOINT at
parallelism 2, resumed at 3 and at 1 (pending rows, frame history and UNBOUNDED totals
redistributed by key group).

Ids 1..N arrive paced, event time = id ms, into ``COUNT(*)`` and ``SUM(id)`` OVER the
partition ``id % 7`` (a bounded ROWS frame, and RANGE UNBOUNDED PRECEDING), written by an
exactly-once filesystem sink. Pass: every id is written exactly once across the two runs,
with the count and sum of its frame — which the second run only gets right from restored
state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.session import Session
from tests.runtime import savepoint_session as sp
from tests.runtime.sink_output import committed_rows

ROWS = 12_000
KEYS = 7
FRAMES = {
    "rows_3_preceding": "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW",
    "range_unbounded": "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
}


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return sp.savepoint_session(tmp_path, parallelism, [
        sp.paced_ids(ROWS),
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, n BIGINT, total BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _expected(frame: str) -> list[tuple[int, int, int]]:
    out = []
    for i in range(1, ROWS + 1):
        frame_ids = list(range(i, 0, -KEYS))[: 4 if frame == "rows_3_preceding" else None]
        out.append((i, len(frame_ids), sum(frame_ids)))
    return out


def _committed(out: Path) -> list[tuple[int, ...]]:
    return sorted(tuple(int(x) for x in r) for r in committed_rows(out))


@pytest.mark.parametrize("parallelism", [3, 1])
@pytest.mark.parametrize("frame", sorted(FRAMES))
def test_over_state_survives_a_savepoint_at_another_parallelism(tmp_path, frame, parallelism):
    out = tmp_path / "out"
    insert = (f"INSERT INTO out SELECT id, COUNT(*) OVER w, SUM(id) OVER w FROM src "
              f"WINDOW w AS (PARTITION BY id % {KEYS} ORDER BY ts {FRAMES[frame]})")
    path = sp.stop_with_savepoint(_session(tmp_path, out, 2), insert, ROWS // 2)
    assert len(_committed(out)) < ROWS  # stopped midway
    sp.resume(_session(tmp_path, out, parallelism), path, insert)
    assert _committed(out) == _expected(frame)
