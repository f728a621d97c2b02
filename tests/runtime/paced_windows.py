"""A paced windowed job for stop-with-savepoint tests: ids 1.. at 4,000 rows/s (event time =
id ms, effectively unbounded) into a keyed 1 s TUMBLE count/sum written by an exactly-once
filesystem sink, and the check of its committed output after a stop with or without drain."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.sink_output import expected_windows, window_rows

ROWS = 1_000_000  # paced at 4,000 rows/s: the job is stopped long before the end


def ddl(out: Path) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS src (id BIGINT, ts AS CAST(TO_TIMESTAMP_LTZ(id, 3) AS "
        "TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = "
        f"'datagen', 'number-of-rows' = '{ROWS}', 'rows-per-second' = '4000', "
        f"'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}')",
        "CREATE TABLE IF NOT EXISTS out (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT) "
        f"WITH ('connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')",
    ]


INSERT = ("INSERT INTO out SELECT id % 7, window_start, COUNT(*), SUM(id) FROM TABLE(TUMBLE("
          "TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY id % 7, window_start, "
          "window_end")


def config(tmp_path: Path) -> dict[str, str]:
    return {"execution.checkpointing.interval": "1 s",
            "execution.checkpointing.dir": str(tmp_path / "chk"),
            "execution.checkpointing.savepoint-dir": str(tmp_path / "savepoints")}



def check_output(out: Path, rows_read: int, drained: bool) -> None:
    """Drained: the output is every window of ids 1..rows_read. Not drained: complete windows
    only, the one holding the last id read is missing."""
    got = window_rows(out)
    want = expected_windows(rows_read)
    last_window = rows_read // 1000
    if drained:
        assert got == want, f"{len(got)} rows, {len(want)} expected over ids 1..{rows_read}"
        assert sum(r[2] for r in got) == rows_read
    else:
        assert got and set(got) < set(want)
        assert all(r[1] < last_window for r in got)
        assert sum(r[2] for r in got) < rows_read
