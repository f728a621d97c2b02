"""Live streaming results in the interactive shell, through a pseudo-terminal (pexpect).

The table and changelog views are full-screen prompt_toolkit applications that redraw only
what changed, moving the cursor over unchanged cells; so screen text is matched with
:func:`loose`, where a space may also be a cursor move. To read a whole screen again, a test
resizes the terminal, which makes the view redraw everything. Waits are generous and no test
asserts on elapsed time: each waits for evidence (rows, ops, counts) instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

REPO = Path(__file__).resolve().parents[2]
NEXMARK_SQL = REPO / "examples" / "nexmark.sql"
FRESH_PROMPT = re.compile(r"\x1b\[\?2004h[^\n]*?FlowSQL>")
CTRL_C = "\x03"
TIMEOUT = 90
ROWS, COLS = 40, 160
UNBOUNDED = (
    "CREATE TEMPORARY TABLE u (id BIGINT, k INT) WITH ('connector' = 'datagen', "
    "'rows-per-second' = '2000', 'fields.k.min' = '1', 'fields.k.max' = '3');"
)
_GAP = r"(?: |\x1b\[\d*C)+"  # a space on screen: printed, or skipped by a cursor move
FULL_STATUS = re.compile(r"\| Press Q(?: or Ctrl-C to stop| to return) ")  # ends a full redraw


def loose(text: str) -> re.Pattern[str]:
    """``text`` as drawn by a full-screen redraw (see module docstring)."""
    return re.compile(_GAP.join(re.escape(part) for part in text.split()))


class Shell:
    def __init__(self, home: Path, *args: str) -> None:
        env = dict(os.environ)
        env.update(FLOWSQL_HOME=str(home), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        for inherited in ("NO_COLOR", "COLUMNS", "LINES"):  # the pty's size decides the width
            env.pop(inherited, None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "flowsql", "shell", *args],
            env=env,
            cwd=str(home.parent),
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(ROWS, COLS),
        )
        self.wide = True

    def prompt(self) -> str:
        self.child.expect(FRESH_PROMPT)
        return self.child.before

    def run(self, statement: str) -> str:
        self.child.send(statement + "\r")
        return self.prompt()

    def expect(self, pattern: str | re.Pattern[str]) -> re.Match[str]:
        if isinstance(pattern, str):
            pattern = re.compile(re.escape(pattern))
        self.child.expect(pattern)
        return self.child.match

    def redraw(self) -> None:
        """Resize the terminal a little: a full-screen view then redraws everything."""
        self.wide = not self.wide
        self.child.setwinsize(ROWS, COLS if self.wide else COLS - 1)

    def screen_until(
        self,
        pattern: re.Pattern[str],
        until: Callable[[re.Match[str]], bool] = lambda match: True,
        tries: int = 90,
    ) -> re.Match[str]:
        """Redraw the full-screen view until ``pattern`` is on it (and ``until`` holds for
        the match); returns the match. A redraw that does not come is asked for again."""
        for _ in range(tries):
            self.child.expect(pexpect.TIMEOUT, timeout=1)  # let results arrive meanwhile
            self.redraw()
            found = self.child.expect([pattern, FULL_STATUS, pexpect.TIMEOUT], timeout=15)
            if found == 0 and until(self.child.match):
                return self.child.match
        raise AssertionError(f"{pattern.pattern!r} never appeared on the screen")

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


def test_tableau_prints_rows_until_ctrl_c_then_the_shell_goes_on(start) -> None:
    shell = start()
    shell.prompt()
    assert "succeeded" in shell.run("SET 'sql-client.execution.result-mode' = 'tableau';")
    assert "succeeded" in shell.run(UNBOUNDED)
    shell.child.send("SELECT id, k FROM u;\r")
    shell.expect("|                   id |           k |")
    shell.expect(re.compile(r"\| +-?\d+ \| +[123] \|\r\n"))
    shell.child.send(CTRL_C)
    out = shell.prompt()
    assert re.search(r"Query terminated, received a total of \d+ rows", out)
    assert "Traceback" not in out
    assert "succeeded" in shell.run("SET 'pipeline.name' = 'after the live query';")
    # cancelling is asynchronous: the job may still be RUNNING for a moment
    # (the live query is this shell's only job; prompt redraws may split the captured table)
    seen = ""
    for _ in range(20):
        seen += shell.run("SHOW JOBS;")
        if "CANCEL" in seen:
            break
    assert "CANCEL" in seen


def test_changelog_mode_shows_inserts_and_updates(start) -> None:
    shell = start()
    shell.prompt()
    shell.run("SET 'sql-client.execution.result-mode' = 'changelog';")
    shell.run(UNBOUNDED.replace("'2000'", "'500'"))  # slower: the first +I stay on screen
    shell.child.send("SELECT k, COUNT(*) AS c FROM u GROUP BY k;\r")
    shell.expect("SQL Query Result (Changelog)")
    shell.expect(loose("Press Q or Ctrl-C to stop"))
    shell.screen_until(loose("| +I |"))
    shell.screen_until(re.compile(r"\| -U" + _GAP + r"\|" + _GAP + r"[123]" + _GAP + r"\|"))
    shell.screen_until(re.compile(r"\| \+U" + _GAP + r"\|" + _GAP + r"[123]" + _GAP + r"\|"))
    shell.child.send("q")
    out = shell.prompt()
    assert re.search(r"Query terminated, received a total of \d+ rows \(job \w+\)\.", out)
    assert "succeeded" in shell.run("SET 'pipeline.name' = 'still here';")


def test_table_mode_materializes_updates_in_place(start) -> None:
    shell = start()
    shell.prompt()
    shell.run(UNBOUNDED)  # the default result mode is 'table'
    shell.child.send("SELECT k, COUNT(*) AS c FROM u GROUP BY k;\r")
    shell.expect("SQL Query Result (Table)")
    shell.screen_until(re.compile(r"\|" + _GAP + r"[123]" + _GAP + r"\|" + _GAP + r"\d+" + _GAP + r"\|"))
    status = re.compile(r"Rows: (\d+)  Changes received: (\d+) \|")
    counts: list[tuple[int, int]] = []

    def updated(match: re.Match[str]) -> bool:
        counts.append((int(match.group(1)), int(match.group(2))))
        return counts[-1][1] > 3  # an update arrived (the first 3 changes are the inserts)

    shell.screen_until(status, updated)
    assert all(rows <= 3 for rows, _ in counts)  # updates replace rows, never add any
    shell.child.send("Q")
    out = shell.prompt()
    summary = re.search(r"received a total of (\d+) changes; the result had (\d+) rows", out)
    assert summary, out
    assert int(summary.group(1)) > 3 and summary.group(2) == "3"


def test_nexmark_example_shows_live_hop_windows(start) -> None:
    """Acceptance 3: `flowsql shell -i examples/nexmark.sql` shows a live HOP window result;
    Ctrl-C stops it and the prompt opens with the example's tables."""
    shell = start("-i", str(NEXMARK_SQL))
    shell.expect("SQL Query Result (Table)")
    shell.expect(loose("window_start"))
    # The first 10 s window sliding by 2 s that holds the first event ends at 00:00:02.
    shell.screen_until(loose("| 2023-12-31 23:59:52.000 | 2024-01-01 00:00:02.000 |"))
    shell.child.send(CTRL_C)
    out = shell.prompt()
    assert "Query terminated, received a total of" in out
    assert "Welcome to FlowSQL" in out
    views = shell.run("SHOW VIEWS;")
    assert "bid" in views
    shell.child.send("quit;\r")
    shell.child.expect(pexpect.EOF)
    shell.child.close()
    assert shell.child.exitstatus == 0


def test_script_waits_for_bounded_insert_jobs(tmp_path: Path, flowsql_home: Path) -> None:
    out_dir = tmp_path / "out"
    script = tmp_path / "insert.sql"
    script.write_text(
        "CREATE TABLE g (id BIGINT, k INT) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '20000', 'seed' = '3');\n"
        f"CREATE TABLE f (id BIGINT, k INT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{out_dir}', 'format' = 'csv');\n"
        "CREATE TABLE p (k INT) WITH ('connector' = 'print');\n"
        "INSERT INTO f SELECT * FROM g;\n"
        "SET 'table.dml-sync' = 'true';\n"
        "INSERT INTO p SELECT k FROM g WHERE id > 0;\n"
        "SHOW JOBS;\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "flowsql", "shell", "-f", str(script)],
        cwd=tmp_path,
        env=dict(os.environ, FLOWSQL_HOME=str(flowsql_home)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = re.findall(r"Job ID: (\w+)", done.stdout)
    assert len(jobs) == 2
    for job_id in jobs:
        assert f"[INFO] Job {job_id} FINISHED." in done.stdout
    assert re.search(rf"{jobs[1]} \| insert-into_p: [^|]*\| FINISHED", done.stdout)
    rows = sum(len(f.read_text().splitlines()) for f in out_dir.iterdir())
    assert rows == 20000  # the file sink's output is complete when the shell has exited
    printed = len(re.findall(r"^\+I\[", done.stdout, flags=re.MULTILINE))
    assert printed == int(
        subprocess.run(  # the same count, from DuckDB over the same generated rows
            [sys.executable, "-c", _COUNT_POSITIVE_IDS],
            env=dict(os.environ, FLOWSQL_HOME=str(tmp_path / "count-home")),
            capture_output=True,
            text=True,
            timeout=300,
        ).stdout.strip()
    )
    assert "Traceback" not in done.stdout + done.stderr


_COUNT_POSITIVE_IDS = """
from flowsql.session import Session
s = Session()
s.execute_one("SET 'execution.runtime-mode' = 'batch';")
s.execute_one("CREATE TEMPORARY TABLE g (id BIGINT, k INT) WITH ("
              "'connector' = 'datagen', 'number-of-rows' = '20000', 'seed' = '3');")
print(s.execute_one("SELECT COUNT(*) FROM g WHERE id > 0;").table.column(0)[0].as_py())
"""
