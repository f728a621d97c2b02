"""Run shell input against a Session: shell commands, statements, Ctrl-C, rendering.

Contract:
- :meth:`Runner.run_text` runs everything in one input (REPL) or script (``-f``/``-i``):
  the text is cut into pieces by :func:`flowsql.shell.scanner.scan`; a piece that is a shell
  command is answered here; any other piece is cut into statements by the session's
  ``split_script``, and each statement is parsed with its line/column in the whole text (so
  errors point into the script) and executed with ``Session.execute_statement``.
- Each statement runs in a worker thread while the main thread waits, so SIGINT (Ctrl-C)
  reaches the main thread: it calls ``Session.cancel()`` (again every half second until the
  statement stops, in case it had not yet registered its cancel hook), and the statement then
  ends with ``QueryCancelled``, printed as ``Query cancelled.``. A statement that ignores
  three Ctrl-C is abandoned (left running in its daemon thread) with a warning.
- Results and errors go to the :class:`Renderer`. ``run_text`` returns an :class:`Outcome`:
  ``ok`` is false after the first failing statement (the rest of the text is not run) and
  ``quit`` is true when a ``QUIT``/``EXIT`` command was reached.
- Errors never escape ``run_text``; a non-``FlowSQLError`` is shown as an internal error.
- A streaming SELECT over unbounded input (a result carrying ``extra['stream']``) is shown
  live by :func:`flowsql.shell.live.show_stream` in the main thread, in the mode of
  ``sql-client.execution.result-mode`` (table | changelog | tableau) — always ``tableau`` in
  script mode or when stdin or stdout is not a terminal. Stopping it (Q, Ctrl-C) is not an
  error: the next statement runs. A job that fails while shown is an error.
- ``script`` (default: ``echo``, i.e. ``-f`` or a piped script) makes the runner remember the
  jobs that INSERT / STATEMENT SET submitted and wait for them at the end of ``run_text``
  (:class:`flowsql.shell.jobs.JobWaiter`); a job that FAILED (or a bounded job that did not
  finish) makes the outcome not ``ok``. ``STOP JOB`` prints the job's state afterwards.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flowsql.errors import QueryCancelled
from flowsql.session.result import Result
from flowsql.shell.commands import HELP_TEXT, Command, parse_command
from flowsql.shell.jobs import JobWaiter, job_state
from flowsql.shell.live import MODES, show_stream, summary_text
from flowsql.shell.materialize import DEFAULT_MAX_ROWS
from flowsql.shell.render import Renderer
from flowsql.shell.scanner import scan
from flowsql.sql import statements as st

PROMPT = "FlowSQL> "
CONTINUATION = " " * (len(PROMPT) - 2) + "> "
_RECANCEL_SECONDS = 0.5
_ABANDON_AFTER = 3  # Ctrl-C presses

T = TypeVar("T")


@dataclass
class Outcome:
    ok: bool = True
    quit: bool = False
    statements: int = 0  # statements executed successfully
    ddl: bool = False  # whether a statement may have changed the catalog's names


_NAME_CHANGING = (
    st.CreateTable,
    st.CreateView,
    st.DropTable,
    st.DropView,
    st.CreateDatabase,
    st.DropDatabase,
    st.UseCatalog,
    st.UseDatabase,
)


class _Abandoned(QueryCancelled):
    """The statement ignored cancellation and was left running in the background."""


class Runner:
    """Executes shell input on ``session`` and renders what happens."""

    def __init__(
        self,
        session: Any,
        renderer: Renderer,
        *,
        echo: bool = False,
        on_clear: Callable[[], None] | None = None,
        script: bool | None = None,
    ) -> None:
        self.session = session
        self.renderer = renderer
        self.echo = echo
        self.on_clear = on_clear
        self.script = echo if script is None else script
        self.jobs = JobWaiter(renderer, session)

    @property
    def verbose(self) -> bool:
        if self.renderer.verbose:
            return True
        try:
            return bool(self.session.config.get_bool("sql-client.verbose"))
        except Exception:  # noqa: BLE001 - a missing config must not break the shell
            return False

    # -- input -----------------------------------------------------------------------------
    def run_text(self, text: str) -> Outcome:
        outcome = self._run_text(text)
        if self.script and not self.jobs.wait_all():
            outcome.ok = False
        return outcome

    def _run_text(self, text: str) -> Outcome:
        outcome = Outcome()
        for piece in scan(text).pieces:
            command = parse_command(piece.text)
            if command is not None:
                if self.echo:
                    self.renderer.echo(piece.text, PROMPT, CONTINUATION)
                if self._command(command):
                    outcome.quit = True
                    return outcome
                continue
            if not self._run_piece(piece.text, piece.line, piece.col, outcome):
                outcome.ok = False
                return outcome
        return outcome

    def _command(self, command: Command) -> bool:
        """Answer a shell command; true when the shell should exit."""
        if command is Command.QUIT:
            self.renderer.text("Exiting FlowSQL.")
            return True
        if command is Command.HELP:
            self.renderer.text(HELP_TEXT)
            self.renderer.out.print()
        elif command is Command.CLEAR:
            if self.on_clear is not None:
                self.on_clear()
            else:
                self.renderer.out.clear()
        return False

    def _run_piece(self, text: str, line: int, col: int, outcome: Outcome) -> bool:
        """Split one piece into statements and run them; false at the first error."""
        try:
            parts = st.split_script(text)
        except Exception as error:  # noqa: BLE001 - every error is rendered, none escapes
            self._show_error(error)
            return False
        for part in parts:
            at_line = line + part.line - 1
            at_col = col + part.col - 1 if part.line == 1 else part.col
            if self.echo:
                self.renderer.echo(part.text, PROMPT, CONTINUATION)
            try:
                stmt = st.parse_statement(part.text, line=at_line, col=at_col)
                if isinstance(stmt, _NAME_CHANGING):
                    outcome.ddl = True
                result = self.call(lambda s=stmt: self.session.execute_statement(s))
            except KeyboardInterrupt:  # Ctrl-C outside the worker (e.g. while parsing)
                self._show_error(QueryCancelled("cancelled"))
                return False
            except Exception as error:  # noqa: BLE001 - rendered, never escapes
                self._show_error(error)
                return False
            outcome.statements += 1
            if not self._after(stmt, result):
                return False
        return True

    def _after(self, stmt: st.Statement, result: Result) -> bool:
        """Show ``result`` (live for a stream); track script jobs; false on failure."""
        for warning in result.warnings:
            self.renderer.text(f"[WARNING] {warning}", "yellow")
        stream = result.extra.get("stream")
        if stream is not None:
            return self._show_stream(stream)
        self._show_result(result)
        if isinstance(stmt, st.Insert | st.StatementSet) and result.job_id and self.script:
            self.jobs.add(result.job_id, bounded=bool(result.extra.get("bounded", True)))
        if isinstance(stmt, st.StopJob):
            state = job_state(stmt.job_id, self.session)
            if state:
                self.renderer.text(f"[INFO] Job {stmt.job_id} is {state}.")
                self.renderer.out.print()
        return True

    # -- live results ------------------------------------------------------------------------
    def result_mode(self) -> str:
        """How a streaming SELECT is shown (see module contract)."""
        if self.script or not self.renderer.out.is_terminal or not sys.stdin.isatty():
            return "tableau"
        mode = (self._config("sql-client.execution.result-mode") or "table").lower()
        return mode if mode in MODES else "table"

    def _config(self, key: str) -> str | None:
        try:
            return self.session.config.get(key)
        except Exception:  # noqa: BLE001 - a missing config must not break the shell
            return None

    def _show_stream(self, stream: Any) -> bool:
        out = self.renderer.out

        def write(text: str) -> None:
            out.file.write(text)
            out.file.flush()

        try:
            max_rows = int(self._config("sql-client.execution.max-table-result.rows") or 0)
        except ValueError:
            max_rows = 0
        mode = self.result_mode()
        try:
            summary = show_stream(
                stream,
                mode,
                write=write,
                time_zone=self._config("table.local-time-zone") or "UTC",
                max_rows=max_rows if max_rows > 0 else DEFAULT_MAX_ROWS,
            )
        except KeyboardInterrupt:  # Ctrl-C before the view took over: stop the query
            if not stream.done:
                stream.cancel()
            self._show_error(QueryCancelled("cancelled"))
            return True
        except Exception as error:  # noqa: BLE001 - the job failed: rendered, never escapes
            self._show_error(error)
            return False
        if mode != "tableau":
            self.renderer.text(summary_text(summary, mode, getattr(stream, "job_id", "?")))
        out.print()
        return True

    # -- rendering ---------------------------------------------------------------------------
    def _show_result(self, result: Result) -> None:
        time_zone = "UTC"
        try:
            time_zone = self.session.config.get("table.local-time-zone") or "UTC"
        except Exception:  # noqa: BLE001
            pass
        try:
            self.renderer.result(result, time_zone=time_zone)
        except Exception as error:  # noqa: BLE001 - a rendering bug must not kill the shell
            self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        verbose = self.renderer.verbose
        self.renderer.verbose = self.verbose
        try:
            self.renderer.error(error)
        finally:
            self.renderer.verbose = verbose

    # -- the worker thread -------------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread; Ctrl-C in the main thread cancels it (see contract)."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn()
            except BaseException as error:  # noqa: BLE001 - handed to the main thread
                box["error"] = error
            finally:
                done.set()

        worker = threading.Thread(target=work, name="flowsql-statement", daemon=True)
        worker.start()
        interrupts = 0
        while True:
            try:
                while not done.wait(_RECANCEL_SECONDS):
                    if interrupts:
                        self.session.cancel()
                break
            except KeyboardInterrupt:
                interrupts += 1
                self.session.cancel()
                if interrupts == 1 and self.renderer.out.is_terminal:
                    self.renderer.out.print()  # end the line where the terminal echoed ^C
                if interrupts == _ABANDON_AFTER - 1:
                    self.renderer.text(
                        "Cancelling the statement... (Ctrl-C once more to abandon it)", "yellow"
                    )
                elif interrupts >= _ABANDON_AFTER:
                    self.renderer.text(
                        "The statement did not stop; it keeps running in the background.",
                        "yellow",
                    )
                    raise _Abandoned("the statement was abandoned") from None
        if interrupts and "value" in box:
            stream = getattr(box["value"], "extra", {}).get("stream")
            if stream is not None:  # Ctrl-C came while the query started: stop it
                stream.cancel()
                raise QueryCancelled("cancelled")
        if "error" in box:
            error = box["error"]
            if interrupts and not isinstance(error, QueryCancelled):
                raise QueryCancelled(f"cancelled ({type(error).__name__}: {error})") from error
            raise error
        return box["value"]
