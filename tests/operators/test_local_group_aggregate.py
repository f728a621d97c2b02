"""Two-phase GROUP BY: local partials → hash split → global merge gives the one-phase result."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_group_aggregate import (
    APPEND_AGGS,
    HAVING,
    RETRACTABLE_AGGS,
    apply_changelog,
    changelogs,
    expected,
    to_table,
)

from flowsql.errors import NotSupportedError
from flowsql.messages import ROW_KIND
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.local_group_aggregate import (
    GlobalGroupAggregateOperator,
    LocalGroupAggregateOperator,
    two_phase_possible,
)
from flowsql.operators.specs import AggCall, GroupAggregateSpec
from flowsql.runtime.partitioning import route, split_by_target
from tests.examples import examples


def mergeable(aggs):
    return tuple(a for a in aggs if not a.distinct and a.function not in ("FIRST_VALUE",
                                                                         "LAST_VALUE"))


def run_two_phase(spec, table, cuts, having=None, coalesce=False, snapshot_after=None):
    """Batches alternate between two local subtasks; partials go to two global subtasks by
    key hash. ``coalesce``: pairs of consecutive batches go to one local, whose partials of
    both travel as one batch (keys repeat in it). Arrival order is kept: a retraction
    overtaking its row is out of contract for the one-phase operator too."""
    schema = table.drop_columns([ROW_KIND]).schema if ROW_KIND in table.column_names \
        else table.schema
    locals_ = [LocalGroupAggregateOperator(spec) for _ in range(2)]

    def new_global(i):
        g = GlobalGroupAggregateOperator(spec, schema, having=having)
        g.open(OperatorContext("agg", subtask_index=i, parallelism=2))
        return g

    globals_ = [new_global(i) for i in range(2)]
    out = ListCollector()
    held: list[pa.RecordBatch] = []

    def ship(batches):
        if not batches:
            return
        batch = pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
        targets = route(batch, list(spec.keys), 2)
        for g, part in zip(globals_, split_by_target(batch, targets, 2), strict=True):
            if part is not None:
                g.process_batch(part, out)

    bounds = [0, *cuts, table.num_rows]
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        part = ListCollector()
        for b in table.slice(lo, hi - lo).combine_chunks().to_batches():
            locals_[(i // 2 if coalesce else i) % 2].process_batch(b, part)
        held += part.batches
        if not coalesce or i % 2:
            ship(held)
            held = []
        if snapshot_after == i:
            snaps = [g.snapshot(3) for g in globals_]
            globals_ = [new_global(j) for j in range(2)]
            for g, s in zip(globals_, snaps, strict=True):
                g.restore(s)
    ship(held)
    for g in globals_:
        g.close(out)
    return out


@pytest.mark.parametrize("retract", [False, True])
@pytest.mark.parametrize("keys", [("k",), ("k", "k2")])
@pytest.mark.parametrize("having", sorted(HAVING, key=str))
@pytest.mark.parametrize("coalesce", [False, True])
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_two_phase_changelog_matches_duckdb(retract, keys, having, coalesce, data):
    rows, kinds, live, cuts = data.draw(changelogs(retract))
    aggs = mergeable(RETRACTABLE_AGGS if retract else APPEND_AGGS)
    spec = GroupAggregateSpec(keys, aggs)
    having_fn, having_sql = HAVING[having]
    table = to_table(rows, kinds if retract else None)
    snapshot_after = data.draw(st.one_of(st.none(), st.integers(0, 6)))
    out = run_two_phase(spec, table, cuts, having_fn, coalesce, snapshot_after)
    got = apply_changelog(out, list(keys), [*keys, *(a.output for a in aggs)])
    assert got == expected(to_table(live) if retract else table, keys, aggs, having_sql)


def test_local_emits_one_partial_row_per_key_and_batch():
    spec = GroupAggregateSpec(("k",), (AggCall("COUNT_STAR", None, "c"),
                                       AggCall("SUM", "v", "s")))
    out = ListCollector()
    LocalGroupAggregateOperator(spec).process_batch(
        pa.record_batch({"k": ["a", "b", "a", "a"], "v": [1, 2, 3, None]}), out)
    rows = sorted(pa.Table.from_batches(out.batches).to_pylist(), key=lambda r: r["k"])
    assert [(r["k"], r["a0.cnt"], r["a1.sum"], r["a1.cnt"], r["$rows"]) for r in rows] == [
        ("a", 3, 4, 2, 3), ("b", 1, 2, 1, 1)]


def test_only_mergeable_aggregates_with_keys_split():
    count = AggCall("COUNT_STAR", None, "c")
    assert two_phase_possible(GroupAggregateSpec(("k",), (count,)))
    assert not two_phase_possible(GroupAggregateSpec((), (count,)))
    assert not two_phase_possible(GroupAggregateSpec(("k",), (AggCall("COUNT", "v", "d",
                                                                       distinct=True),)))
    first = GroupAggregateSpec(("k",), (AggCall("FIRST_VALUE", "v", "f"),))
    assert not two_phase_possible(first)
    with pytest.raises(NotSupportedError):
        LocalGroupAggregateOperator(first)


def test_retraction_into_min_is_refused_in_the_local_phase():
    spec = GroupAggregateSpec(("k",), (AggCall("MIN", "v", "m"),))
    batch = pa.record_batch({"k": ["a"], "v": [1], ROW_KIND: pa.array([3], pa.int8())})
    with pytest.raises(NotSupportedError):
        LocalGroupAggregateOperator(spec).process_batch(batch, ListCollector())
