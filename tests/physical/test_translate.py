"""Logical plan → JobGraph: operator kinds, parallelism, edges and chaining."""

from __future__ import annotations

from flowsql.physical import serde
from flowsql.planner.plan import plan_inserts, plan_query
from flowsql.sql.parser import parse_query
from flowsql.sql.statements import parse_statement

DDL = (
    "CREATE TABLE t (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) "
    "WITH ('connector' = 'datagen', 'number-of-rows' = '100', 'scan.watermark.idle-timeout' = '5 s')"
)
WINDOW = ("SELECT k, window_start, window_end, SUM(v) AS s FROM TABLE(TUMBLE(TABLE t, "
          "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end")


def test_chain_source_calc_aggregate_sink(session):
    session.execute_one(DDL)
    graph = plan_query(session, parse_query(WINDOW)).graph
    assert [op.kind for op in graph.operators] == ["source", "window-aggregate", "collect-sink"]
    assert len(graph.chains()) == 1  # parallelism 1: everything forward, one task
    source = graph.operators[0]
    assert source.params["watermark"] == {"expression": "ts", "delay_ms": 1000}
    assert source.params["idle_timeout_ms"] == 5000
    assert serde.from_json(serde.to_json(graph)) == graph


def test_parallelism_hash_exchange_and_two_phase(session):
    session.execute_one(DDL)
    session.execute_one("SET 'parallelism.default' = '3'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    graph = plan_query(session, parse_query(WINDOW)).graph
    kinds = [op.kind for op in graph.operators]
    assert kinds == ["source", "local-window-aggregate", "window-aggregate", "collect-sink"]
    assert all(op.parallelism == 3 for op in graph.operators)
    hash_edges = [e for e in graph.edges if e.partitioning == "hash"]
    assert [(e.target, e.keys) for e in hash_edges] == [("3-window-aggregate", ("k",))]


def test_group_by_two_phase_at_parallelism_2(session):
    session.execute_one(DDL)
    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    graph = plan_query(session, parse_query("SELECT k, SUM(v) AS s FROM t GROUP BY k")).graph
    kinds = [op.kind for op in graph.operators]
    # (the datagen source reads only k and v: no projecting calc)
    assert kinds == ["source", "local-group-aggregate", "group-aggregate", "collect-sink"]
    glob = graph.operators[2]
    assert glob.params["merge"] is True and glob.params["input"] == [["k", "INT"], ["v", "BIGINT"]]
    hash_edges = [e for e in graph.edges if e.partitioning == "hash"]
    assert [(e.source, e.target, e.keys) for e in hash_edges] == [
        ("2-local-group-aggregate", "3-group-aggregate", ("k",))]


def test_global_aggregate_and_mini_batch_settings(session):
    session.execute_one(DDL)
    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    session.execute_one("SET 'table.exec.mini-batch.enabled' = 'true'")
    session.execute_one("SET 'table.exec.mini-batch.size' = '500'")
    session.execute_one("SET 'table.exec.mini-batch.allow-latency' = '50 ms'")
    graph = plan_query(session, parse_query("SELECT COUNT(*) AS c FROM t")).graph
    source = graph.operators[0]
    assert source.params["batch_size"] == 500 and source.params["allow_latency_ms"] == 50
    agg = next(op for op in graph.operators if op.kind == "group-aggregate")
    assert agg.parallelism == 2  # keyed by the constant global key
    assert any(e.partitioning == "hash" for e in graph.edges)


def test_statement_set_is_one_job_with_two_sinks(session):
    session.execute_one(DDL)
    session.execute_one("CREATE TABLE a (k INT) WITH ('connector' = 'blackhole')")
    session.execute_one("CREATE TABLE b (v BIGINT) WITH ('connector' = 'print')")
    stmt = parse_statement(
        "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT k FROM t; INSERT INTO b SELECT v FROM t; END"
    )
    graph = plan_inserts(session, list(stmt.inserts)).graph
    assert [op.kind for op in graph.operators].count("sink") == 2
    (source,) = graph.sources()  # one scan shared by both INSERTs
    assert len(graph.outputs(source.id)) == 2


def test_union_operator_has_two_inputs(session):
    session.execute_one(DDL)
    graph = plan_query(session, parse_query("SELECT k FROM t UNION ALL SELECT k FROM t WHERE v > 1")).graph
    union = next(op for op in graph.operators if op.kind == "union")
    assert len(graph.inputs(union.id)) == 2


Q7_SHAPE = (
    "SELECT B.k, B.v, B.ts FROM t B JOIN (SELECT MAX(v) AS maxv, window_end AS wend "
    "FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) "
    "GROUP BY window_start, window_end) B1 "
    "ON B.v = B1.maxv WHERE B.ts BETWEEN B1.wend - INTERVAL '10' SECOND AND B1.wend"
)


def test_table_read_twice_in_one_query_has_one_source(session):
    """Nexmark q7's shape: the bid table is scanned by the join and by the window aggregate;
    one source fans out to both (Flink's reuse-source-enabled), at any parallelism."""
    session.execute_one(DDL)
    for p in ("1", "2"):
        session.execute_one(f"SET 'parallelism.default' = '{p}'")
        session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
        graph = plan_query(session, parse_query(Q7_SHAPE)).graph
        (source,) = graph.sources()
        # to the window's calc (forward) and to the join: forward at p=1, hash[v] at p=2
        # (the keyless window aggregate after the calc runs at parallelism 1)
        parts = sorted(e.partitioning for e in graph.outputs(source.id))
        assert parts == (["forward", "forward"] if p == "1" else ["forward", "hash"])
        text = session.execute_one("EXPLAIN " + Q7_SHAPE).message
        assert text.count("kind=source ") == 1
        assert serde.from_json(serde.to_json(graph)) == graph


def test_source_reuse_can_be_switched_off(session):
    session.execute_one(DDL)
    session.execute_one("SET 'table.optimizer.reuse-source-enabled' = 'false'")
    graph = plan_query(session, parse_query(Q7_SHAPE)).graph
    assert len(graph.sources()) == 2
    assert all(len(graph.outputs(s.id)) == 1 for s in graph.sources())


def test_scans_of_another_table_keep_their_own_sources(session):
    """Another table with the same connector options but its own watermark: not the same scan."""
    session.execute_one(DDL)
    session.execute_one("CREATE TABLE t2 (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts "
                        "- INTERVAL '2' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '100')")
    other = parse_query("SELECT a.k FROM t a JOIN t2 b ON a.k = b.k")
    assert len(plan_query(session, other).graph.sources()) == 2


# -- sub-plan reuse ------------------------------------------------------------------------------
HOP = ("SELECT k, COUNT(*) AS num, window_start AS ws, window_end AS we FROM TABLE(HOP(TABLE t, "
       "DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end")
Q5_SHAPE = (f"SELECT A.k, A.num FROM ({HOP}) A JOIN (SELECT MAX(num) AS maxn, ws, we FROM ({HOP}) C "
            "GROUP BY ws, we) M ON A.ws = M.ws AND A.we = M.we AND A.num >= M.maxn")


def _kinds(graph, kind):
    return [op for op in graph.operators if op.kind == kind]


def test_an_aggregate_subquery_used_twice_is_translated_once(session):
    """Nexmark q5's shape: the HOP count runs once and fans out to both of its consumers."""
    session.execute_one(DDL)
    for p in ("1", "2"):
        session.execute_one(f"SET 'parallelism.default' = '{p}'")
        session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
        graph = plan_query(session, parse_query(Q5_SHAPE)).graph
        hop = [op for op in _kinds(graph, "window-aggregate") if op.params["spec"]["window"]["kind"] == "HOP"]
        assert len(hop) == 1 and len(graph.outputs(hop[0].id)) == 2
        assert len(graph.sources()) == 1
        assert serde.from_json(serde.to_json(graph)) == graph


def test_sub_plan_reuse_can_be_switched_off(session):
    session.execute_one(DDL)
    session.execute_one("SET 'table.optimizer.reuse-sub-plan-enabled' = 'false'")
    graph = plan_query(session, parse_query(Q5_SHAPE)).graph
    assert len(_kinds(graph, "window-aggregate")) == 3  # two HOP counts and the maximum
    assert len(graph.sources()) == 1  # source reuse still on


def test_without_source_reuse_nothing_above_a_scan_is_reused(session):
    session.execute_one(DDL)
    session.execute_one("SET 'table.optimizer.reuse-source-enabled' = 'false'")
    graph = plan_query(session, parse_query(Q5_SHAPE)).graph
    assert len(_kinds(graph, "window-aggregate")) == 3 and len(graph.sources()) == 2


def test_sub_plans_that_differ_in_any_field_are_not_merged(session):
    session.execute_one(DDL)
    g = "SELECT k, {agg} AS x FROM t GROUP BY k"
    for left, right in [("COUNT(*)", "SUM(v)"), ("SUM(v)", "SUM(DISTINCT v)"), ("MAX(v)", "MAX(v + 1)")]:
        q = f"SELECT a.k, a.x, b.x AS y FROM ({g.format(agg=left)}) a JOIN ({g.format(agg=right)}) b ON a.k = b.k"
        assert len(_kinds(plan_query(session, parse_query(q)).graph, "group-aggregate")) == 2, q
    other_slide = HOP.replace("INTERVAL '1' SECOND", "INTERVAL '500' MILLISECOND")
    q = f"SELECT a.k, a.num, b.num AS n2 FROM ({HOP}) a JOIN ({other_slide}) b ON a.k = b.k"
    assert len(_kinds(plan_query(session, parse_query(q)).graph, "window-aggregate")) == 2


def test_a_sub_plan_with_a_non_deterministic_call_runs_once_per_use(session):
    session.execute_one(DDL)
    g = "SELECT k, COUNT(*) AS c FROM t WHERE ts < NOW() GROUP BY k"
    q = f"SELECT a.k, a.c, b.c AS c2 FROM ({g}) a JOIN ({g}) b ON a.k = b.k"
    assert len(_kinds(plan_query(session, parse_query(q)).graph, "group-aggregate")) == 2


def test_a_self_join_of_one_sub_plan_reads_it_on_both_inputs(session):
    session.execute_one(DDL)
    session.execute_one("SET 'parallelism.default' = '2'")
    session.execute_one("SET 'execution.embedded.parallelism' = 'threads'")
    g = "SELECT k, SUM(v) AS s FROM t GROUP BY k"
    graph = plan_query(session, parse_query(f"SELECT a.k, b.s FROM ({g}) a JOIN ({g}) b ON a.k = b.k")).graph
    (agg,) = _kinds(graph, "group-aggregate")
    (join,) = _kinds(graph, "join")
    ups = [e.source for e in graph.inputs(join.id)]
    assert ups == [agg.id, agg.id]  # input 0 and input 1: the same operator
    assert serde.from_json(serde.to_json(graph)) == graph
