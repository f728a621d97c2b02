"""The runner: shell commands, statements through a real Session, Ctrl-C cancellation."""

from __future__ import annotations

import importlib.util
import io
import os
import signal
import threading

import pytest

from flowsql.errors import ExecutionError, QueryCancelled
from flowsql.shell.render import Renderer, make_console
from flowsql.shell.runner import Runner

needs_parser = pytest.mark.skipif(
    importlib.util.find_spec("flowsql.sql.parser") is None
    or importlib.util.find_spec("flowsql.sql.splitter") is None,
    reason="the SQL parser/splitter (flowsql/sql/parser.py, splitter.py) has not landed yet",
)


def _runner(session, *, echo: bool = False, verbose: bool = False) -> tuple[Runner, io.StringIO]:
    buffer = io.StringIO()
    return Runner(session, Renderer(make_console(buffer), verbose=verbose), echo=echo), buffer


def _interrupt_when(started: threading.Event, times: int = 1) -> threading.Thread:
    """SIGINT this process (as Ctrl-C does) once ``started`` is set, ``times`` times."""

    def send() -> None:
        started.wait(30)
        for _ in range(times):
            threading.Event().wait(0.2)  # let the main thread settle into its wait
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_shell_commands(session) -> None:
    cleared: list[bool] = []
    buffer = io.StringIO()
    runner = Runner(session, Renderer(make_console(buffer)), on_clear=lambda: cleared.append(True))
    outcome = runner.run_text("help;\nCLEAR")
    assert outcome.ok and not outcome.quit
    assert "SHOW CREATE TABLE" in buffer.getvalue() and "QUIT, EXIT" in buffer.getvalue()
    assert cleared == [True]
    outcome = runner.run_text("Quit; SELECT 1;")
    assert outcome.quit and outcome.statements == 0
    assert "Exiting FlowSQL." in buffer.getvalue()


def test_ctrl_c_cancels_the_running_call(session) -> None:
    started, cancelled = threading.Event(), threading.Event()
    session.add_cancel_hook(cancelled.set)

    def statement() -> str:
        started.set()
        if cancelled.wait(30):
            raise QueryCancelled("cancelled")
        return "finished"

    runner, buffer = _runner(session)
    sender = _interrupt_when(started)
    with pytest.raises(QueryCancelled):
        runner.call(statement)
    sender.join()
    assert cancelled.is_set()
    assert runner.call(lambda: 42) == 42  # the runner (and session) still work


def test_cancel_is_repeated_until_the_statement_registers_its_hook(session) -> None:
    """A Ctrl-C that lands before the statement installs its cancel hook is not lost."""
    started, cancelled = threading.Event(), threading.Event()

    def statement() -> None:
        started.set()
        threading.Event().wait(1.0)  # Ctrl-C arrives while no hook is registered
        session.add_cancel_hook(cancelled.set)
        try:
            if cancelled.wait(30):
                raise QueryCancelled("cancelled")
        finally:
            session.remove_cancel_hook(cancelled.set)

    runner, _ = _runner(session)
    _interrupt_when(started)
    with pytest.raises(QueryCancelled):
        runner.call(statement)


def test_an_error_after_cancel_counts_as_cancelled(session) -> None:
    started, cancelled = threading.Event(), threading.Event()
    session.add_cancel_hook(cancelled.set)

    def statement() -> None:
        started.set()
        cancelled.wait(30)
        raise ExecutionError("interrupted by the engine")

    runner, _ = _runner(session)
    _interrupt_when(started)
    with pytest.raises(QueryCancelled):
        runner.call(statement)


def test_a_statement_ignoring_ctrl_c_is_abandoned_after_three(session) -> None:
    started, release = threading.Event(), threading.Event()

    def statement() -> None:
        started.set()
        release.wait(30)

    runner, buffer = _runner(session)
    _interrupt_when(started, times=3)
    with pytest.raises(QueryCancelled):
        runner.call(statement)
    release.set()
    assert "keeps running in the background" in buffer.getvalue()


def test_errors_in_the_worker_reach_the_caller(session) -> None:
    runner, _ = _runner(session)
    with pytest.raises(ZeroDivisionError):
        runner.call(lambda: 1 / 0)


@needs_parser
def test_statements_run_and_render(session) -> None:
    runner, buffer = _runner(session, echo=True)
    outcome = runner.run_text("SET 'execution.runtime-mode'\n  = 'batch';\nSET;")
    assert outcome.ok and outcome.statements == 2
    text = buffer.getvalue()
    assert "FlowSQL> SET 'execution.runtime-mode'\n       >   = 'batch';" in text
    assert "[INFO] Execute statement succeeded." in text
    assert "execution.runtime-mode" in text and "batch" in text
    assert "1 row in set" in text


@needs_parser
def test_first_error_stops_and_points_into_the_script(session) -> None:
    runner, buffer = _runner(session)
    outcome = runner.run_text("SET 'a' = 'b';\n\nSELEC 1;\nSET 'c' = 'd';")
    assert not outcome.ok and outcome.statements == 1
    text = buffer.getvalue()
    assert "line 3" in text
    assert "Traceback" not in text
    assert session.config.get("c") is None
