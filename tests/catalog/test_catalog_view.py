"""The session's Catalog: name resolution, temporaries, databases, errors and persistence."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.catalog import Catalog, ranked, split_identifier
from catalog.table import Column, ObjectName, TableDefinition, ViewDefinition
from flowsql.errors import CatalogError


@pytest.fixture
def path(tmp_path):
    return tmp_path / "catalog.db"


@pytest.fixture
def cat(path):
    c = Catalog(path)
    yield c
    c.close()


def table(c: Catalog, name: str, temporary: bool = False, **options: str) -> TableDefinition:
    return TableDefinition(
        name=c.resolve(split_identifier(name)),
        columns=(Column("id", "BIGINT"),),
        options=options or {"connector": "datagen"},
        temporary=temporary,
    )


def view(c: Catalog, name: str, temporary: bool = False) -> ViewDefinition:
    return ViewDefinition(
        name=c.resolve(split_identifier(name)), query="SELECT 1 AS x", temporary=temporary
    )


def test_split_identifier():
    assert split_identifier("t") == ("t",)
    assert split_identifier("db.t") == ("db", "t")
    assert split_identifier("`my.cat`.`d``b`.t") == ("my.cat", "d`b", "t")


def test_ranked_puts_closest_first():
    assert ranked("ordres", ["users", "orders", "bids"])[0] == "orders"


def test_resolve_completes_with_current_names(cat):
    assert cat.resolve(("t",)) == ObjectName("default_catalog", "default_database", "t")
    assert cat.resolve("t") == ObjectName("default_catalog", "default_database", "t")
    cat.create_database("db1")
    assert cat.resolve(("DB1", "t")) == ObjectName("default_catalog", "db1", "t")
    assert cat.resolve(("Default_Catalog", "db1", "t")).catalog == "default_catalog"
    with pytest.raises(CatalogError, match="Database 'nope' not found in catalog"):
        cat.resolve(("nope", "t"))
    with pytest.raises(CatalogError, match="Catalog 'x' does not exist"):
        cat.resolve(("x", "db", "t"))


def test_get_is_case_sensitive_with_unique_fallback(cat):
    cat.create_table(table(cat, "Orders"))
    assert cat.get("Orders").name.name == "Orders"
    assert cat.get("orders").name.name == "Orders"  # unique case-insensitive match
    cat.create_table(table(cat, "ORDERS"))
    assert cat.get("ORDERS").name.name == "ORDERS"  # exact match wins
    with pytest.raises(CatalogError, match="ambiguous"):
        cat.get("orders")


def test_not_found_lists_existing_objects_closest_first(cat):
    for n in ("users", "orders", "bids"):
        cat.create_table(table(cat, n))
    cat.create_view(view(cat, "order_view"))
    with pytest.raises(CatalogError) as info:
        cat.get("ordrs")
    err = info.value
    assert str(err) == "Table 'ordrs' not found in default_catalog.default_database"
    assert err.hint.startswith("did you mean 'orders'? existing tables and views: orders, ")
    assert set(err.hint.split(": ")[1].split(", ")) == {"users", "orders", "bids", "order_view"}


def test_not_found_in_empty_database(cat):
    with pytest.raises(CatalogError, match="'t' not found") as info:
        cat.get("t")
    assert "no tables or views" in info.value.hint


def test_create_existing(cat):
    assert cat.create_table(table(cat, "t"))
    with pytest.raises(CatalogError, match="Table 't' already exists in default_catalog"):
        cat.create_table(table(cat, "t"))
    assert not cat.create_table(table(cat, "t", connector="other"), if_not_exists=True)
    assert cat.get("t").options == {"connector": "datagen"}  # unchanged
    with pytest.raises(CatalogError, match="Table 't' already exists") as info:
        cat.create_view(view(cat, "t"))
    assert "DROP TABLE" in info.value.hint


def test_create_in_missing_database(cat):
    defn = dataclasses.replace(table(cat, "t"), name=ObjectName("default_catalog", "missing", "t"))
    with pytest.raises(CatalogError, match="Database 'missing' not found"):
        cat.create_table(defn)


def test_drop_table_and_view_kinds(cat):
    cat.create_table(table(cat, "t"))
    cat.create_view(view(cat, "v"))
    with pytest.raises(CatalogError, match="'v' is a view, not a table") as info:
        cat.drop_table(("v",))
    assert info.value.hint == "use DROP VIEW `v`"
    with pytest.raises(CatalogError, match="'t' is a table, not a view") as info:
        cat.drop_view(("t",))
    assert info.value.hint == "use DROP TABLE `t`"
    assert cat.drop_view(("V",))  # case-insensitive fallback
    assert cat.drop_table(("t",))
    assert not cat.drop_table(("t",), if_exists=True)
    with pytest.raises(CatalogError, match="Table 't' not found"):
        cat.drop_table(("t",))
    with pytest.raises(CatalogError, match="View 'v' not found"):
        cat.drop_view(("v",))


def test_temporary_objects_shadow_and_vanish(path):
    c1 = Catalog(path)
    c1.create_table(table(c1, "t", connector="persistent"))
    c1.create_table(table(c1, "t", temporary=True, connector="temp"))
    c1.create_table(table(c1, "only_temp", temporary=True))
    c1.create_view(view(c1, "tv", temporary=True))
    assert c1.get("t").options == {"connector": "temp"}
    assert c1.get("t").temporary
    assert c1.list_tables() == ["only_temp", "t"]
    assert c1.list_views() == ["tv"]
    with pytest.raises(CatalogError, match="Temporary table 't' already exists"):
        c1.create_table(table(c1, "t", temporary=True))
    with pytest.raises(CatalogError, match="temporary table") as info:
        c1.drop_table(("t",))  # as in Flink: drop the temporary one first
    assert "DROP TEMPORARY TABLE" in info.value.hint

    # a second session on the same store sees the persistent table only
    c2 = Catalog(path)
    assert c2.get("t").options == {"connector": "persistent"}
    assert c2.list_tables() == ["t"]
    assert c2.find("only_temp") is None
    c2.close()

    assert c1.drop_table(("t",), temporary=True)
    assert c1.get("t").options == {"connector": "persistent"}
    with pytest.raises(CatalogError, match="Temporary table 't' not found") as info:
        c1.drop_table(("t",), temporary=True)
    assert "permanent table" in info.value.hint
    c1.close()

    c3 = Catalog(path)
    assert c3.list_tables() == ["t"]
    assert c3.list_views() == []
    c3.close()


def test_databases_and_use(cat):
    assert cat.create_database("db1", comment="first")
    assert not cat.create_database(("default_catalog", "db1"), if_not_exists=True)
    with pytest.raises(CatalogError, match="Database 'db1' already exists"):
        cat.create_database("db1")
    assert cat.list_databases() == ["db1", "default_database"]
    cat.use_database("DB1")
    assert cat.current_database == "db1"
    cat.create_table(table(cat, "t"))
    cat.create_table(table(cat, "tmp", temporary=True))
    assert cat.get(("default_catalog", "db1", "t")).name.database == "db1"
    assert cat.list_tables() == ["t", "tmp"]
    with pytest.raises(CatalogError, match="Database 'nope' not found") as info:
        cat.use_database("nope")
    assert "db1" in info.value.hint
    with pytest.raises(CatalogError, match="current database"):
        cat.drop_database("db1", cascade=True)
    cat.use_database(("default_catalog", "default_database"))
    with pytest.raises(
        CatalogError, match="Cannot drop non-empty database 'db1' \\(use CASCADE\\)"
    ):
        cat.drop_database("db1")
    cat.drop_table(("db1", "t"))
    with pytest.raises(CatalogError, match="non-empty.*CASCADE") as info:
        cat.drop_database("db1")  # the temporary table still lives there
    assert "tmp" in info.value.hint
    assert cat.drop_database("db1", cascade=True)
    assert cat.list_databases() == ["default_database"]
    assert not cat.drop_database("db1", if_exists=True)
    with pytest.raises(CatalogError, match="Database 'db1' not found"):
        cat.drop_database("db1")
    cat.create_database("other")
    cat.use_database("other")
    with pytest.raises(CatalogError, match="Cannot drop the default database"):
        cat.drop_database("default_database")


def test_use_catalog(cat):
    assert cat.list_catalogs() == ["default_catalog"]
    cat.use_catalog("default_catalog")
    assert cat.current_catalog == "default_catalog"
    with pytest.raises(CatalogError, match="Catalog 'hive' does not exist") as info:
        cat.use_catalog("hive")
    assert "default_catalog" in info.value.hint


def test_persistence_across_restarts(path):
    c1 = Catalog(path)
    c1.create_database("db1")
    c1.use_database("db1")
    c1.create_table(table(c1, "t", connector="x", path="/data"))
    c1.create_view(view(c1, "v"))
    c1.close()

    c2 = Catalog(path)
    assert c2.current_database == "default_database"  # current names are per session
    assert c2.list_databases() == ["db1", "default_database"]
    assert c2.get(("db1", "t")).options == {"connector": "x", "path": "/data"}
    assert isinstance(c2.get(("db1", "v")), ViewDefinition)
    assert c2.list_tables(database="db1") == ["t"]
    assert c2.list_views(database="db1") == ["v"]
    c2.close()
