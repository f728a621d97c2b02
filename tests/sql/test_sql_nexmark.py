"""Nexmark DDL, views and q0–q22, plus the Flink benchmark scripts: split, parse, round-trip."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from flowsql.sql import statements as st

# The Flink baseline's benchmark scripts, copied verbatim into the repository
BENCH_DIR = Path(__file__).resolve().parents[2] / "bench" / "nexmark"
FLINK_SCRIPTS = [line.split()[1] for line in (BENCH_DIR / "FLINK_BASELINE.sha256").read_text().splitlines()
                 if line.strip()]


def _load_nexmark():
    spec = importlib.util.spec_from_file_location("nexmark_sql", Path(__file__).with_name("nexmark_sql.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DDL, module.QUERIES


DDL, QUERIES = _load_nexmark()


def _roundtrip(stmt: st.Statement) -> None:
    again = st.parse_statement(st.to_sql(stmt))
    assert again == stmt, st.to_sql(stmt)


def test_nexmark_ddl_parses_and_round_trips():
    stmts = st.parse_script(DDL)
    assert [type(s) for s in stmts] == [st.CreateTable, st.CreateView, st.CreateView, st.CreateView, st.CreateTable]
    datagen = stmts[0]
    assert isinstance(datagen, st.CreateTable)
    assert [c.name for c in datagen.columns] == ["event_type", "person", "auction", "bid", "dateTime"]
    assert datagen.columns[3].data_type == (
        "ROW<`auction` BIGINT, `bidder` BIGINT, `price` BIGINT, `channel` STRING, `url` STRING, "
        "`dateTime` TIMESTAMP(3), `extra` STRING>"
    )
    assert datagen.columns[4].kind == "computed"
    assert datagen.columns[4].expression.startswith("CASE WHEN event_type = 0 THEN person.dateTime")
    assert datagen.watermark.column == "dateTime"
    assert datagen.watermark.expression == "dateTime - INTERVAL '4' SECOND"
    assert datagen.options["connector"] == "nexmark"
    for s in stmts:
        _roundtrip(s)


@pytest.mark.parametrize("name", sorted(QUERIES, key=lambda q: int(q[1:])))
def test_nexmark_query_parses_as_insert_and_round_trips(name):
    stmt = st.parse_statement(QUERIES[name])
    assert isinstance(stmt, st.Insert)
    _roundtrip(stmt)


def test_nexmark_window_and_temporal_shapes():
    q5 = st.parse_statement(QUERIES["q5"])
    from flowsql.sql.expressions import WindowTVF

    tvfs = list(q5.query.find_all(WindowTVF))
    assert [t.kind for t in tvfs] == ["HOP", "HOP"]
    assert [i.sql("flink") for i in tvfs[0].args["intervals"]] == ["INTERVAL '2' SECOND", "INTERVAL '10' SECOND"]
    q13 = st.parse_statement(QUERIES["q13"])
    assert "FOR SYSTEM_TIME AS OF B.p_time AS S" in st.to_sql(q13)


def test_flink_bench_scripts_are_in_the_repository():
    assert len(FLINK_SCRIPTS) == 9 and all((BENCH_DIR / name).is_file() for name in FLINK_SCRIPTS)


@pytest.mark.parametrize("name", FLINK_SCRIPTS)
def test_flink_bench_scripts_split_and_parse(name):
    text = (BENCH_DIR / name).read_text().replace("${ROWS}", "1000")
    stmts = st.parse_script(text)
    assert stmts
    for s in stmts:
        _roundtrip(s)
