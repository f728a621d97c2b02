"""What the fault tests read back: committed csv part files of a filesystem sink."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import duckdb


def committed_ids(directory: Path) -> list[int]:
    """The first column of every committed part file (hidden in-progress files excluded)."""
    ids: list[int] = []
    for path in sorted(directory.glob("part-*.csv")):
        with open(path, newline="") as f:
            ids.extend(int(row[0]) for row in csv.reader(f))
    return ids


def window_rows(directory: Path) -> list[tuple[int, ...]]:
    """(k, window start in epoch s, n, total) rows of a (k, ws, n, total) sink, sorted."""
    rows: list[tuple[int, ...]] = []
    for path in sorted(directory.glob("part-*.csv")):
        with open(path, newline="") as f:
            for k, ws, n, total in csv.reader(f):
                start = datetime.fromisoformat(ws).replace(tzinfo=UTC).timestamp()
                rows.append((int(k), int(start), int(n), int(total)))
    return sorted(rows)


def expected_windows(rows: int, keys: int = 7) -> list[tuple[int, ...]]:
    """DuckDB's answer for the same TUMBLE query over ids 1..rows (ids are event-time ms):
    per key (id % keys) and 1 s window, the count and the sum of ids."""
    con = duckdb.connect()
    try:
        result = con.execute(
            f"SELECT id % {keys}, id // 1000, count(*), sum(id) "
            f"FROM range(1, {rows + 1}) t(id) GROUP BY ALL").fetchall()
    finally:
        con.close()
    return sorted(tuple(int(x) for x in row) for row in result)


def window_diff(got: list[tuple[int, ...]], expected: list[tuple[int, ...]],
                limit: int = 20) -> str:
    """What differs between committed and expected ``window_rows``, per (k, window start):
    the committed (n, total) rows of each wrong window (none, several or a wrong one) next to
    the expected one, so a failure shows a partial, duplicated or lost window at once."""
    have: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    for k, ws, *rest in got:
        have.setdefault((k, ws), []).append(tuple(rest))
    want = {(k, ws): tuple(rest) for k, ws, *rest in expected}
    wrong = [key for key in sorted(set(have) | set(want)) if have.get(key) != [want.get(key)]]
    lines = [f"{len(wrong)} window(s) differ, (k, window start s): committed (n, total) rows "
             f"vs expected"]
    lines += [f"  {key}: {have.get(key, [])} vs {want.get(key)}" for key in wrong[:limit]]
    return "\n".join(lines)


def committed_rows(directory: Path) -> list[list[str]]:
    """Every row of the committed part files, in commit order (modification time)."""
    rows: list[list[str]] = []
    for path in sorted(directory.glob("part-*.csv"), key=lambda p: p.stat().st_mtime_ns):
        with open(path, newline="") as f:
            rows.extend(csv.reader(f))
    return rows
