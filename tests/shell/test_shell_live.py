"""Streaming statements through the runner and a real Session: tableau output, script jobs.

The live SELECTs read unbounded datagen tables; Ctrl-C is a real SIGINT sent to this process
once the first rows were printed. Nothing here depends on how long anything takes.
"""

from __future__ import annotations

import io
import os
import re
import signal
import threading
from pathlib import Path

import pyarrow.csv as pacsv

from flowsql.shell.render import Renderer, make_console
from flowsql.shell.runner import Runner

UNBOUNDED = (
    "CREATE TEMPORARY TABLE u (id BIGINT, k INT) WITH ('connector' = 'datagen', "
    "'rows-per-second' = '2000', 'fields.k.min' = '1', 'fields.k.max' = '3');\n"
)


class _Watched(io.StringIO):
    """Output that sets ``seen`` once ``pattern`` was written."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)
        self.seen = threading.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if not self.seen.is_set() and self.pattern.search(self.getvalue()):
            self.seen.set()
        return written


def _interrupt_when(event: threading.Event) -> threading.Thread:
    def send() -> None:
        if event.wait(120):
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _script_runner(session, out: io.StringIO) -> Runner:
    return Runner(session, Renderer(make_console(out)), echo=True)


def test_tableau_shows_a_changelog_and_ctrl_c_stops_it(session) -> None:
    out = _Watched(r"\| \+U \|")
    runner = _script_runner(session, out)
    sender = _interrupt_when(out.seen)
    outcome = runner.run_text(UNBOUNDED + "SELECT k, COUNT(*) AS c FROM u GROUP BY k;\nSHOW JOBS;")
    sender.join(5)
    text = out.getvalue()
    assert outcome.ok and outcome.statements == 3, text
    assert "| op |           k |                    c |" in text
    assert re.search(r"\| \+I \|\s+[123] \|\s+\d+ \|", text)
    assert re.search(r"\| -U \|\s+[123] \|\s+\d+ \|", text)
    assert re.search(r"Query terminated, received a total of \d+ rows", text)
    shown = text.split("SHOW JOBS;")[1]
    assert re.search(r"collect: SELECT k, COUNT\(\*\) AS c FROM u GROUP BY k\s*\|\s*CANCEL", shown)


def test_append_only_tableau_has_no_op_column(session) -> None:
    out = _Watched(r"\|\s+[123] \|\n")
    runner = _script_runner(session, out)
    sender = _interrupt_when(out.seen)
    outcome = runner.run_text(UNBOUNDED + "SELECT k FROM u WHERE k > 0;")
    sender.join(5)
    text = out.getvalue()
    assert outcome.ok, text
    assert "|           k |" in text and "| op |" not in text


def test_a_job_failing_while_shown_is_an_error(session) -> None:
    out = io.StringIO()
    runner = _script_runner(session, out)
    outcome = runner.run_text(
        "CREATE TEMPORARY TABLE s (s STRING) WITH ('connector' = 'datagen');\n"
        "SELECT CAST(s AS INT) AS n FROM s;\nSHOW TABLES;"
    )
    text = out.getvalue()
    assert not outcome.ok and outcome.statements == 2
    assert "cannot cast" in text and "TRY_CAST" in text
    assert "SHOW TABLES" not in text  # the script stopped at the failing statement


def test_script_waits_for_its_insert_jobs(session, tmp_path: Path) -> None:
    target = tmp_path / "out"
    out = io.StringIO()
    runner = _script_runner(session, out)
    outcome = runner.run_text(
        "CREATE TEMPORARY TABLE g (id BIGINT, k INT) WITH ("
        "'connector' = 'datagen', 'number-of-rows' = '5000', 'seed' = '1');\n"
        f"CREATE TEMPORARY TABLE f (id BIGINT, k INT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{target}', 'format' = 'csv');\n"
        "INSERT INTO f SELECT * FROM g;"
    )
    text = out.getvalue()
    assert outcome.ok, text
    job_id = re.search(r"Job ID: (\w+)", text).group(1)
    assert f"[INFO] Job {job_id} FINISHED." in text
    files = sorted(target.iterdir())
    assert files and sum(
        pacsv.read_csv(f, read_options=pacsv.ReadOptions(column_names=["id", "k"])).num_rows
        for f in files
    ) == 5000


def test_script_exits_non_zero_when_a_job_fails(session, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.csv").write_text("1,2\nabc,3\n")
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, Renderer(make_console(out), make_console(err)), echo=True)
    outcome = runner.run_text(
        f"CREATE TEMPORARY TABLE bad (a BIGINT, b BIGINT) WITH ("
        f"'connector' = 'filesystem', 'path' = '{bad}', 'format' = 'csv');\n"
        "CREATE TEMPORARY TABLE sink (a BIGINT, b BIGINT) WITH ('connector' = 'blackhole');\n"
        "INSERT INTO sink SELECT * FROM bad;"
    )
    assert not outcome.ok
    assert re.search(r"\[ERROR\] Job \w+ FAILED: .*abc", err.getvalue())
    assert "Traceback" not in out.getvalue() + err.getvalue()


def test_interactive_runner_does_not_wait_and_stop_job_reports_the_state(session) -> None:
    out = io.StringIO()
    runner = Runner(session, Renderer(make_console(out)))  # not a script: no waiting
    outcome = runner.run_text(
        UNBOUNDED + "CREATE TEMPORARY TABLE b (id BIGINT, k INT) WITH ('connector' = 'blackhole');\n"
        "INSERT INTO b SELECT * FROM u;"
    )
    assert outcome.ok, out.getvalue()
    job_id = re.search(r"Job ID: (\w+)", out.getvalue()).group(1)
    assert "Waiting for" not in out.getvalue()
    outcome = runner.run_text(f"STOP JOB '{job_id}';")
    assert outcome.ok, out.getvalue()
    assert f"[INFO] Job {job_id} is CANCELED." in out.getvalue()


def test_dml_sync_waits_for_the_job_and_ctrl_c_cancels_it(session) -> None:
    from flowsql.runtime.local import local_cluster

    out = io.StringIO()
    runner = Runner(session, Renderer(make_console(out)))
    runner.run_text(
        UNBOUNDED + "CREATE TEMPORARY TABLE b (id BIGINT, k INT) WITH ('connector' = 'blackhole');\n"
        "SET 'table.dml-sync' = 'true';\nSET 'pipeline.name' = 'dml-sync-job';"
    )
    known = {j.job_id for j in local_cluster().list_jobs()}
    running = threading.Event()

    def watch() -> None:  # set once the INSERT's job runs: the statement is then waiting
        for _ in range(2400):  # gives up after a while if the job never runs
            if any(
                j.job_id not in known and j.state == "RUNNING" for j in local_cluster().list_jobs()
            ):
                running.set()
                return
            threading.Event().wait(0.05)

    threading.Thread(target=watch, daemon=True).start()
    sender = _interrupt_when(running)
    outcome = runner.run_text("INSERT INTO b SELECT * FROM u;")
    sender.join(5)
    assert not outcome.ok
    assert "Query cancelled." in out.getvalue()
    (job,) = [j for j in local_cluster().list_jobs() if j.job_id not in known]
    assert local_cluster().wait(job.job_id, 30).state == "CANCELED"
