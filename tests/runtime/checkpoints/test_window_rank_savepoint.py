"""Window Top-N state through a real savepoint: STOP JOB ... WITH SAVEPOINT at parallelism
2, resumed at 3 and at 1 (buffered rows of open windows redistributed by key group).

Ids 1..N arrive paced, event time = id ms, into the top 2 ids per (1 s TUMBLE window,
``id % 7``), written by an exactly-once filesystem sink. Pass: every window's top 2 is
written exactly once across the two runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowsql.session import Session
from tests.runtime import savepoint_session as sp
from tests.runtime.sink_output import committed_rows

ROWS = 12_000
KEYS = 7
INSERT = ("INSERT INTO out SELECT id, k, rn FROM (SELECT id, id % 7 AS k, ROW_NUMBER() OVER "
          "(PARTITION BY window_start, window_end, id % 7 ORDER BY id DESC) AS rn FROM TABLE("
          "TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND))) WHERE rn <= 2")


def _session(tmp_path: Path, out: Path, parallelism: int) -> Session:
    return sp.savepoint_session(tmp_path, parallelism, [
        sp.paced_ids(ROWS),
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, k BIGINT, rn BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ])


def _committed(out: Path) -> list[tuple[int, ...]]:
    return sorted(tuple(int(x) for x in r) for r in committed_rows(out))


def _expected() -> list[tuple[int, int, int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for i in range(1, ROWS + 1):
        groups.setdefault((i // 1000, i % KEYS), []).append(i)
    return sorted((i, k, r) for (_, k), ids in groups.items()
                  for r, i in enumerate(sorted(ids, reverse=True)[:2], start=1))


@pytest.mark.parametrize("parallelism", [3, 1])
def test_window_top_n_state_survives_a_savepoint_at_another_parallelism(tmp_path, parallelism):
    out = tmp_path / "out"
    path = sp.stop_with_savepoint(_session(tmp_path, out, 2), INSERT, ROWS // 2)
    assert 0 < len(_committed(out)) < len(_expected())  # stopped midway
    sp.resume(_session(tmp_path, out, parallelism), path, INSERT)
    assert _committed(out) == _expected()
