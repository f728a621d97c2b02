"""A Session set up for the savepoint tests: embedded threads at a given parallelism, 1 s
checkpoints and a savepoint directory under the test's temporary directory."""

from __future__ import annotations

from pathlib import Path

from flowsql.session import Session


def savepoint_session(tmp_path: Path, parallelism: int, ddl: list[str]) -> Session:
    """A Session in ``tmp_path/home`` that ran ``ddl`` and the checkpoint settings."""
    s = Session(home=tmp_path / "home")
    for sql in [*ddl,
                "SET 'execution.embedded.parallelism' = 'threads'",
                f"SET 'parallelism.default' = '{parallelism}'",
                "SET 'execution.checkpointing.interval' = '1 s'",
                f"SET 'execution.checkpointing.dir' = '{tmp_path / 'chk'}'",
                f"SET 'execution.checkpointing.savepoint-dir' = '{tmp_path / 'savepoints'}'"]:
        s.execute_one(sql)
    return s
