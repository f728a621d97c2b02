"""`flowsql` / `python -m flowsql` as a subprocess, without a terminal (scripts, stdin, flags)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def flowsql(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowsql", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_version(tmp_path: Path) -> None:
    done = flowsql("version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("FlowSQL 0.1.0")
    assert "sqlglot 30.30.0" in done.stdout


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "flowsql"
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable} (package not installed)")
    done = subprocess.run(
        [str(script), "shell"], cwd=tmp_path, input="HELP\n", capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "FlowSQL> HELP;" in done.stdout


def test_an_unreachable_gateway_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    done = flowsql("shell", "--gateway", url, "-f", "/dev/null", cwd=tmp_path)
    assert done.returncode == 1
    assert f"cannot reach the gateway at {url}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_gateway_and_jobmanager_exclude_each_other(tmp_path: Path) -> None:
    done = flowsql("shell", "--gateway", "http://127.0.0.1:1", "--jobmanager", "127.0.0.1:2",
                   cwd=tmp_path)
    assert done.returncode == 2 and "exclude each other" in done.stderr


def test_missing_script_is_an_error(tmp_path: Path) -> None:
    done = flowsql("shell", "-f", str(tmp_path / "nope.sql"), cwd=tmp_path)
    assert done.returncode == 1
    assert "cannot read script" in done.stderr and "nope.sql" in done.stderr
    assert "Traceback" not in done.stderr


def test_script_with_shell_commands_only(tmp_path: Path) -> None:
    script = tmp_path / "help.sql"
    script.write_text("-- just the help\nHELP;\n")
    done = flowsql("shell", "-f", str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "FlowSQL> HELP;" in done.stdout
    assert "QUIT, EXIT" in done.stdout
    assert "\x1b[" not in done.stdout


def test_quit_in_a_script_stops_it(tmp_path: Path) -> None:
    script = tmp_path / "quit.sql"
    script.write_text("QUIT;\nTHIS IS NOT SQL;\n")
    done = flowsql("shell", "-f", str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Exiting FlowSQL." in done.stdout


def test_script_runs_and_prints_each_result(tmp_path: Path, flowsql_home: Path) -> None:
    script = tmp_path / "ok.sql"
    script.write_text(
        "SET 'execution.runtime-mode'\n  = 'batch';\n"
        "SET 'pipeline.name' = 'my job';  -- a comment\n"
        "SET;\n"
    )
    done = flowsql("shell", "-f", str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "FlowSQL> SET 'execution.runtime-mode'\n       >   = 'batch';" in out
    assert out.count("[INFO] Execute statement succeeded.") == 2
    assert "my job" in out and "2 rows in set" in out
    assert (flowsql_home / "catalog.db").exists()


def test_script_stops_at_the_first_error(tmp_path: Path) -> None:
    script = tmp_path / "bad.sql"
    script.write_text("SET 'a' = 'b';\n\nSELEC oops FROM t;\nSET 'never' = 'run';\n")
    done = flowsql("shell", "-f", str(script), cwd=tmp_path)
    assert done.returncode == 1
    assert "line 3" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "'never'" not in done.stdout


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    script = tmp_path / "bad.sql"
    script.write_text("SELEC oops;\n")
    done = flowsql("shell", "--verbose", "-f", str(script), cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" in done.stderr


def test_init_then_file_and_home(tmp_path: Path) -> None:
    home = tmp_path / "elsewhere"
    init = tmp_path / "init.sql"
    init.write_text("SET 'pipeline.name' = 'from-init';\n")
    script = tmp_path / "main.sql"
    script.write_text("SET;\n")
    done = flowsql("shell", "--home", str(home), "-i", str(init), "-f", str(script), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "FlowSQL> SET 'pipeline.name'" not in done.stdout  # init statements are not echoed
    assert "from-init" in done.stdout
    assert (home / "catalog.db").exists()


def test_stdin_that_is_not_a_terminal_runs_as_a_script(tmp_path: Path) -> None:
    done = flowsql("shell", cwd=tmp_path, stdin="SET 'k' = 'v';\nSET;\n")
    assert done.returncode == 0, done.stderr
    assert "FlowSQL> SET;" in done.stdout and "1 row in set" in done.stdout


def test_catalog_memory_reruns_a_create_table_script(tmp_path: Path) -> None:
    script = tmp_path / "job.sql"
    script.write_text(
        "CREATE TABLE t (a INT) WITH ('connector' = 'datagen', 'number-of-rows' = '2');\n"
        "SELECT COUNT(*) AS c FROM t;\n"
    )
    for _ in range(2):
        done = flowsql("shell", "--catalog", "memory", "-f", str(script), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    first = flowsql("shell", "-f", str(script), cwd=tmp_path)  # the persistent catalog
    assert first.returncode == 0, first.stderr
    again = flowsql("shell", "-f", str(script), cwd=tmp_path)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "--catalog memory" in again.stderr
    assert "Traceback" not in again.stderr


def test_catalog_kind_is_validated(tmp_path: Path) -> None:
    done = flowsql("shell", "--catalog", "hive", "-f", "/dev/null", cwd=tmp_path)
    assert done.returncode == 1
    assert "table.catalog.default.kind" in done.stderr and "Traceback" not in done.stderr
