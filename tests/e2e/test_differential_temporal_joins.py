"""Differential tests, event-time temporal joins (``FOR SYSTEM_TIME AS OF o.ts``): the
streaming result against DuckDB's ASOF JOIN over the same bounded data, at parallelism 1 and
2. Batch mode refuses event-time temporal joins (as Flink does), so the expected answer is a
DuckDB query written here: per key, the versions deduplicated on (key, time) keeping the last
to arrive (the file order), a deletion ending its key's version, then each probe row ASOF
joined to the greatest version time at or below its time.

Inputs: the harness's random tables (out of order within the watermark bound, NULL keys,
duplicated rows and times) as the probe side; as the versioned side a table with a PRIMARY
KEY read as append (every row a version) or a debezium-json file of change events with
updates and deletes.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from harness import (
    BOUND_S,
    COLUMNS,
    DIFF_SETTINGS,
    Differential,
    Input,
    assert_same_rows,
    inputs,
    write_input,
)
from hypothesis import given
from hypothesis import strategies as st

JOINS = {"INNER": "JOIN", "LEFT": "LEFT JOIN"}
SELECT = "o.k, o.g, o.v, o.ts, r.v AS rv, r.s AS rs, r.ts AS rts"


def _versioned(d: Differential, name: str, data: Input, pk: str) -> None:
    path = write_input(data, d.root / "data", name)
    d.execute(f"CREATE TABLE {name} ({COLUMNS}, PRIMARY KEY ({pk}) NOT ENFORCED, "
              f"WATERMARK FOR ts AS ts - INTERVAL '{BOUND_S}' SECOND) "
              f"WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'parquet')")


def expected(probe: pa.Table, versions: pa.Table, keys: list[str], join: str, select: str,
             residual: str = "TRUE") -> pa.Table:
    """The temporal join computed by DuckDB. ``versions`` is in arrival order and may have a
    boolean ``deleted`` column (a -D event)."""
    if "deleted" not in versions.column_names:
        versions = versions.append_column("deleted", pa.array(np.zeros(versions.num_rows, bool)))
    versions = versions.append_column("seq", pa.array(np.arange(versions.num_rows), pa.int64()))
    on = " AND ".join(f"t.{k} = v.{k}" for k in keys)
    part = ", ".join(keys)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("t_in", probe)
        con.register("u_in", versions)
        return con.sql(f"""
            WITH v AS (SELECT * FROM u_in
                       QUALIFY ROW_NUMBER() OVER (PARTITION BY {part}, ts ORDER BY seq DESC) = 1),
                 m AS (SELECT t.*, v.seq AS vseq FROM t_in AS t ASOF LEFT JOIN v
                       ON {on} AND t.ts >= v.ts)
            SELECT {select} FROM m AS o {join} (SELECT * FROM v WHERE NOT deleted) AS r
              ON r.seq = o.vseq AND {residual}
        """).to_arrow_table()
    finally:
        con.close()


def _stream(d: Differential, join: str, on: str, select: str = SELECT) -> pa.Table:
    return d.streaming(f"SELECT {select} FROM t AS o {join} u FOR SYSTEM_TIME AS OF o.ts AS r ON {on}")


def _versions_of(data: Input, probe: Input, keys: list[str]) -> Input:
    """The versioned side: ``data`` without rows whose primary key (``keys``) has a NULL (key
    columns are NOT NULL) and with its ``k`` values mapped onto the probe side's (the two drawing
    modes use different key words), so that probe rows find versions."""
    table = data.table
    mask = np.ones(table.num_rows, bool)
    for k in keys:
        mask &= table.column(k).is_valid().to_numpy(zero_copy_only=False)
    table = table.filter(pa.array(mask))
    words = pc.unique(probe.table.column("k").drop_null())
    if len(words) and table.num_rows:
        codes = pc.dictionary_encode(table.column("k")).combine_chunks().indices
        valid = codes.is_valid().to_numpy(zero_copy_only=False)
        index = pc.fill_null(pc.cast(codes, pa.int64()), 0).to_numpy() % len(words)
        picked = pc.take(words, pa.array(index, mask=~valid))
        table = table.set_column(table.schema.get_field_index("k"), "k", picked)
    return Input(table, data.row_group, batch_size=data.batch_size, parallelism=data.parallelism)


@DIFF_SETTINGS
@given(probe=inputs(), versions=inputs(), join=st.sampled_from(sorted(JOINS)))
def test_temporal_join_on_the_primary_key(probe, versions, join):
    versions = _versions_of(versions, probe, ["k"])
    with Differential() as d:
        d.table("t", probe)
        _versioned(d, "u", versions, "k")
        got = _stream(d, JOINS[join], "o.k = r.k")
        assert_same_rows(got, expected(probe.table, versions.table, ["k"], JOINS[join], SELECT))


@DIFF_SETTINGS
@given(probe=inputs(), versions=inputs(small_only=True), join=st.sampled_from(sorted(JOINS)))
def test_temporal_join_on_a_composite_key_with_a_residual(probe, versions, join):
    """PRIMARY KEY (k, g); a further condition on the pair (a LEFT join NULL-pads the probe
    row when the valid version fails it, it does not look for an older one)."""
    versions = _versions_of(versions, probe, ["k", "g"])
    with Differential() as d:
        d.table("t", probe)
        _versioned(d, "u", versions, "k, g")
        got = _stream(d, JOINS[join], "o.k = r.k AND r.g = o.g AND o.v > r.v")
        assert_same_rows(got, expected(probe.table, versions.table, ["k", "g"], JOINS[join], SELECT,
                                       residual="o.v > r.v"))


# -- a changelog source as the versioned side -----------------------------------------------
CDC_COLUMNS = "k STRING, v BIGINT, s STRING, ts TIMESTAMP(3)"


def _events(data: Input, ops: list[str]) -> tuple[list[dict], pa.Table]:
    """Debezium change events from the rows of ``data`` (``c`` a new row, ``u`` an update
    whose before-image is the row itself, ``d`` a deletion at the row's time) and the
    versions they make, in arrival order (the -U images are not versions)."""
    rows = data.table.select(["k", "v", "s", "ts"]).to_pylist()
    events, deleted = [], []
    for row, op in zip(rows, ops, strict=False):
        image = {**row, "ts": row["ts"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
        if op == "c":
            events.append({"op": "c", "after": image})
        elif op == "u":
            events.append({"op": "u", "before": image, "after": image})
        else:
            events.append({"op": "d", "before": image})
        deleted.append(op == "d")
    table = data.table.select(["k", "v", "s", "ts"]).slice(0, len(events))
    return events, table.append_column("deleted", pa.array(deleted, pa.bool_()))


@DIFF_SETTINGS
@given(probe=inputs(), versions=inputs(small_only=True), join=st.sampled_from(sorted(JOINS)),
       ops=st.lists(st.sampled_from("ccud"), min_size=70, max_size=70))
def test_temporal_join_on_a_changelog_source(probe, versions, join, ops):
    versions = _versions_of(versions, probe, ["k"])
    events, expected_versions = _events(versions, ops)
    with Differential() as d:
        d.table("t", probe)
        path = d.root / "data" / "u.json"
        path.write_text("".join(json.dumps(e) + "\n" for e in events))
        d.execute(f"CREATE TABLE u ({CDC_COLUMNS}, PRIMARY KEY (k) NOT ENFORCED, WATERMARK FOR ts "
                  f"AS ts - INTERVAL '{BOUND_S}' SECOND) WITH ('connector' = 'filesystem', "
                  f"'path' = '{path}', 'format' = 'debezium-json')")
        got = _stream(d, JOINS[join], "o.k = r.k")
        assert_same_rows(got, expected(probe.table, expected_versions, ["k"], JOINS[join], SELECT))


# -- a versioned view ------------------------------------------------------------------------
def _view_versions(data: Input) -> pa.Table:
    """The rows a deduplication keeping the last row per key on event time emits: those not
    older than any earlier row of their key (in arrival order)."""
    table = data.table.append_column("seq", pa.array(np.arange(data.table.num_rows), pa.int64()))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("h", table)
        return con.sql("""
            SELECT * EXCLUDE (seq, before) FROM (
              SELECT *, MAX(ts) OVER (PARTITION BY k ORDER BY seq
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
              FROM h) WHERE before IS NULL OR ts >= before ORDER BY seq
        """).to_arrow_table()
    finally:
        con.close()


@DIFF_SETTINGS
@given(probe=inputs(), history=inputs(), join=st.sampled_from(sorted(JOINS)))
def test_temporal_join_on_a_versioned_view(probe, history, join):
    """Flink's versioned view: ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) = 1 over
    an append-only table (a row arriving older than its key's newest is no version)."""
    history = _versions_of(history, probe, [])
    with Differential() as d:
        d.table("t", probe)
        d.table("h", history)
        d.execute("CREATE TEMPORARY VIEW u AS SELECT k, v, s, ts FROM (SELECT *, ROW_NUMBER() "
                  "OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM h) WHERE rn = 1")
        got = _stream(d, JOINS[join], "o.k = r.k")
        assert_same_rows(got, expected(probe.table, _view_versions(history), ["k"], JOINS[join], SELECT))
