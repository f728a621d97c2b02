"""connectors/lookup.py and the filesystem connector's lookup source: keyed rows (several
rows per key, NULL and missing keys), the full cache's reload on an injected clock, and a
filesystem table reloaded after its ttl picks up a rewritten file (csv, json, parquet)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.table import Column, ObjectName, TableDefinition
from connectors.filesystem.factory import FilesystemFactory
from connectors.lookup import PROBE, FullCache, KeyedRows, reload_interval_ms
from tests.waiting import until

ROWS = pa.table({"k": pa.array([1, 2, 2, None, 3], pa.int64()),
                 "v": ["a", "b1", "b2", "null-key", "c"]})


def test_keyed_rows_return_every_match_in_probe_order():
    keys = pa.table({"k": pa.array([2, 9, None, 1, 2], pa.int64())})
    got = KeyedRows(ROWS, ["k"]).probe(keys)
    assert got.column(PROBE).to_pylist() == [0, 0, 3, 4, 4]
    assert got.column("v").to_pylist() == ["b1", "b2", "a", "b1", "b2"]


def test_keyed_rows_on_two_string_keys_and_an_empty_table():
    table = pa.table({"a": ["x", "x", "y"], "b": ["1", "2", "1"], "v": [10, 20, 30]})
    got = KeyedRows(table, ["a", "b"]).probe(pa.table({"a": ["y", "x", "z"], "b": ["1", "2", "1"]}))
    assert list(zip(got.column(PROBE).to_pylist(), got.column("v").to_pylist(), strict=True)) == [
        (0, 30), (1, 20)]
    empty = KeyedRows(table.slice(0, 0), ["a", "b"]).probe(pa.table({"a": ["x"], "b": ["1"]}))
    assert empty.num_rows == 0 and empty.column_names == ["a", "b", "v", PROBE]


def test_full_cache_reloads_once_the_interval_has_passed():
    now = [0.0]
    tables = [ROWS, pa.table({"k": pa.array([1], pa.int64()), "v": ["new"]})]
    cache = FullCache(lambda: tables[min(cache.loads, 1)], ["k"], reload_ms=1000, clock=lambda: now[0])
    keys = pa.table({"k": pa.array([1], pa.int64())})
    assert cache.lookup(keys).column("v").to_pylist() == ["a"]
    now[0] = 0.5
    assert cache.lookup(keys).column("v").to_pylist() == ["a"] and cache.loads == 1
    now[0] = 1.0
    assert cache.lookup(keys).column("v").to_pylist() == ["new"] and cache.loads == 2


def test_reload_interval_options():
    assert reload_interval_ms({}) == 3_600_000
    assert reload_interval_ms({"lookup.cache.ttl": 500}) == 500
    assert reload_interval_ms({"lookup.full-cache.periodic-reload.interval": 7, "lookup.cache.ttl": 500}) == 7


def _write(path, fmt: str, rows: dict) -> None:
    table = pa.table({"key": pa.array(rows["key"], pa.int64()), "value": rows["value"]})
    if fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "csv":
        path.write_text("".join(f"{k},{v}\n" for k, v in zip(rows["key"], rows["value"], strict=True)))
    else:
        path.write_text("".join(f'{{"key": {k}, "value": "{v}"}}\n'
                                for k, v in zip(rows["key"], rows["value"], strict=True)))


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_filesystem_lookup_picks_up_a_changed_file_after_the_ttl(tmp_path, fmt):
    path = tmp_path / f"side.{fmt}"
    _write(path, fmt, {"key": [1, 2], "value": ["one", "two"]})
    table = TableDefinition(
        name=ObjectName("c", "d", "side"),
        columns=(Column("key", "BIGINT"), Column("value", "STRING")),
        options={"connector": "filesystem", "path": str(path), "format": fmt, "lookup.cache.ttl": "50 ms"})
    factory = FilesystemFactory()
    source = factory.create_lookup(table, factory.validate(table), ("key",))
    keys = pa.table({"key": pa.array([2, 3], pa.int64())})
    assert source.lookup(keys).column("value").to_pylist() == ["two"]
    _write(path, fmt, {"key": [2, 3], "value": ["TWO", "three"]})
    until("the reloaded file", lambda: source.lookup(keys).column("value").to_pylist() == ["TWO", "three"],
          timeout=30)
    source.close()
