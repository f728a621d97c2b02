"""How the shell shows results and errors, with rich.

Contract:
- ``kind='table'`` results print as a table (column names as headers, ``NULL`` for nulls,
  timestamps as ``2024-01-01 12:00:00.000`` with as many fraction digits as the column's
  precision, TIMESTAMP_LTZ in the session time zone, booleans as ``TRUE``/``FALSE``, bytes as
  ``x'0a1b'``, a changelog's row-kind column as an ``op`` column of ``+I``/``-U``/``+U``/``-D``),
  then ``N rows in set (0.12 seconds)`` (a result message that only restates the row
  count, such as ``5 row(s) in set``, is not repeated). At most ``max_rows`` rows are drawn; the footer still
  counts them all.
- ``kind='ok'`` results print their message; ``kind='job'`` results print the message and the
  job id.
- A ``FlowSQLError`` prints as its ``render()`` text in red; ``QueryCancelled`` prints
  ``Query cancelled.``; any other exception is an internal error printed as
  ``Internal error: <type>: <msg> (run with --verbose for the traceback)``. Tracebacks appear
  only when verbose.
- Cell text (:mod:`flowsql.session.cells`, shared with the gateway) is computed a column at a
  time with ``pyarrow.compute``; only nested and binary
  values (display-only, at most ``max_rows``) are formatted value by value.
- When output is not a terminal, tables are never squeezed to a width: lines are as long as
  the table needs, so scripts' output can be compared as text.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flowsql.errors import FlowSQLError, QueryCancelled
from flowsql.messages import ROW_KIND
from flowsql.session.cells import NULL, column_text, text_array  # noqa: F401 - re-exported
from flowsql.session.result import Result

MAX_DISPLAY_ROWS = 1000
_ROW_KIND_LABELS = pa.array(["+I", "-U", "+U", "-D"])
_ROW_COUNT_MESSAGE = re.compile(r"^\s*\d+ rows?(\(s\))? in set\b.*$", re.IGNORECASE)
_WIDE = 100_000  # console width when the output is not a terminal: never wrap a table


def make_console(file: IO[str] | None = None) -> Console:
    """A console on ``file`` (stdout by default): colours only on a terminal."""
    target = file if file is not None else sys.stdout
    is_tty = hasattr(target, "isatty") and target.isatty()
    return Console(
        file=target,
        highlight=False,
        emoji=False,
        soft_wrap=False,
        width=None if is_tty else _WIDE,
    )


# -- cells: flowsql.session.cells (shared with the gateway) -------------------------------


def _is_numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def build_table(data: pa.Table, *, max_rows: int = MAX_DISPLAY_ROWS, time_zone: str = "UTC") -> Table:
    """A rich Table showing the first ``max_rows`` rows of ``data``."""
    shown = data.slice(0, max_rows)
    table = Table(box=box.ASCII2, show_lines=False, header_style="bold", pad_edge=True)
    columns: list[list[str]] = []
    for name, column in zip(shown.column_names, shown.columns, strict=True):
        if name == ROW_KIND:
            table.add_column("op", no_wrap=True)
            kinds = column.combine_chunks() if column.num_chunks else pa.array([], pa.int8())
            columns.append(pc.fill_null(_ROW_KIND_LABELS.take(kinds), "+I").to_pylist())
            continue
        table.add_column(name, justify="right" if _is_numeric(column.type) else "left", overflow="fold")
        columns.append(column_text(column, time_zone))
    for row in zip(*columns, strict=True):
        table.add_row(*row)
    return table


# -- results and errors ----------------------------------------------------------------------
def rows_footer(count: int, elapsed: float) -> str:
    noun = "row" if count == 1 else "rows"
    return f"{count} {noun} in set ({elapsed:.2f} seconds)"


class Renderer:
    """Prints results on ``out`` and errors on ``err`` (the same console by default)."""

    def __init__(
        self,
        out: Console | None = None,
        err: Console | None = None,
        *,
        verbose: bool = False,
        max_rows: int = MAX_DISPLAY_ROWS,
    ) -> None:
        self.out = out or make_console()
        self.err = err or self.out
        self.verbose = verbose
        self.max_rows = max_rows

    def text(self, message: str, style: str | None = None) -> None:
        self.out.print(Text(message, style=style or ""))

    def echo(self, statement: str, prompt: str, continuation: str) -> None:
        """Print a statement as if typed at the prompt (script mode)."""
        lines = statement.splitlines() or [""]
        shown = [prompt + lines[0]] + [continuation + line for line in lines[1:]]
        self.out.print(Text("\n".join(shown) + ";", style="bold"))

    def result(self, result: Result, *, time_zone: str = "UTC") -> None:
        if result.kind == "table" and result.table is not None:
            data = result.table
            self.out.print(build_table(data, max_rows=self.max_rows, time_zone=time_zone))
            if data.num_rows > self.max_rows:
                self.text(f"(showing the first {self.max_rows} of {data.num_rows} rows)", "dim")
            if result.message and not _ROW_COUNT_MESSAGE.match(result.message):
                self.text(result.message)
            self.text(rows_footer(data.num_rows, result.elapsed))
        elif result.kind == "job":
            if result.message:
                self.text(result.message)
            self.text(f"Job ID: {result.job_id}")
        elif result.message:
            self.text(result.message)
        self.out.print()

    def error(self, error: BaseException) -> None:
        if isinstance(error, QueryCancelled):
            self.err.print(Text("Query cancelled.", style="yellow"))
            if self.verbose:
                self._traceback(error)
        elif isinstance(error, FlowSQLError):
            if self.verbose:
                self._traceback(error)
            self.err.print(Text(error.render(), style="red"))
        else:
            if self.verbose:
                self._traceback(error)
                self.err.print(Text(f"Internal error: {type(error).__name__}: {error}", style="red"))
            else:
                self.err.print(
                    Text(
                        f"Internal error: {type(error).__name__}: {error} "
                        "(run with --verbose for the traceback)",
                        style="red",
                    )
                )
        self.err.print()

    def _traceback(self, error: BaseException) -> None:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.err.print(Text(text.rstrip(), style="dim"))
