"""Apache Flink's benchmark scripts run unchanged on FlowSQL through the CLI.

``bench/nexmark/`` holds verbatim copies of the Flink baseline's SQL files
(``bid_source.sql`` + one query file each, listed with their SHA-256 in
``bench/nexmark/FLINK_BASELINE.sha256``, taken from the shared Flink baseline's ``sql/``
folder; the tests read only the repository) and FlowSQL's other Flink-compatible datagen
queries. Each of Flink's scripts runs as ``flowsql shell -f`` over ``bid_source.sql``
(``${ROWS}`` = 20000) followed by the query file: the process must exit 0 and its job must
reach FINISHED (the shell waits for submitted jobs before exiting). FlowSQL's other queries
run their scripts through the shell's runner in this process (what ``-f`` runs, without a
Python start-up per query): every statement must succeed and the job reach FINISHED.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowsql.session import Session
from flowsql.shell.render import Renderer, make_console
from flowsql.shell.runner import Runner

ROOT = Path(__file__).resolve().parents[2]
BENCH_SQL = ROOT / "bench" / "nexmark"
BASELINE = BENCH_SQL / "FLINK_BASELINE.sha256"
FLINK_QUERIES = ["q0_passthrough", "q1_projection", "q2_filter", "q5_tumble_count",
                 "q7_tumble_max", "hop_count", "groupby_agg", "src_only"]
OUR_QUERIES = ["q11_session", "q12_tumble_bidder", "q14_calc", "q17_group_day", "q21_regexp",
               "q22_split"]
ROWS = 20000


def _run(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "script.sql"
    path.write_text(script)
    env = {**os.environ, "FLOWSQL_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "flowsql", "shell", "-f", str(path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def _run_here(script: str, tmp_path: Path) -> None:
    """The script through the shell's runner (as ``flowsql shell -f`` runs it), in-process."""
    out = io.StringIO()
    session = Session(home=tmp_path / "home")
    try:
        outcome = Runner(session, Renderer(make_console(out)), echo=True).run_text(script)
    finally:
        session.close()
    text = out.getvalue()
    assert outcome.ok, text[-3000:]
    assert "FINISHED" in text and "FAILED" not in text, text[-3000:]


@pytest.mark.parametrize("query", FLINK_QUERIES)
def test_script_runs_unchanged(query, tmp_path):
    source = (BENCH_SQL / "bid_source.sql").read_text().replace("${ROWS}", str(ROWS))
    script = source + "\n" + (BENCH_SQL / f"{query}.sql").read_text()
    proc = _run(script, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "FINISHED" in proc.stdout and "FAILED" not in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize("query", OUR_QUERIES)
def test_our_datagen_queries_run(query, tmp_path):
    source = (BENCH_SQL / "bid_source.sql").read_text().replace("${ROWS}", str(ROWS))
    _run_here(source + "\n" + (BENCH_SQL / f"{query}.sql").read_text(), tmp_path)


def _baseline() -> dict[str, str]:
    lines = BASELINE.read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


@pytest.mark.parametrize("name", ["bid_source", *FLINK_QUERIES])
def test_copies_are_the_flink_baseline_unchanged(name):
    """The copies stay verbatim: an edit must show up as a checksum change in review."""
    digest = hashlib.sha256((BENCH_SQL / f"{name}.sql").read_bytes()).hexdigest()
    assert _baseline()[f"{name}.sql"] == digest


NEXMARK_QUERIES = sorted(p.stem for p in BENCH_SQL.glob("nexmark_q*.sql"))


@pytest.mark.parametrize("query", NEXMARK_QUERIES)
def test_nexmark_bench_queries_run(query, tmp_path):
    """bench/nexmark.py's queries on the nexmark connector (20,000 events)."""
    source = (BENCH_SQL / "nexmark_source.sql").read_text().replace("${EVENTS}", str(ROWS))
    _run_here(source + "\n" + (BENCH_SQL / f"{query}.sql").read_text(), tmp_path)


TABLE_QUERIES = ["q3_local_item", "q4_avg_price", "q5_hot_items", "q7_highest_bid",
                 "q8_new_users", "q9_winning_bids", "q18_last_bid", "q19_auction_top10",
                 "q20_expand_bid"]


@pytest.mark.parametrize("query", TABLE_QUERIES)
def test_nexmark_join_and_topn_queries_run(query, tmp_path):
    """bench/nexmark.py's join / Top-N queries on the three datagen tables (the same files
    bench/flink_compare.py runs on Flink), 20,000 events."""
    source = (BENCH_SQL / "nexmark_tables.sql").read_text()
    unit = ROWS // 50  # person : auction : bid = 1 : 3 : 46
    for name, rows in (("PERSONS", unit), ("AUCTIONS", 3 * unit), ("BIDS", 46 * unit)):
        source = source.replace("${" + name + "}", str(rows))
    _run_here(source + "\n" + (BENCH_SQL / f"{query}.sql").read_text(), tmp_path)
