"""The catalog's functions table: created with a new store, added to a store written before
it existed, and functions kept across reopening."""

from __future__ import annotations

import sqlite3

from catalog.catalog import Catalog
from catalog.functions import FunctionDefinition
from catalog.table import ObjectName


def test_an_older_store_gets_the_functions_table(tmp_path):
    path = tmp_path / "catalog.db"
    Catalog(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE functions")  # as a store written before functions existed
    catalog = Catalog(path)
    try:
        name = ObjectName("default_catalog", "default_database", "f")
        catalog.functions.create(FunctionDefinition(name=name, path="m.f"))
    finally:
        catalog.close()
    reopened = Catalog(path)
    try:
        assert reopened.functions.list_user() == ["f"]
        assert reopened.functions.lookup("F").path == "m.f"  # names are case-insensitive
    finally:
        reopened.close()
