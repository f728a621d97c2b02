"""The interactive shell over a SQL gateway (``flowsql shell --gateway URL``), on a pty.

A real gateway process (``flowsql gateway`` on 127.0.0.1, a free port, its own home) and a
real shell process driven through a pseudo-terminal: the scenarios of the embedded shell —
a multi-line statement, a live result stopped with Ctrl-C, errors without a traceback (one
found by the shell's parser, one answered by the gateway) — plus SHOW JOBS / STOP JOB of a
job the gateway runs. No test asserts on elapsed time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway import gateway_process
from tests.shell.test_shell_live_pty import CTRL_C, Shell
from tests.waiting import until

CONTINUATION = "       >"
UNBOUNDED = ("CREATE TABLE u (id BIGINT, k INT) WITH ('connector' = 'datagen', "
             "'rows-per-second' = '2000', 'fields.k.min' = '1', 'fields.k.max' = '3');")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    with gateway_process.running(tmp_path / "gateway-home") as gw:
        yield gw.url


def shows_until(shell: Shell, state: str, timeout: float = 90.0) -> None:
    """Run SHOW JOBS until the output names ``state`` (each answer read whole)."""
    until(f"SHOW JOBS to show {state}", lambda: state in shell.run("SHOW JOBS;"),
          timeout=timeout, every=0.5)


@pytest.fixture
def shell(gateway: str, flowsql_home: Path) -> Iterator[Shell]:
    s = Shell(flowsql_home, "--gateway", gateway)
    s.prompt()
    yield s
    s.close()


def test_a_multi_line_statement_runs_on_the_gateway_session(shell: Shell) -> None:
    shell.child.send("SET 'pipeline.name'\r")
    shell.child.expect_exact(CONTINUATION)
    assert "[INFO] Execute statement succeeded." in shell.run("= 'over the gateway';")
    out = shell.run("SET;")
    assert re.search(r"pipeline\.name\s*\|\s*over the gateway", out), out


def test_errors_show_their_message_without_a_traceback(shell: Shell) -> None:
    out = shell.run("SELEC 1;")  # found by the shell's own parser
    assert "SQL parse error" in out and "Traceback" not in out
    out = shell.run("SELECT * FROM no_such_table;")  # answered by the gateway
    assert "no_such_table" in out and "Traceback" not in out
    assert "succeeded" in shell.run("SET 'pipeline.name' = 'still alive';")


def test_a_live_query_streams_until_ctrl_c_and_its_job_is_cancelled(shell: Shell) -> None:
    assert "succeeded" in shell.run("SET 'sql-client.execution.result-mode' = 'tableau';")
    assert "succeeded" in shell.run(UNBOUNDED)
    shell.child.send("SELECT id, k FROM u;\r")
    shell.child.expect(re.compile(r"\| +\+I \| +-?\d+ \| +[123] \|\r\n"))
    shell.child.send(CTRL_C)
    out = shell.prompt()
    assert re.search(r"Query terminated, received a total of \d+ rows", out), out
    assert "Traceback" not in out
    shows_until(shell, "CANCELED")  # cancelling is asynchronous


def test_an_insert_keeps_running_on_the_gateway_and_stop_job_ends_it(shell: Shell) -> None:
    shell.run(UNBOUNDED)
    shell.run("CREATE TABLE sink (id BIGINT, k INT) WITH ('connector' = 'blackhole');")
    out = shell.run("INSERT INTO sink SELECT id, k FROM u;")
    job = re.search(r"Job ID: ([0-9a-f]+)", out) or re.search(r"\b([0-9a-f]{32})\b", out)
    assert job, out
    shows_until(shell, "RUNNING")  # a busy machine may take a moment to deploy it
    out = shell.run(f"STOP JOB '{job.group(1)}';")
    assert "Execute statement succeeded" in out and "Traceback" not in out
