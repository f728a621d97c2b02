"""What the fault tests read back: committed csv part files of a filesystem sink."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path


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
    """Per key (id % keys) and 1 s window of ids 1..rows (ids are event-time ms): count, sum."""
    count: Counter = Counter()
    total: Counter = Counter()
    for i in range(1, rows + 1):
        count[(i % keys, i // 1000)] += 1
        total[(i % keys, i // 1000)] += i
    return sorted((k, w, count[(k, w)], total[(k, w)]) for k, w in count)
