"""The interactive shell driven through a pseudo-terminal (pexpect), as a user would.

Output arrives with terminal escape codes (prompt_toolkit redraws, rich colours), so the
tests wait for plain text fragments that a redraw never splits: result messages, table
cells, the ``FlowSQL>`` prompt. Timeouts are generous; no test asserts on elapsed time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

PROMPT = "FlowSQL>"  # the trailing space is drawn as a cursor move, so it is not matched
# A fresh prompt: prompt_toolkit turns bracketed paste on, then draws the prompt. Redraws of
# the prompt line while typing or on Enter do not turn it on again.
FRESH_PROMPT = re.compile(r"\x1b\[\?2004h[^\n]*?" + PROMPT)
CONTINUATION = "       >"
UP = "\x1b[A"
CTRL_C = "\x03"
CTRL_D = "\x04"
TIMEOUT = 60

class Shell:
    """One ``python -m flowsql shell`` process on a pseudo-terminal."""

    def __init__(self, home: Path, *args: str) -> None:
        env = dict(os.environ)
        env.update(FLOWSQL_HOME=str(home), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        env.pop("NO_COLOR", None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "flowsql", "shell", *args],
            env=env,
            cwd=str(home.parent),
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(50, 200),
        )

    def prompt(self) -> str:
        """Wait for the next fresh prompt; returns everything printed before it."""
        self.child.expect(FRESH_PROMPT)
        return self.child.before

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def expect(self, text: str) -> str:
        self.child.expect_exact(text)
        return self.child.before

    def run(self, statement: str) -> str:
        """Type a statement, wait for the next prompt, return what was printed."""
        self.line(statement)
        return self.prompt()

    def exit_code(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def start(flowsql_home: Path) -> Iterator:
    shells: list[Shell] = []

    def launch(*args: str) -> Shell:
        shell = Shell(flowsql_home, *args)
        shells.append(shell)
        return shell

    yield launch
    for shell in shells:
        shell.close()


def test_help_and_quit(start) -> None:
    shell = start()
    assert "Welcome to FlowSQL" in shell.prompt()
    assert "QUIT, EXIT" in shell.run("help;")
    assert "Up/Down recall" in shell.run("HELP")  # without ';'
    shell.line("QuIt")
    assert shell.exit_code() == 0


def test_ctrl_d_exits(start) -> None:
    shell = start()
    shell.prompt()
    shell.child.send(CTRL_D)
    assert shell.exit_code() == 0


def test_ctrl_c_at_the_prompt_clears_the_input(start) -> None:
    shell = start()
    shell.prompt()
    shell.child.send("SELEC garbage")
    shell.child.send(CTRL_C)
    shell.prompt()
    out = shell.run("help;")  # would be "SELEC garbagehelp;" had the input been kept
    assert "QUIT, EXIT" in out
    assert shell.child.isalive()
    shell.line("exit;")
    assert shell.exit_code() == 0


def test_incomplete_input_continues_on_the_next_line(start) -> None:
    shell = start()
    shell.prompt()
    shell.line("-- a comment line;")
    shell.expect(CONTINUATION)
    out = shell.run("help;")
    assert "QUIT, EXIT" in out


def test_history_recall_and_persistence(start, flowsql_home: Path) -> None:
    shell = start()
    shell.prompt()
    shell.run("help;")
    shell.child.send(UP)
    assert "QUIT, EXIT" in shell.run("")  # Up + Enter runs it again
    shell.line("quit;")
    assert shell.exit_code() == 0
    history = (flowsql_home / "history").read_text()
    assert "+help;" in history and "+quit;" in history

    again = start()
    again.prompt()
    again.child.send(UP + UP)  # quit; then help; from the previous session
    assert "QUIT, EXIT" in again.run("")


def test_script_file_with_a_terminal_creates_no_prompt(start, flowsql_home: Path) -> None:
    script = flowsql_home.parent / "s.sql"
    script.write_text("HELP;\n")
    shell = start("-f", str(script))
    out = shell.expect("QUIT, EXIT")
    assert "FlowSQL> HELP;" in out
    assert shell.exit_code() == 0
    assert "\x1b[?2004h" not in shell.child.before  # prompt_toolkit never took the terminal


def test_multi_line_statement_then_set_lists_it(start) -> None:
    shell = start()
    shell.prompt()
    shell.line("SET 'execution.runtime-mode'")
    shell.expect(CONTINUATION)
    out = shell.run("= 'batch';")
    assert "[INFO] Execute statement succeeded." in out
    out = shell.run("SET;")
    assert re.search(r"execution\.runtime-mode\s*\|\s*batch", out)
    assert "1 row in set" in out


def test_history_recalls_a_multi_line_statement(start) -> None:
    shell = start()
    shell.prompt()
    shell.line("SET 'pipeline.name'")
    shell.expect(CONTINUATION)
    shell.run("= 'first';")
    shell.run("RESET;")
    shell.child.send(UP + UP)
    assert "[INFO] Execute statement succeeded." in shell.run("")
    assert "first" in shell.run("SET;")


def test_an_error_shows_its_message_without_a_traceback(start) -> None:
    shell = start()
    shell.prompt()
    out = shell.run("SELEC 1;")
    assert "SQL parse error" in out
    assert "Traceback" not in out
    out = shell.run("SET 'execution.runtime-mode' = 'nonsense';")
    assert "invalid value 'nonsense'" in out and "Traceback" not in out
    assert "Execute statement succeeded" in shell.run("SET 'pipeline.name' = 'still alive';")


def test_ctrl_c_cancels_a_long_query(start) -> None:
    shell = start()
    shell.prompt()
    shell.run("SET 'execution.runtime-mode' = 'batch';")
    out = shell.run(
        "CREATE TABLE big (a BIGINT, b BIGINT, s STRING) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '2000000000');"
    )
    assert "Error" not in out, out
    shell.line("SELECT COUNT(DISTINCT a), SUM(b), MAX(s) FROM big;")
    # No output marks "running"; the query needs far longer than this wait to finish.
    shell.child.expect(pexpect.TIMEOUT, timeout=2)
    shell.child.send(CTRL_C)
    assert "Query cancelled." in shell.prompt()
    out = shell.run("SET 'pipeline.name' = 'after cancel';")
    assert "[INFO] Execute statement succeeded." in out
    shell.line("quit;")
    assert shell.exit_code() == 0


def test_tab_completes_a_table_created_in_this_shell(start) -> None:
    shell = start()
    shell.prompt()
    out = shell.run(
        "CREATE TABLE orders_by_region (region STRING, amount BIGINT) "
        "WITH ('connector' = 'datagen', 'number-of-rows' = '5');"
    )
    assert "[INFO] Execute statement succeeded." in out
    shell.child.send("DESCRIBE orders_by\t")  # the only candidate: completed in place
    out = shell.run(";")
    assert "amount" in out and "2 rows in set" in out
    shell.child.send("SET 'execution.runtime-m\t")
    out = shell.run(" = 'batch';")
    assert "[INFO] Execute statement succeeded." in out
