"""Common sub-expressions (per-batch memo), shared SPLIT_INDEX splits and the distinct-value
DATE_FORMAT path: same results as evaluating every expression on its own."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from flowsql.date_patterns import parse_pattern
from flowsql.expr import strings
from flowsql.expr.compile import compile_expression
from flowsql.expr.temporal import finest_unit, format_timestamps
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.calc import CalcOperator

INPUT = (("url", "STRING"), ("s", "STRING"), ("ts", "TIMESTAMP(3)"))
URLS = ["https://a.com/x/y/z?channel_id=7", "", None, "plain", "/a//b/", "a/b",
        "https://b.org/one/two/three/four?channel_id=", "x/y/z/w/v"]


def _batch(n: int, seed: int = 0) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    urls = [URLS[i] for i in rng.integers(0, len(URLS), n)]
    s = [["1", "2", "", "x", None][i] for i in rng.integers(0, 5, n)]
    ts = rng.integers(-10**11, 10**11, n) + 1_700_000_000_000
    return pa.record_batch({
        "url": pa.array(urls, pa.string()),
        "s": pa.array(s, pa.string()),
        "ts": pa.array(ts, pa.timestamp("ms")),
    })


def _run(op: CalcOperator, batches: list[pa.RecordBatch]) -> pa.Table:
    op.open(OperatorContext("calc-cse"))
    out = ListCollector()
    for b in batches:
        op.process_batch(b, out)
    return out.table(op.output_schema)


def _alone(text: str, batch: pa.RecordBatch) -> list:
    schema = CalcOperator([], None, INPUT).input_schema
    return compile_expression(text, schema).evaluate(batch).to_pylist()


def test_split_index_calls_share_one_split(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = strings.split_parts

    def counting(text, sep):  # noqa: ANN001, ANN202
        calls.append(1)
        return real(text, sep)

    monkeypatch.setattr(strings, "split_parts", counting)
    projections = [(f"d{i}", f"SPLIT_INDEX(url, '/', {i})") for i in range(6)]
    batches = [_batch(200, seed) for seed in range(3)]
    op = CalcOperator(projections, None, INPUT)
    op.compile()
    calls.clear()  # compiling dry-runs each kernel once
    table = _run(op, batches)
    assert len(calls) == len(batches)  # one split per batch for the six calls
    for name, text in projections:
        expected = [v for b in batches for v in _alone(text, b)]
        assert table.column(name).to_pylist() == expected


def test_split_index_semantics() -> None:
    batch = pa.record_batch({"url": pa.array(["a/b/c", "", None, "x", "a//b", "/"]),
                             "s": pa.array([None] * 6, pa.string()),
                             "ts": pa.array([0] * 6, pa.timestamp("ms"))})
    got = {i: _alone(f"SPLIT_INDEX(url, '/', {i})", batch) for i in range(3)}
    assert got[0] == ["a", None, None, "x", "a", ""]
    assert got[1] == ["b", None, None, None, "", ""]
    assert got[2] == ["c", None, None, None, "b", None]


def test_filter_values_reused_by_projections() -> None:
    rx = "REGEXP_EXTRACT(url, '(&|\\?)channel_id=([^&]*)', 2)"
    op = CalcOperator([("u", "url"), ("cid", f"CASE WHEN s = '1' THEN 'one' ELSE {rx} END"),
                       ("again", rx)], f"{rx} IS NOT NULL OR s = '1'", INPUT)
    batches = [_batch(300, seed) for seed in range(4)]
    table = _run(op, batches)
    keep = [pc.fill_null(pc.or_kleene(pc.is_valid(pa.array(_alone(rx, b), pa.string())),
                                pc.equal(b.column("s"), "1")), False) for b in batches]
    kept = [b.filter(k) for b, k in zip(batches, keep, strict=True)]
    assert table.column("u").to_pylist() == [v for b in kept for v in b.column("url").to_pylist()]
    assert table.column("again").to_pylist() == [v for b in kept for v in _alone(rx, b)]
    cid = "CASE WHEN s = '1' THEN 'one' ELSE " + rx + " END"
    assert table.column("cid").to_pylist() == [v for b in kept for v in _alone(cid, b)]
    assert op.compile().cse is not None and not op.compile().cse._values  # cleared per batch


def test_shared_cast_in_lazy_case_branches_sees_only_its_rows() -> None:
    # CAST(s AS INT) is shared, but each CASE evaluates it on its own subset of rows: a
    # value memoized for one subset must not be served to another (it would fail on 'x').
    op = CalcOperator([
        ("a", "CASE WHEN s IN ('1', '2') THEN CAST(s AS INT) END"),
        ("b", "CASE WHEN s = '2' THEN CAST(s AS INT) + 10 ELSE -1 END"),
    ], None, INPUT)
    batch = _batch(100, 5)
    table = _run(op, [batch])
    s = batch.column("s").to_pylist()
    assert table.column("a").to_pylist() == [int(v) if v in ("1", "2") else None for v in s]
    assert table.column("b").to_pylist() == [12 if v == "2" else -1 for v in s]


def test_repeat_within_one_expression() -> None:
    batch = _batch(100, 7)
    text = "CONCAT(UPPER(url), '|', UPPER(url))"
    expected = [None if u is None else f"{u.upper()}|{u.upper()}"
                for u in batch.column("url").to_pylist()]
    compiled = compile_expression(text, CalcOperator([], None, INPUT).input_schema)
    for b in (batch, batch.slice(10, 20), batch):
        assert compiled.evaluate(b).to_pylist() == expected[: b.num_rows] if b is batch else True
    assert compiled.evaluate(batch.slice(10, 20)).to_pylist() == expected[10:30]


@pytest.mark.parametrize("pattern", ["yyyy-MM-dd", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH",
                                     "HH:mm:ss", "yyyy-MM-dd HH:mm:ss", "EEE DDD ww", "yyyyMM"])
@pytest.mark.parametrize("spread", [10**6, 10**9, 10**12])
def test_date_format_distinct_path_matches_strftime(pattern: str, spread: int) -> None:
    rng = np.random.default_rng(spread % 97)
    values = rng.integers(-spread, spread, 3000) + 1_700_000_000_000
    ts = pa.array(values, pa.timestamp("ms"))
    ts = pc.if_else(pa.array(rng.random(3000) < 0.1), pa.scalar(None, ts.type), ts)
    (segment,) = parse_pattern(pattern).segments("arrow")
    fmt = segment.format
    seconds = pc.cast(pc.floor_temporal(ts, unit="second"), pa.timestamp("s"), safe=False)
    assert format_timestamps(ts, pattern, "UTC").equals(pc.strftime(seconds, format=fmt))
    ltz = pc.cast(ts, pa.timestamp("ms", tz="UTC"))
    local = pc.local_timestamp(pc.cast(ltz, pa.timestamp("ms", tz="Asia/Kolkata")))
    seconds = pc.cast(pc.floor_temporal(local, unit="second"), pa.timestamp("s"), safe=False)
    assert format_timestamps(ltz, pattern, "Asia/Kolkata").equals(
        pc.strftime(seconds, format=fmt))


def test_finest_unit() -> None:
    assert finest_unit("%Y-%m-%d") == "day"
    assert finest_unit("%Y-%m-%d %H") == "hour"
    assert finest_unit("%H:%M") == "minute"
    assert finest_unit("%H:%M:%S") == "second"
    assert finest_unit("%%H %Y") == "day"
    assert finest_unit("%c") == "second"
