"""ChangelogNormalize on random upsert streams: the final table equals DuckDB's "latest row per
key unless deleted", and the changelog of every key equals Flink's per-event rules (a Python
oracle), across random batch splits, a snapshot/restore in the middle and parallelism 1 and 2
(keys split by hash, as the planner's exchange does)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from flowsql.messages import ROW_KIND, RowKind
from flowsql.operators.base import ListCollector, OperatorContext
from flowsql.operators.changelog_normalize import ChangelogNormalizeOperator
from flowsql.session.streaming import apply_changelog
from tests.examples import examples

SCHEMA = pa.schema([("k", pa.int64()), ("s", pa.string()), ("v", pa.int64()),
                    pa.field(ROW_KIND, pa.int8(), nullable=False)])

events = st.lists(
    st.tuples(st.integers(0, 5), st.sampled_from([None, "a", "b"]), st.one_of(st.none(), st.integers(0, 3)),
              st.sampled_from([RowKind.INSERT, RowKind.UPDATE_AFTER, RowKind.DELETE,
                               RowKind.UPDATE_BEFORE])),
    max_size=120,
)


def _batch(rows: list[tuple]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(
        [{"k": k, "s": s, "v": v, ROW_KIND: int(kind)} for k, s, v, kind in rows], schema=SCHEMA)


def _oracle(rows: list[tuple]) -> dict[int, list[tuple]]:
    """Flink's processLastRowOnChangelog, event by event: the changelog of each key."""
    state: dict[int, tuple] = {}
    out: dict[int, list[tuple]] = {}
    for k, s, v, kind in rows:
        emitted = out.setdefault(k, [])
        if kind in (RowKind.INSERT, RowKind.UPDATE_AFTER):
            prev = state.get(k)
            if prev is None:
                emitted.append((RowKind.INSERT, k, s, v))
            elif prev != (s, v):
                emitted += [(RowKind.UPDATE_BEFORE, k, *prev), (RowKind.UPDATE_AFTER, k, s, v)]
            state[k] = (s, v)
        elif k in state:
            emitted.append((RowKind.DELETE, k, *state.pop(k)))
    return {k: v for k, v in out.items() if v}


def _run(rows: list[tuple], cuts: list[int], restore_at: int, parallelism: int) -> list[pa.RecordBatch]:
    out = ListCollector()
    for part in range(parallelism):
        mine = [r for r in rows if r[0] % parallelism == part]
        op = ChangelogNormalizeOperator(["k"], SCHEMA)
        op.open(OperatorContext("n", part, parallelism))
        bounds = sorted({0, len(mine), *(c % (len(mine) + 1) for c in cuts)})
        for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
            if i == restore_at:  # checkpoint, then continue on a fresh operator
                state = op.snapshot(1)
                op = ChangelogNormalizeOperator(["k"], SCHEMA)
                op.open(OperatorContext("n", part, parallelism))
                op.restore(state)
            op.process_batch(_batch(mine[lo:hi]), out)
    return out.batches


@settings(max_examples=examples(150), deadline=None)
@given(events, st.lists(st.integers(0, 200), max_size=6), st.integers(0, 4), st.sampled_from([1, 2]))
def test_normalize_matches_duckdb_and_flink_rules(rows, cuts, restore_at, parallelism):
    batches = _run(rows, cuts, restore_at, parallelism)
    got = pa.Table.from_batches(batches, schema=SCHEMA) if batches else SCHEMA.empty_table()
    # 1. per key, exactly Flink's changelog
    per_key: dict[int, list[tuple]] = {}
    for r in got.to_pylist():
        per_key.setdefault(r["k"], []).append((r[ROW_KIND], r["k"], r["s"], r["v"]))
    assert per_key == _oracle(rows)
    # 2. the final table equals DuckDB's answer over the events
    events_table = pa.table({"pos": list(range(len(rows))), "k": [r[0] for r in rows],
                             "s": pa.array([r[1] for r in rows], pa.string()),
                             "v": pa.array([r[2] for r in rows], pa.int64()),
                             "kind": [int(r[3]) for r in rows]})
    con = duckdb.connect()
    con.register("events_table", events_table)
    expected = con.sql(
        "SELECT k, s, v FROM events_table QUALIFY row_number() OVER (PARTITION BY k ORDER BY pos DESC) = 1 "
        "AND kind IN (0, 2)").fetchall()
    final = apply_changelog(got).to_pylist()
    assert sorted((r["k"], r["s"] or "", r["v"] if r["v"] is not None else -1) for r in final) == sorted(
        (k, s or "", v if v is not None else -1) for k, s, v in expected)


def test_tombstone_emits_the_stored_row():
    op = ChangelogNormalizeOperator(["k"], SCHEMA)
    op.open(OperatorContext("n"))
    out = ListCollector()
    op.process_batch(_batch([(1, "a", 7, RowKind.UPDATE_AFTER)]), out)
    op.process_batch(_batch([(1, None, None, RowKind.DELETE), (1, None, None, RowKind.DELETE)]), out)
    rows = [(r[ROW_KIND], r["k"], r["s"], r["v"]) for r in out.table().to_pylist()]
    assert rows == [(RowKind.INSERT, 1, "a", 7), (RowKind.DELETE, 1, "a", 7)]
    assert op.snapshot(1)["rows"].num_rows == 0
