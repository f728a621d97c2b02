"""Datagen: determinism with a seed, ranges, null rate, sequences, boundedness, validation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from connectors.datagen.generator import CHUNK
from connectors.registry import get_factory, validate_table
from flowsql.errors import ConnectorError, NotSupportedError

COLUMNS = [
    ("i", "INT"), ("b", "BIGINT"), ("t", "TINYINT"), ("f", "DOUBLE"), ("dec", "DECIMAL(8, 3)"),
    ("flag", "BOOLEAN"), ("s", "STRING"), ("v", "VARCHAR(5)"), ("by", "BYTES"), ("d", "DATE"),
    ("tm", "TIME"), ("ts", "TIMESTAMP(3)"), ("ltz", "TIMESTAMP_LTZ(3)"),
]
OPTIONS = {
    "connector": "datagen", "number-of-rows": "20000", "seed": "42",
    "fields.i.min": "-5", "fields.i.max": "5", "fields.f.min": "0.5", "fields.f.max": "1.5",
    "fields.dec.min": "-1.5", "fields.dec.max": "2.25", "fields.s.length": "12",
    "fields.by.length": "3", "fields.d.min": "2024-01-01", "fields.d.max": "2024-01-31",
    "fields.ts.min": "2024-01-01 00:00:00", "fields.ts.max": "2024-01-02 00:00:00",
    "fields.ltz.max-past": "1 h", "fields.s.null-rate": "0.25",
}


def read(make_table, options, columns=COLUMNS) -> pa.Table:
    table = make_table(columns, options)
    factory, opts = validate_table(table)
    return factory.batch_scan(table, opts).arrow().read_all()


def test_same_seed_same_rows_and_ranges(make_table):
    a = read(make_table, OPTIONS)
    b = read(make_table, OPTIONS)
    assert a.num_rows == 20000
    assert a.drop_columns(["ltz"]).equals(b.drop_columns(["ltz"]))  # ltz is relative to now
    other = read(make_table, {**OPTIONS, "seed": "7"})
    assert not a.column("i").equals(other.column("i"))
    mm = pc.min_max(a.column("i")).as_py()
    assert mm["min"] == -5 and mm["max"] == 5
    f = pc.min_max(a.column("f")).as_py()
    assert 0.5 <= f["min"] and f["max"] <= 1.5
    dec = pc.min_max(a.column("dec")).as_py()
    assert float(dec["min"]) >= -1.5 and float(dec["max"]) <= 2.25
    assert a.schema.field("dec").type == pa.decimal128(8, 3)
    d = pc.min_max(a.column("d")).as_py()
    assert dt.date(2024, 1, 1) <= d["min"] and d["max"] <= dt.date(2024, 1, 31)
    ts = pc.min_max(a.column("ts")).as_py()
    assert dt.datetime(2024, 1, 1) <= ts["min"] and ts["max"] <= dt.datetime(2024, 1, 2)
    assert pc.all(pc.equal(pc.utf8_length(a.column("s").drop_null()), 12)).as_py()
    assert pc.all(pc.match_substring_regex(a.column("s").drop_null(), "^[0-9a-f]+$")).as_py()
    assert pc.max(pc.utf8_length(a.column("v"))).as_py() == 5  # capped by VARCHAR(5)
    assert pc.all(pc.equal(pc.binary_length(a.column("by")), 3)).as_py()
    assert a.schema.field("ltz").type == pa.timestamp("ms", tz="UTC")
    assert 0.2 < a.column("s").null_count / a.num_rows < 0.3  # null-rate 0.25
    assert a.column("i").null_count == 0
    assert 0.45 < pc.mean(a.column("flag").cast(pa.int8())).as_py() < 0.55


def test_generate_is_independent_of_slicing(make_table):
    table = make_table(COLUMNS, OPTIONS)
    factory = get_factory("datagen")
    opts = factory.validate(table)
    whole = factory.generator(table, opts).generate(0, 3 * CHUNK)
    gen = factory.generator(table, opts)
    parts = [gen.generate(start, 1000) for start in range(0, 3 * CHUNK, 1000)]
    keep = ["i", "b", "f", "s", "by", "ts"]
    assert pa.Table.from_batches(parts).select(keep).equals(pa.Table.from_batches([whole]).select(keep))


def test_sequence_bounds_and_default_row_count(make_table):
    got = read(make_table, {
        "connector": "datagen", "fields.id.kind": "sequence", "fields.id.start": "10",
        "fields.id.end": "99999", "fields.name.kind": "sequence", "fields.name.start": "1",
        "fields.name.end": "70000",
    }, [("id", "BIGINT"), ("name", "STRING")])
    assert got.num_rows == 70000  # the shortest sequence bounds the source
    ids = got.column("id").to_numpy()
    assert ids[0] == 10 and ids[-1] == 70009 and np.all(np.diff(ids) == 1)
    assert got.column("name")[0].as_py() == "1" and got.column("name")[-1].as_py() == "70000"
    capped = read(make_table, {
        "connector": "datagen", "number-of-rows": "5", "fields.id.kind": "sequence",
        "fields.id.start": "1", "fields.id.end": "100",
    }, [("id", "INT")])
    assert capped.column("id").to_pylist() == [1, 2, 3, 4, 5]


def test_unbounded_source_in_batch_mode(make_table):
    table = make_table([("id", "INT")], {"connector": "datagen"})
    factory, opts = validate_table(table)
    with pytest.raises(ConnectorError, match="batch mode needs 'number-of-rows'"):
        factory.batch_scan(table, opts)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fields.id.kind": "sequence", "fields.id.start": "1"},
         "kind 'sequence' but no 'fields.id.end'"),
        ({"fields.id.kind": "sequence", "fields.id.start": "9", "fields.id.end": "1"},
         "'fields.id.start' \\(9\\) is greater than 'fields.id.end' \\(1\\)"),
        ({"fields.id.min": "10", "fields.id.max": "1"},
         "'fields.id.min' \\(10\\) is greater than 'fields.id.max' \\(1\\)"),
        ({"fields.id.min": "abc"}, "Invalid value 'abc' for option 'fields.id.min'"),
        ({"fields.id.min": "99999999999"}, "out of range for INT"),
        ({"fields.id.null-rate": "1.5"}, "'fields.id.null-rate' must be between 0 and 1"),
    ],
)
def test_invalid_field_options(make_table, options, message):
    table = make_table([("id", "INT")], {"connector": "datagen", "number-of-rows": "1", **options})
    with pytest.raises(ConnectorError, match=message):
        validate_table(table)


def test_nested_types_not_supported_yet(make_table):
    table = make_table([("a", "ARRAY<INT>")], {"connector": "datagen", "number-of-rows": "1"})
    with pytest.raises(NotSupportedError, match="not supported yet: datagen"):
        validate_table(table)


def test_unseeded_table_reads_the_same_rows_in_every_scan(make_table):
    """Without 'seed' every scan of one table (a self-join) reads the same rows, as Flink's
    reused source scan does; another table draws other values."""
    import dataclasses

    from catalog.table import ObjectName

    options = {k: v for k, v in OPTIONS.items() if k not in ("seed", "fields.ltz.max-past")}
    columns = [c for c in COLUMNS if c[0] != "ltz"]  # ltz is relative to now
    a = read(make_table, options, columns)
    b = read(make_table, options, columns)
    assert a.equals(b)
    other = dataclasses.replace(make_table(columns, options),
                                name=ObjectName("default_catalog", "default_database", "u"))
    factory, opts = validate_table(other)
    c = factory.batch_scan(other, opts).arrow().read_all()
    assert not a.column("b").equals(c.column("b"))


def test_projected_source_generates_the_same_values_of_fewer_columns(make_table):
    """The streaming source's projection (``can_project``): only the columns asked, in table
    order, each holding the values it has in the whole table (nulls and sequences too)."""
    columns = [*COLUMNS, ("seq", "BIGINT")]
    options = {**OPTIONS, "number-of-rows": str(2 * CHUNK + 100), "fields.seq.kind": "sequence",
               "fields.seq.start": "1", "fields.seq.end": "100000"}
    table = make_table(columns, options)
    factory, opts = validate_table(table)
    assert factory.can_project

    def stream(project):
        reader = factory.source_reader(table, opts, parallelism=2, project=project)
        batches = [b for split in reader.splits() for b in reader.read(split) if b is not None]
        return pa.Table.from_batches(batches).sort_by("seq")

    whole = stream(None)
    got = stream(["seq", "s", "dec"])
    assert got.schema.names == ["dec", "s", "seq"]  # table order, not the order asked
    assert got.num_rows == 2 * CHUNK + 100
    assert got.equals(whole.select(["dec", "s", "seq"]))
    assert got.column("s").null_count > 0
    with pytest.raises(ConnectorError, match="no column"):
        factory.source_reader(table, opts, project=["nope"])
