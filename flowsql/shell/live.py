"""Live results of a streaming SELECT: Flink SQL client's table, changelog and tableau modes.

Contract (``stream`` is the session's ``StreamingQuery``: ``poll(timeout)``, ``schema``,
``changelog``, ``cancel()``, ``done``, ``job_id``; see :mod:`flowsql.session.streaming`):
- :func:`show_stream` shows ``stream`` in ``mode`` and returns a :class:`LiveSummary` once the
  user stopped it (Q or Ctrl-C) or the job ended. Whatever happens, the job is cancelled on
  the way out unless it already ended. A failing job raises its error (a ``FlowSQLError``)
  after the view is closed; a job cancelled from elsewhere (STOP JOB) just ends the view.
- ``tableau``: rows are printed as they arrive under a header drawn from the result types
  (:func:`flowsql.shell.tableau.layout_by_type`), with an ``op`` column when the result is a
  changelog; the end prints the closing border and ``Received a total of N rows``, or, when
  stopped with Ctrl-C, ``Query terminated, received a total of N rows``.
- ``table`` / ``changelog``: a full-screen prompt_toolkit application redrawn as results
  arrive: a title line, the latest rows that fit on the screen (table: the materialized result
  of :class:`~flowsql.shell.materialize.MaterializedResult`; changelog: the latest changes with
  their ``op``), and a status line (rows, job id, state, ``Press Q or Ctrl-C to stop``). Q or
  Ctrl-C closes it and returns to the caller, which then prints a one-line summary.
- A reader thread polls the stream and folds each group of waiting batches into the model
  under a lock; drawing only formats the rows on screen (a bounded count), a column at a time.

Why prompt_toolkit: the shell's prompt already runs on it, and its full-screen Application
reads Q / Ctrl-C as keys in raw mode and redraws only what changed; redraws are throttled
(``min_redraw_interval``) so a fast stream does not turn into a busy loop of repaints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from flowsql.errors import QueryCancelled
from flowsql.shell.materialize import DEFAULT_MAX_ROWS, ChangelogBuffer, MaterializedResult
from flowsql.shell.tableau import border, header, layout_by_type, layout_by_values, row_lines

MODES = ("table", "changelog", "tableau")
POLL_SECONDS = 0.25
_DRAIN_BATCHES = 256  # batches folded into the model per redraw at most
_REDRAW_SECONDS = 0.2
_CHROME_LINES = 2 + 4  # title + status, table borders and header


@dataclass
class LiveSummary:
    rows: int  # rows received (tableau, changelog) or rows of the materialized result (table)
    received: int  # changes received
    stopped: bool  # stopped by the user (Q / Ctrl-C) rather than ended by the job


def total_text(count: int, *, stopped: bool, what: str = "row") -> str:
    noun = what if count == 1 else what + "s"
    if stopped:
        return f"Query terminated, received a total of {count} {noun}"
    return f"Received a total of {count} {noun}"


def summary_text(summary: LiveSummary, mode: str, job_id: str) -> str:
    """The line printed once a table or changelog view is closed."""
    if mode == "table":
        text = total_text(summary.received, stopped=summary.stopped, what="change")
        rows = "row" if summary.rows == 1 else "rows"
        return f"{text}; the result had {summary.rows} {rows} (job {job_id})."
    return total_text(summary.received, stopped=summary.stopped) + f" (job {job_id})."


def show_stream(
    stream: Any,
    mode: str,
    *,
    write: Callable[[str], None],
    time_zone: str = "UTC",
    max_rows: int = DEFAULT_MAX_ROWS,
) -> LiveSummary:
    """Show ``stream`` live in ``mode`` (see module contract)."""
    try:
        if mode == "tableau":
            return _tableau(stream, write, time_zone)
        view = LiveView(stream, mode, time_zone=time_zone, max_rows=max_rows)
        return view.run()
    finally:
        if not stream.done:
            stream.cancel()


# -- tableau -----------------------------------------------------------------------------------
def _tableau(stream: Any, write: Callable[[str], None], time_zone: str) -> LiveSummary:
    layout = layout_by_type(stream.schema, stream.changelog)
    line = border(layout)
    write(f"{line}\n{header(layout)}\n{line}\n")
    total = 0
    try:
        while not stream.done:
            batch = stream.poll(POLL_SECONDS)
            if batch is None or batch.num_rows == 0:
                continue
            write("\n".join(row_lines(batch, layout, time_zone=time_zone)) + "\n")
            total += batch.num_rows
    except KeyboardInterrupt:
        stream.cancel()
        write(f"{line}\n{total_text(total, stopped=True)}\n")
        return LiveSummary(total, total, stopped=True)
    except QueryCancelled:  # stopped from elsewhere (STOP JOB)
        write(f"{line}\n{total_text(total, stopped=True)}\n")
        return LiveSummary(total, total, stopped=True)
    except BaseException:
        write(line + "\n")
        raise
    write(f"{line}\n{total_text(total, stopped=False)}\n")
    return LiveSummary(total, total, stopped=False)


# -- table and changelog views -------------------------------------------------------------
class LiveView:
    """The full-screen view of the table and changelog modes."""

    def __init__(self, stream: Any, mode: str, *, time_zone: str, max_rows: int) -> None:
        self.stream = stream
        self.mode = mode
        self.time_zone = time_zone
        model_type = MaterializedResult if mode == "table" else ChangelogBuffer
        self.model: MaterializedResult | ChangelogBuffer = model_type(
            stream.schema, max_rows=max_rows
        )
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.state = "RUNNING"
        self.stopped_by_user = False
        self._app: Any = None

    # -- the reader thread ---------------------------------------------------------------
    def _read(self) -> None:
        while not self.stop.is_set():
            try:
                batch = self.stream.poll(POLL_SECONDS)
                if batch is None:
                    if self.stream.done:
                        self.state = "FINISHED"
                        self._invalidate()
                        return
                    continue
                batches = [batch]
                while len(batches) < _DRAIN_BATCHES:  # fold what is already waiting
                    more = self.stream.poll(0)
                    if more is None:
                        break
                    batches.append(more)
                with self.lock:
                    self.model.add([b for b in batches if b.num_rows])
            except QueryCancelled:
                self.state = "CANCELED"
                self._invalidate()
                return
            except BaseException as error:  # noqa: BLE001 - shown once the view is closed
                if not self.stop.is_set():
                    self.error = error
                    self.state = "FAILED"
                    self._exit()
                return
            self._invalidate()

    def _invalidate(self) -> None:
        app = self._app
        if app is not None and app.is_running:
            app.invalidate()

    def _exit(self) -> None:
        app = self._app
        loop = getattr(app, "loop", None)
        if app is None or loop is None:
            return

        def leave() -> None:
            if app.is_running and not app.is_done:
                app.exit()

        loop.call_soon_threadsafe(leave)

    # -- drawing -------------------------------------------------------------------------
    def _title(self) -> list[tuple[str, str]]:
        name = "Table" if self.mode == "table" else "Changelog"
        return [("class:title", f" SQL Query Result ({name})  job {self.stream.job_id} ")]

    def _status(self) -> list[tuple[str, str]]:
        with self.lock:
            rows, received = self.model.rows, self.model.received
        if self.mode == "table":
            counts = f"Rows: {rows}  Changes received: {received}"
        else:
            counts = f"Changes received: {received}"
        state = self.state.lower()
        hint = "Press Q or Ctrl-C to stop" if state == "running" else "Press Q to return"
        return [("class:status", f" {counts} | Job: {self.stream.job_id} | {state} | {hint} ")]

    def _body(self) -> str:
        from prompt_toolkit.application import get_app

        size = get_app().output.get_size()
        room = max(size.rows - _CHROME_LINES, 1)
        with self.lock:
            shown: pa.Table = self.model.tail(room)
        layout, texts = layout_by_values(
            shown, self.stream.schema, self.mode == "changelog", time_zone=self.time_zone
        )
        line = border(layout)
        rows = row_lines(shown, layout, time_zone=self.time_zone, texts=texts)
        if not rows:
            waiting = "(waiting for results...)" if self.state == "RUNNING" else "(no rows)"
            return f"{line}\n{header(layout)}\n{line}\n{waiting}"
        return "\n".join([line, header(layout), line, *rows, line])

    # -- running -------------------------------------------------------------------------
    def run(self) -> LiveSummary:
        from prompt_toolkit.application import Application
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
        from prompt_toolkit.layout import HSplit, Layout, Window
        from prompt_toolkit.layout.controls import FormattedTextControl
        from prompt_toolkit.styles import Style

        bindings = KeyBindings()

        @bindings.add("q")
        @bindings.add("Q")
        @bindings.add("c-c")
        def _quit(event: KeyPressEvent) -> None:
            self.stopped_by_user = True
            event.app.exit()

        root = HSplit(
            [
                Window(FormattedTextControl(self._title), height=1, style="class:title"),
                Window(FormattedTextControl(self._body), wrap_lines=False),
                Window(FormattedTextControl(self._status), height=1, style="class:status"),
            ]
        )
        self._app = Application(
            layout=Layout(root),
            key_bindings=bindings,
            full_screen=True,
            mouse_support=False,
            min_redraw_interval=_REDRAW_SECONDS,
            style=Style.from_dict({"title": "reverse bold", "status": "reverse"}),
        )
        reader = threading.Thread(target=self._read, name="flowsql-live-result", daemon=True)
        try:
            self._app.run(pre_run=reader.start)
        except KeyboardInterrupt:
            self.stopped_by_user = True
        finally:
            self.stop.set()
            if not self.stream.done:
                self.stream.cancel()
            if reader.is_alive():
                reader.join(timeout=5)
        if self.error is not None:
            raise self.error
        with self.lock:
            rows, received = self.model.rows, self.model.received
        stopped = self.stopped_by_user or self.state == "RUNNING"
        return LiveSummary(rows, received, stopped=stopped)
