"""JobGraph: validation, topological order, chaining, text form, JSON round trip."""

from __future__ import annotations

import pytest

from flowsql.errors import PlanError
from flowsql.physical.graph import Edge, JobGraph, OperatorSpec
from flowsql.physical.serde import from_json, to_json


def q5_graph() -> JobGraph:
    return JobGraph(
        "nexmark-q5",
        (
            OperatorSpec("1-source", "source", {"connector": "nexmark"}, 1, "Source(bids)"),
            OperatorSpec("2-calc", "calc", {"projection": ("auction", "dateTime")}, 1, "Calc"),
            OperatorSpec(
                "3-window-aggregate", "window-aggregate", {"size_ms": 10_000}, 2, "TumbleWindowAggregate"
            ),
            OperatorSpec("4-sink", "collect-sink", {}, 1, "CollectSink"),
        ),
        (
            Edge("1-source", "2-calc"),
            Edge("2-calc", "3-window-aggregate", "hash", ("auction",)),
            Edge("3-window-aggregate", "4-sink", "rebalance"),
        ),
    )


EXPECTED_Q5 = """\
JobGraph "nexmark-q5" (4 operators, 3 edges, 3 chains)
Chain 1 [parallelism 1]: 1-source -> 2-calc
  1-source: Source(bids) kind=source params={"connector":"nexmark"}
  2-calc: Calc kind=calc params={"projection":["auction","dateTime"]}
    -> 3-window-aggregate hash[auction]
Chain 2 [parallelism 2]: 3-window-aggregate
  3-window-aggregate: TumbleWindowAggregate kind=window-aggregate params={"size_ms":10000}
    -> 4-sink rebalance
Chain 3 [parallelism 1]: 4-sink
  4-sink: CollectSink kind=collect-sink params={}"""


def test_explain_golden():
    g = q5_graph().validate()
    assert g.explain() == EXPECTED_Q5
    assert str(g) == EXPECTED_Q5


def test_module_docstring_shows_the_golden_printout():
    import flowsql.physical.graph as module

    doc_lines = [line[4:] for line in module.__doc__.splitlines() if line.startswith("    ")]
    assert "\n".join(doc_lines).strip().endswith(EXPECTED_Q5.strip())


def test_params_are_json_normalised():
    spec = OperatorSpec("1", "calc", {"cols": ("a", "b"), "n": 1})
    assert spec.params == {"cols": ["a", "b"], "n": 1}
    assert spec.name == "calc"
    with pytest.raises(PlanError, match="JSON"):
        OperatorSpec("1", "calc", {"bad": object()})


def test_serde_round_trip_exact():
    g = q5_graph()
    text = to_json(g)
    back = from_json(text)
    assert back == g
    assert to_json(back) == text
    assert from_json(to_json(g, indent=2)) == g
    assert from_json(to_json(JobGraph("x", (OperatorSpec("a", "k"),), chaining=False))).chaining is False


def test_serde_rejects_bad_input():
    with pytest.raises(PlanError, match="not valid JSON"):
        from_json("{")
    with pytest.raises(PlanError, match="malformed"):
        from_json('{"version": 1, "name": "x"}')
    with pytest.raises(PlanError, match="version"):
        from_json('{"version": 99, "name": "x", "operators": []}')


def test_topological_order_is_deterministic():
    g = JobGraph(
        "diamond",
        (
            OperatorSpec("d", "sink"),
            OperatorSpec("b", "map"),
            OperatorSpec("a", "src"),
            OperatorSpec("c", "map"),
        ),
        (Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d")),
    )
    assert [op.id for op in g.topological_order()] == ["a", "b", "c", "d"]
    # a has two outputs and d two inputs: nothing chains
    assert [c.operator_ids for c in g.chains()] == [("a",), ("b",), ("c",), ("d",)]
    assert [e.text for e in g.network_edges()] == ["forward"] * 4
    assert [op.id for op in g.sources()] == ["a"]


def test_chaining_rules():
    g = JobGraph(
        "chains",
        (
            OperatorSpec("1", "src", parallelism=2),
            OperatorSpec("2", "map", parallelism=2),
            OperatorSpec("3", "map", parallelism=2),
            OperatorSpec("4", "agg", parallelism=2),
            OperatorSpec("5", "sink", parallelism=2),
        ),
        (Edge("1", "2"), Edge("2", "3"), Edge("3", "4", "hash", ("k",)), Edge("4", "5")),
    )
    chains = g.chains()
    assert [(c.index, c.operator_ids, c.parallelism) for c in chains] == [
        (1, ("1", "2", "3"), 2),
        (2, ("4", "5"), 2),
    ]
    assert chains[0].head == "1" and chains[0].tail == "3" and chains[1].id == "chain-2"
    unchained = JobGraph(g.name, g.operators, g.edges, chaining=False)
    assert len(unchained.chains()) == 5


@pytest.mark.parametrize(
    "operators, edges, message",
    [
        ((), (), "no operators"),
        ((OperatorSpec("a", "x"), OperatorSpec("a", "y")), (), "duplicate operator id"),
        ((OperatorSpec("a", "x", parallelism=0),), (), "parallelism 0"),
        ((OperatorSpec("a", "x"),), (Edge("a", "zz"),), "unknown operator 'zz'"),
        (
            (OperatorSpec("a", "x"), OperatorSpec("b", "y", parallelism=3)),
            (Edge("a", "b"),),
            "equal parallelism",
        ),
        ((OperatorSpec("a", "x"), OperatorSpec("b", "y")), (Edge("a", "b", "hash"),), "key columns"),
        (
            (OperatorSpec("a", "x"), OperatorSpec("b", "y")),
            (Edge("a", "b", "rebalance", ("k",)),),
            "cannot have keys",
        ),
        ((OperatorSpec("a", "x"), OperatorSpec("b", "y")), (Edge("a", "b", "random"),), "partitioning"),
        (
            (OperatorSpec("a", "x"), OperatorSpec("b", "y")),
            (Edge("a", "b"), Edge("b", "a")),
            "cycle",
        ),
    ],
)
def test_validation_errors(operators, edges, message):
    with pytest.raises(PlanError, match=message):
        JobGraph("bad", operators, edges).validate()
