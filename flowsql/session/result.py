"""What executing one statement returns to a face."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa


@dataclass
class Result:
    """The outcome of one statement.

    - ``kind='ok'``: a message only (DDL, SET, USE ...).
    - ``kind='table'``: ``table`` holds the rows (SELECT in batch mode, SHOW, DESCRIBE ...).
    - ``kind='job'``: a submitted job; ``job_id`` names it (streaming INSERT).
    ``elapsed`` is wall seconds spent executing; ``statement`` the statement's text;
    ``warnings`` are lines a face shows before the result (``[WARNING] ...``).
    """

    kind: Literal["ok", "table", "job"]
    message: str = ""
    table: pa.Table | None = None
    job_id: str | None = None
    elapsed: float = 0.0
    statement: str = ""
    extra: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @staticmethod
    def ok(message: str = "OK") -> Result:
        return Result("ok", message=message)

    @staticmethod
    def rows(table: pa.Table, message: str = "") -> Result:
        return Result("table", table=table, message=message)
