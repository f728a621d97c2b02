"""A resumable shell job for the embedded-resume tests: the script and the shell process.

``script`` writes a paced (3,000 rows/s), bounded datagen INSERT into an exactly-once
filesystem sink with retained checkpoints every ``interval`` under ``chk`` (a path or a
``pyarrow.fs`` URI), resumed from ``resume_from`` when given; ``shell`` runs it with
``flowsql shell -f`` under ``tmp/home``, with ``env`` added to the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = 30_000  # 3,000 rows/s: about 10 s


def script(tmp: Path, resume_from: str | None, *, chk: str | None = None,
           interval: str = "1 s") -> str:
    lines = [
        "CREATE TABLE IF NOT EXISTS src (id BIGINT, v BIGINT) WITH ('connector' = 'datagen', "
        f"'number-of-rows' = '{ROWS}', 'rows-per-second' = '3000', 'fields.id.kind' = "
        f"'sequence', 'fields.id.start' = '1', 'fields.id.end' = '{ROWS}');",
        f"CREATE TABLE IF NOT EXISTS out (id BIGINT, v BIGINT) WITH ('connector' = 'filesystem', "
        f"'path' = '{tmp / 'out'}', 'format' = 'csv');",
        f"SET 'execution.checkpointing.interval' = '{interval}';",
        f"SET 'execution.checkpointing.dir' = '{chk or tmp / 'chk'}';",
        "SET 'execution.checkpointing.externalized-checkpoint-retention' = "
        "'RETAIN_ON_CANCELLATION';",
    ]
    if resume_from:
        lines.append(f"SET 'execution.savepoint.path' = '{resume_from}';")
    lines.append("INSERT INTO out SELECT id, v FROM src;")
    return "\n".join(lines) + "\n"


def shell(tmp: Path, name: str, text: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    path = tmp / f"{name}.sql"
    path.write_text(text)
    full_env = {**os.environ, **(env or {}), "FLOWSQL_HOME": str(tmp / "home")}
    return subprocess.Popen([sys.executable, "-m", "flowsql", "shell", "-f", str(path)],
                            cwd=ROOT, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
