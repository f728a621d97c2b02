"""``/*+ STATE_TTL(...) */``: validation, the planned operator's param, and the TTL it runs
with (processing time, a fake clock as in tests/operators/test_group_aggregate.py)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from flowsql.errors import ValidationError
from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.registry import BuildEnv, default_registry
from flowsql.planner.plan import plan_query
from flowsql.sql.parser import parse_query

DDL = """
CREATE TABLE t (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE u (k STRING, v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE VIEW big AS SELECT k, v FROM t WHERE v > 0;
"""


@pytest.fixture
def s(session):
    session.execute_one(DDL)
    return session


def _aggs(session, sql):
    graph = plan_query(session, parse_query(sql)).graph
    return [op for op in graph.operators if op.kind == "group-aggregate"]


@pytest.mark.parametrize("sql, ttl", [
    ("SELECT /*+ STATE_TTL('t' = '1h') */ k, COUNT(*) FROM t GROUP BY k", 3_600_000),
    ("SELECT /*+ STATE_TTL(x = '90 s') */ k, COUNT(*) FROM t AS x GROUP BY k", 90_000),
    ("SELECT /*+ state_ttl('t' = '2d') */ k, COUNT(*) FROM t AS x GROUP BY k", 172_800_000),
    ("SELECT /*+ STATE_TTL('big' = '1000') */ k, SUM(v) FROM big GROUP BY k", 1000),
    ("SELECT /*+ STATE_TTL('sub' = '1 min') */ k, COUNT(*) FROM (SELECT k FROM t) AS sub "
     "GROUP BY k", 60_000),
    ("SELECT /*+ STATE_TTL('t' = '5 s') */ DISTINCT k FROM t", 5000),
    ("SELECT /*+ STATE_TTL('t' = '0') */ k, COUNT(*) FROM t GROUP BY k", 0),
])
def test_the_hint_sets_the_group_aggregate_ttl(s, sql, ttl):
    (agg,) = _aggs(s, sql)
    assert agg.params["state_ttl_ms"] == ttl


def test_without_a_hint_the_operator_has_no_ttl_param(s):
    s.execute_one("SET 'table.exec.state.ttl' = '1 h'")
    (agg,) = _aggs(s, "SELECT k, COUNT(*) FROM t GROUP BY k")
    assert "state_ttl_ms" not in agg.params  # the operator reads table.exec.state.ttl


def test_the_hint_applies_to_its_own_query_block_only(s):
    inner, outer = _aggs(s, (
        "SELECT /*+ STATE_TTL('q' = '2 h') */ c, COUNT(*) FROM ("
        "  SELECT /*+ STATE_TTL('t' = '1 h') */ k, COUNT(*) AS c FROM t GROUP BY k) AS q "
        "GROUP BY c"))
    assert (inner.params["state_ttl_ms"], outer.params["state_ttl_ms"]) == (3_600_000, 7_200_000)
    plain, hinted = _aggs(s, (
        "SELECT /*+ STATE_TTL('q' = '2 h') */ c, COUNT(*) FROM ("
        "  SELECT k, COUNT(*) AS c FROM t GROUP BY k) AS q GROUP BY c"))
    assert "state_ttl_ms" not in plain.params and hinted.params["state_ttl_ms"] == 7_200_000


def test_the_two_phase_global_operator_takes_the_ttl(s):
    s.execute_one("SET 'parallelism.default' = '2'")
    s.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    (agg,) = _aggs(s, "SELECT /*+ STATE_TTL('t' = '1h') */ k, COUNT(*) FROM t GROUP BY k")
    assert agg.params["merge"] is True and agg.params["state_ttl_ms"] == 3_600_000


def test_explain_shows_the_hinted_ttl(s):
    text = s.execute_one(
        "EXPLAIN SELECT /*+ STATE_TTL('t' = '1 min') */ k, COUNT(*) FROM t GROUP BY k").message
    assert "stateTtl=[60000 ms]" in text


def test_a_bad_duration_names_the_hint_and_the_key(s):
    with pytest.raises(ValidationError, match="STATE_TTL hint gives 't' the value 'soon'") as e:
        s.execute_one("SELECT /*+ STATE_TTL('t' = 'soon') */ k, COUNT(*) FROM t GROUP BY k")
    assert "'1d'" in (e.value.hint or "")
    with pytest.raises(ValidationError, match="STATE_TTL hint gives 't' the value 5"):
        s.execute_one("SELECT /*+ STATE_TTL('t' = 5) */ k, COUNT(*) FROM t GROUP BY k")


def test_an_unknown_name_is_an_error_listing_the_inputs(s):
    with pytest.raises(ValidationError, match="names 'orders', which is not an input") as e:
        s.execute_one("SELECT /*+ STATE_TTL('orders' = '1d') */ k, COUNT(*) FROM t AS x GROUP BY k")
    assert e.value.hint.startswith("its inputs: x, t")
    # a table of another query block is not an input of this one
    with pytest.raises(ValidationError, match="names 't', which is not an input"):
        s.execute_one("SELECT /*+ STATE_TTL('t' = '1d') */ k, COUNT(*) FROM "
                      "(SELECT k FROM t) AS sub GROUP BY k")


def test_join_hints_are_validated_and_set_each_side_ttl(s):
    with pytest.raises(ValidationError, match="names 'orders'"):
        s.execute_one("SELECT /*+ STATE_TTL('x' = '1d', 'orders' = '2d') */ * "
                      "FROM t AS x JOIN u ON x.k = u.k")
    graph = plan_query(s, parse_query("SELECT /*+ STATE_TTL('x' = '1d', 'u' = '2 s') */ x.k, u.v "
                                      "FROM t AS x JOIN u ON x.k = u.k")).graph
    joins = [op for op in graph.operators if op.kind == "join"]
    assert [op.params["state_ttl_ms"] for op in joins] == [[86_400_000, 2000]]
    graph = plan_query(s, parse_query("SELECT /*+ STATE_TTL('u' = '2 s') */ x.k, u.v "
                                      "FROM t AS x LEFT JOIN u ON x.k = u.k")).graph
    assert [op.params["state_ttl_ms"] for op in graph.operators if op.kind == "join"] == [[None, 2000]]


@pytest.mark.parametrize("sql, message", [
    ("SELECT /*+ STATE_TTL() */ k, COUNT(*) FROM t GROUP BY k", "at least one"),
    ("SELECT /*+ STATE_TTL('t') */ k, COUNT(*) FROM t GROUP BY k", "pairs, not 't'"),
    ("SELECT /*+ STATE_TTL('t' = '1h', 't' = '2h') */ k, COUNT(*) FROM t GROUP BY k", "twice"),
])
def test_malformed_hints(s, sql, message):
    with pytest.raises(ValidationError, match=message):
        s.execute_one(sql)


def test_a_hint_without_a_group_aggregate_warns_that_it_does_nothing(s):
    s.execute_one("CREATE TABLE endless (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
                  "WITH ('connector' = 'datagen')")
    r = s.execute_one(
        "EXPLAIN SELECT /*+ STATE_TTL('endless' = '1h') */ k, window_start, COUNT(*) FROM "
        "TABLE(TUMBLE(TABLE endless, DESCRIPTOR(ts), INTERVAL '1' SECOND)) "
        "GROUP BY k, window_start, window_end")
    assert len(r.warnings) == 1 and "has no effect" in r.warnings[0]
    r = s.execute_one("SELECT /*+ STATE_TTL('t' = '1h') */ k, COUNT(*) FROM t GROUP BY k")
    assert r.warnings == []


def test_batch_mode_ignores_the_hint(s):
    s.execute_one("SET 'execution.runtime-mode' = 'batch'")
    r = s.execute_one("SELECT /*+ STATE_TTL('t' = '1h') */ COUNT(*) AS n FROM t")
    assert r.table.column("n").to_pylist() == [10]


def _planned_operator(session, sql, config):
    (spec,) = _aggs(session, sql)
    op = default_registry().build(spec.kind, spec.params, BuildEnv(spec.id, config=config))
    op.open(OperatorContext(spec.id, config=config))
    now = [1000.0]
    op.clock = lambda: now[0]
    return op, now


def _rows(out):
    return sorted((r["k"], r["c"], r[ROW_KIND]) for b in out.batches for r in b.to_pylist())


def test_the_hinted_ttl_wins_over_table_exec_state_ttl(s):
    """Job config says 1 h, the hint 10 s: key "a" idles 13 s and is dropped (no retraction;
    its next row starts afresh, +I), key "b", written 5 s ago, lives on; the snapshot holds
    only "b"."""
    config = {"table.exec.state.ttl": "1 h"}
    op, now = _planned_operator(
        s, "SELECT /*+ STATE_TTL('t' = '10 s') */ k, COUNT(*) AS c FROM t GROUP BY k", config)
    assert op.ttl_ms == 10_000
    out = ListCollector()
    op.process_batch(pa.record_batch({"k": ["a", "b"]}), out)
    now[0] += 8
    op.process_batch(pa.record_batch({"k": ["b"]}), out)
    now[0] += 5
    assert op.snapshot(1)["groups"].column("k").to_pylist() == ["b"]
    out.batches.clear()
    op.process_batch(pa.record_batch({"k": ["a", "b"]}), out)
    assert _rows(out) == [("a", 1, RowKind.INSERT), ("b", 2, RowKind.UPDATE_BEFORE),
                          ("b", 3, RowKind.UPDATE_AFTER)]


def test_a_zero_hint_keeps_state_although_the_job_has_a_ttl(s):
    op, now = _planned_operator(
        s, "SELECT /*+ STATE_TTL('t' = '0 s') */ k, COUNT(*) AS c FROM t GROUP BY k",
        {"table.exec.state.ttl": "1 s"})
    out = ListCollector()
    op.process_batch(pa.record_batch({"k": ["a"]}), out)
    now[0] += 3600
    out.batches.clear()
    op.process_batch(pa.record_batch({"k": ["a"]}), out)
    assert _rows(out) == [("a", 1, RowKind.UPDATE_BEFORE), ("a", 2, RowKind.UPDATE_AFTER)]


def test_the_two_phase_global_operator_expires_between_checkpoints(s):
    """The global operator of a two-phase GROUP BY sweeps expired groups while it processes
    (before this, only a snapshot swept them)."""
    s.execute_one("SET 'parallelism.default' = '2'")
    s.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    graph = plan_query(s, parse_query(
        "SELECT /*+ STATE_TTL('t' = '10 s') */ k, COUNT(*) AS c FROM t GROUP BY k")).graph
    local_spec = next(o for o in graph.operators if o.kind == "local-group-aggregate")
    local = default_registry().build(local_spec.kind, local_spec.params, BuildEnv(local_spec.id))
    local.open(OperatorContext(local_spec.id))
    op, now = _planned_operator(s, "SELECT /*+ STATE_TTL('t' = '10 s') */ k, COUNT(*) AS c "
                                   "FROM t GROUP BY k", {})

    def feed(keys):
        partial = ListCollector()
        local.process_batch(pa.record_batch({"k": keys}), partial)
        out = ListCollector()
        for b in partial.batches:
            op.process_batch(b, out)
        return out

    feed(["a"])
    now[0] += 11
    assert _rows(feed(["a"])) == [("a", 1, RowKind.INSERT)]
