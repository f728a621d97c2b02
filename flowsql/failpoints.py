"""Failpoints for fault tests: crash the process at a named point.

Contract: the environment variable ``FLOWSQL_FAILPOINT`` names one point as
``<name>:<checkpoint id>``; :func:`hit` with that name and id ends the process at once with
exit code 137 (as ``kill -9`` would, no cleanup). Points: ``checkpoint-write`` (a task writes
its state for that checkpoint) and ``checkpoint-commit`` (a sink commits the files of that
completed checkpoint). Unset, :func:`hit` does nothing. With ``FLOWSQL_FAILPOINT_ONCE`` set
to a file path, only the first process to reach the point (the one that creates that file)
crashes, so one of several TaskManagers started with the same environment dies.

Layering: a shared low-level module (like :mod:`flowsql.errors`): runtime and operators use it.
"""

from __future__ import annotations

import os


def hit(name: str, checkpoint_id: int) -> None:
    point = os.environ.get("FLOWSQL_FAILPOINT")
    if not point or point != f"{name}:{checkpoint_id}":
        return
    once = os.environ.get("FLOWSQL_FAILPOINT_ONCE")
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # another process took this crash
    os._exit(137)
