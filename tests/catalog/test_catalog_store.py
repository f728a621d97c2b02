"""The SQLite catalog store: schema, persistence, transactions, refusal of corrupt files."""

from __future__ import annotations

import json
import sqlite3

import pytest

from catalog.store import DEFAULT_CATALOG, DEFAULT_DATABASE, SCHEMA_VERSION, CatalogStore
from catalog.table import Column, ObjectName, TableDefinition, ViewDefinition
from flowsql.errors import CatalogError


def _table(name: str = "t", database: str = DEFAULT_DATABASE, **options: str) -> TableDefinition:
    return TableDefinition(
        name=ObjectName(DEFAULT_CATALOG, database, name),
        columns=(Column("a", "INT"), Column("b", "STRING")),
        options=dict(options) or {"connector": "datagen"},
    )


@pytest.fixture
def path(tmp_path):
    return tmp_path / "catalog.db"


def test_new_store_has_default_catalog_and_database(path):
    store = CatalogStore(path)
    assert store.list_catalogs() == [DEFAULT_CATALOG]
    assert store.list_databases(DEFAULT_CATALOG) == [DEFAULT_DATABASE]
    assert store.list_objects(DEFAULT_CATALOG, DEFAULT_DATABASE) == []
    store.close()
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert row == (str(SCHEMA_VERSION),)


def test_objects_round_trip_and_persist(path):
    store = CatalogStore(path)
    table = _table("orders", **{"connector": "filesystem", "path": "/tmp/ö's data"})
    view = ViewDefinition(ObjectName(DEFAULT_CATALOG, DEFAULT_DATABASE, "v"), "SELECT 1 AS x")
    assert store.put_object(table)
    assert store.put_object(view)
    assert not store.put_object(table)  # name taken: no change
    store.close()

    reopened = CatalogStore(path)
    assert reopened.get_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "orders") == table
    assert reopened.get_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "v") == view
    assert reopened.get_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "ORDERS") is None  # exact
    assert reopened.list_objects(DEFAULT_CATALOG, DEFAULT_DATABASE) == [
        ("orders", "table"),
        ("v", "view"),
    ]
    assert not reopened.delete_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "orders", "view")
    assert reopened.delete_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "orders", "table")
    assert reopened.get_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "orders") is None
    reopened.close()


def test_option_order_is_preserved(path):
    options = {f"k{i}": str(i) for i in (5, 1, 9, 3)}
    store = CatalogStore(path)
    store.put_object(_table(**options))
    got = store.get_object(DEFAULT_CATALOG, DEFAULT_DATABASE, "t")
    assert list(got.options) == ["k5", "k1", "k9", "k3"]
    store.close()


def test_databases(path):
    store = CatalogStore(path)
    assert store.create_database(DEFAULT_CATALOG, "db1", "my comment")
    assert not store.create_database(DEFAULT_CATALOG, "db1")
    assert store.database_comment(DEFAULT_CATALOG, "db1") == "my comment"
    assert store.put_object(_table("x", database="db1"))
    with pytest.raises(CatalogError, match="non-empty database 'db1'.*CASCADE"):
        store.drop_database(DEFAULT_CATALOG, "db1")
    assert store.drop_database(DEFAULT_CATALOG, "db1", cascade=True)
    assert not store.drop_database(DEFAULT_CATALOG, "db1")
    assert store.list_databases(DEFAULT_CATALOG) == [DEFAULT_DATABASE]
    with pytest.raises(CatalogError, match="Database 'db1' not found"):
        store.put_object(_table("x", database="db1"))
    with pytest.raises(CatalogError, match="Catalog 'nope' does not exist"):
        store.create_database("nope", "db")
    store.close()


def test_empty_file_is_initialized(path):
    path.write_bytes(b"")
    store = CatalogStore(path)
    assert store.list_databases(DEFAULT_CATALOG) == [DEFAULT_DATABASE]
    store.close()


def test_garbage_file_is_refused_not_reset(path):
    garbage = b"this is not a database \x00\xff" * 200
    path.write_bytes(garbage)
    with pytest.raises(CatalogError) as info:
        CatalogStore(path)
    assert str(path) in str(info.value)
    assert "move the file aside" in (info.value.hint or "")
    assert path.read_bytes() == garbage  # untouched


def test_foreign_sqlite_schema_is_refused(path):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'x')")
    with pytest.raises(CatalogError, match="not a FlowSQL catalog store") as info:
        CatalogStore(path)
    assert str(path) in str(info.value)
    with sqlite3.connect(path) as conn:  # untouched
        assert conn.execute("SELECT COUNT(*) FROM customers").fetchone() == (1,)


def test_undecodable_definition_is_refused(path):
    CatalogStore(path).put_object(_table("good"))
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO objects VALUES (?, ?, 'bad', 'table', '{\"name\": {')",
            (DEFAULT_CATALOG, DEFAULT_DATABASE),
        )
    with pytest.raises(CatalogError, match="undecodable definition of .*`bad`") as info:
        CatalogStore(path)
    assert str(path) in str(info.value)


def test_incomplete_definition_is_refused(path):
    CatalogStore(path).put_object(_table("good"))
    with sqlite3.connect(path) as conn:
        data = json.dumps({"name": {"catalog": DEFAULT_CATALOG}, "kind": "table"})
        conn.execute(
            "UPDATE objects SET definition = ? WHERE name = 'good'",
            (data,),
        )
    with pytest.raises(CatalogError, match="undecodable"):
        CatalogStore(path)


def test_newer_schema_version_is_refused(path):
    CatalogStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(CatalogError, match="schema version 99"):
        CatalogStore(path)


def test_locked_store_raises_catalog_error(path):
    store = CatalogStore(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CatalogError, match="locked by another session or process"):
            store.put_object(_table())
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.put_object(_table())  # usable again
    store.close()


def test_failed_transaction_leaves_no_trace(path):
    store = CatalogStore(path)
    store.create_database(DEFAULT_CATALOG, "db1")
    store.put_object(_table("x", database="db1"))
    with pytest.raises(CatalogError):
        store.drop_database(DEFAULT_CATALOG, "db1")  # non-empty: rolled back as a whole
    assert store.list_databases(DEFAULT_CATALOG) == ["db1", DEFAULT_DATABASE]
    assert store.list_objects(DEFAULT_CATALOG, "db1") == [("x", "table")]
    store.close()
