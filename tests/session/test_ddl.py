"""DDL and introspection handlers, through a real Session on a temporary FLOWSQL_HOME.

The first part builds statement dataclasses directly; the second runs SQL text through the
parser (skipped while flowsql.sql.parser is not available).
"""

from __future__ import annotations

import importlib.util

import pytest
import sqlglot

from catalog.table import Column, LikeClause, PrimaryKey, TableDefinition, WatermarkSpec
from flowsql.errors import CatalogError, ValidationError
from flowsql.session import Session
from flowsql.session.ddl import HANDLERS, SUCCESS
from flowsql.sql import statements as st

HAS_PARSER = importlib.util.find_spec("flowsql.sql.parser") is not None
needs_parser = pytest.mark.skipif(not HAS_PARSER, reason="flowsql.sql.parser not written yet")


def run(session: Session, stmt: st.Statement):
    return session.execute_statement(stmt)


def names(result, column: str) -> list[str]:
    assert result.kind == "table"
    return result.table.column(column).to_pylist()


def orders_stmt(**kw) -> st.CreateTable:
    base = dict(
        name=("orders",),
        columns=(
            Column("id", "BIGINT"),
            Column("ts", "TIMESTAMP(3)"),
            Column("ptime", None, kind="computed", expression="PROCTIME()"),
        ),
        watermark=WatermarkSpec("ts", "ts - INTERVAL '1' SECOND"),
        primary_key=PrimaryKey(("id",)),
        options={"connector": "datagen", "rows-per-second": "5"},
    )
    base.update(kw)
    return st.CreateTable(**base)


def test_handlers_cover_the_ddl_statements():
    assert set(HANDLERS) == {
        st.CreateTable, st.CreateView, st.DropTable, st.DropView, st.CreateDatabase,
        st.DropDatabase, st.UseCatalog, st.UseDatabase, st.Show, st.ShowCreate, st.Describe,
    }  # fmt: skip


def test_create_table_records_a_validated_definition(session):
    result = run(session, orders_stmt())
    assert result.kind == "ok" and result.message == SUCCESS
    defn = session.catalog.get("orders")
    assert isinstance(defn, TableDefinition)
    assert defn.columns[0].data_type == "BIGINT NOT NULL"  # primary key columns are NOT NULL
    assert defn.options == {"connector": "datagen", "rows-per-second": "5"}
    with pytest.raises(CatalogError, match="Table 'orders' already exists"):
        run(session, orders_stmt())
    assert run(session, orders_stmt(if_not_exists=True)).message == SUCCESS


def test_create_table_validation_errors(session):
    with pytest.raises(ValidationError, match="unknown data type 'STRNG'"):
        run(session, orders_stmt(columns=(Column("a", "STRNG"),), watermark=None, primary_key=None))
    with pytest.raises(ValidationError, match="invalid type BIGINT of the watermark column"):
        run(session, orders_stmt(watermark=WatermarkSpec("id", "id")))
    assert session.catalog.list_tables() == []


def test_connector_options_are_not_validated_here(session):
    run(session, orders_stmt(options={"connector": "no-such-connector", "Weird Key": " x "}))
    assert session.catalog.get("orders").options == {
        "connector": "no-such-connector",
        "Weird Key": " x ",
    }


def test_create_table_like(session):
    run(session, orders_stmt())
    like = st.CreateTable(
        name=("orders_copy",),
        columns=(Column("extra", "STRING"),),
        options={"rows-per-second": "50"},
        like=LikeClause("`default_database`.`orders`", ("EXCLUDING CONSTRAINTS",)),
    )
    run(session, like)
    copy = session.catalog.get("orders_copy")
    assert [c.name for c in copy.columns] == ["id", "ts", "ptime", "extra"]
    assert copy.primary_key is None
    assert copy.watermark == WatermarkSpec("ts", "ts - INTERVAL '1' SECOND")
    assert copy.options == {"connector": "datagen", "rows-per-second": "50"}
    with pytest.raises(CatalogError, match="Table 'nope' not found"):
        run(session, st.CreateTable(name=("x",), columns=(), like=LikeClause("nope")))


def test_views(session):
    run(session, orders_stmt())
    query = sqlglot.parse_one("SELECT id, ts FROM orders WHERE id > 1")
    run(session, st.CreateView(name=("v",), query=query, column_names=("a", "b")))
    view = session.catalog.get("v")
    assert view.kind == "view" and "orders" in view.query
    described = run(session, st.Describe(name=("v",)))
    assert names(described, "name") == ["a", "b"]
    with pytest.raises(CatalogError, match="Table 'missing' not found"):
        run(session, st.CreateView(name=("w",), query=sqlglot.parse_one("SELECT * FROM missing")))
    with pytest.raises(ValidationError, match="lists 1 column name"):
        run(session, st.CreateView(name=("w",), query=query, column_names=("a",)))
    cte = sqlglot.parse_one("WITH c AS (SELECT id FROM orders) SELECT id FROM c")
    run(session, st.CreateView(name=("w",), query=cte))
    with pytest.raises(CatalogError, match="'v' is a view, not a table") as info:
        run(session, st.DropTable(name=("v",)))
    assert "DROP VIEW" in info.value.hint
    run(session, st.DropView(name=("v",)))
    run(session, st.DropView(name=("v",), if_exists=True))
    with pytest.raises(CatalogError, match="View 'v' not found"):
        run(session, st.DropView(name=("v",)))


def test_show_statements(session):
    run(session, orders_stmt())
    run(session, orders_stmt(name=("tmp",), temporary=True))
    run(session, st.CreateView(name=("v",), query=sqlglot.parse_one("SELECT id FROM orders")))
    run(session, st.CreateDatabase(name=("db1",), comment="c"))
    assert names(run(session, st.Show(what="CATALOGS")), "catalog name") == ["default_catalog"]
    assert names(run(session, st.Show(what="DATABASES")), "database name") == [
        "db1",
        "default_database",
    ]
    assert names(run(session, st.Show(what="TABLES")), "table name") == ["orders", "tmp", "v"]
    assert names(run(session, st.Show(what="VIEWS")), "view name") == ["v"]
    functions = names(run(session, st.Show(what="FUNCTIONS")), "function name")
    assert "TUMBLE" in functions and functions == sorted(functions)
    current = run(session, st.Show(what="CURRENT CATALOG"))
    assert names(current, "current catalog name") == ["default_catalog"]
    run(session, st.UseDatabase(name=("db1",)))
    current = run(session, st.Show(what="CURRENT DATABASE"))
    assert names(current, "current database name") == ["db1"]
    assert names(run(session, st.Show(what="TABLES")), "table name") == []
    jobs = session.execute_one("SHOW JOBS")  # answered by the streaming runtime
    assert jobs.kind == "table"


def test_databases_and_use(session):
    run(session, st.CreateDatabase(name=("db1",)))
    run(session, st.CreateDatabase(name=("default_catalog", "db1"), if_not_exists=True))
    run(session, st.UseDatabase(name=("db1",)))
    run(session, orders_stmt())
    assert session.catalog.get(("db1", "orders")).name.database == "db1"
    run(session, st.UseCatalog(name="default_catalog"))
    with pytest.raises(CatalogError, match="Catalog 'hive' does not exist"):
        run(session, st.UseCatalog(name="hive"))
    run(session, st.UseDatabase(name=("default_catalog", "default_database")))
    with pytest.raises(
        CatalogError, match="Cannot drop non-empty database 'db1' \\(use CASCADE\\)"
    ):
        run(session, st.DropDatabase(name=("db1",)))
    run(session, st.DropDatabase(name=("db1",), cascade=True))
    run(session, st.DropDatabase(name=("db1",), if_exists=True))
    with pytest.raises(CatalogError, match="Database 'db1' not found"):
        run(session, st.UseDatabase(name=("db1",)))


def test_describe_and_show_create(session):
    run(session, orders_stmt(comment="the orders", partition_keys=("id",)))
    rows = run(session, st.Describe(name=("orders",))).table.to_pylist()
    assert rows[0] == {
        "name": "id", "type": "BIGINT", "null": False, "key": "PRI(id)", "extras": "",
        "watermark": "",
    }  # fmt: skip
    assert rows[1]["type"] == "TIMESTAMP(3) *ROWTIME*"
    assert rows[1]["watermark"] == "ts - INTERVAL '1' SECOND"
    assert rows[2]["extras"] == "AS PROCTIME()"
    result = run(session, st.ShowCreate(kind="TABLE", name=("orders",)))
    ddl = result.extra["ddl"]
    assert result.table.column("result").to_pylist() == [ddl]
    assert ddl.startswith("CREATE TABLE `default_catalog`.`default_database`.`orders` (")
    assert "PRIMARY KEY (`id`) NOT ENFORCED" in ddl
    with pytest.raises(CatalogError, match="is a table") as info:
        run(session, st.ShowCreate(kind="VIEW", name=("orders",)))
    assert info.value.hint == "use SHOW CREATE TABLE instead"


def test_persistence_across_sessions(flowsql_home):
    s1 = Session(home=flowsql_home)
    run(s1, st.CreateDatabase(name=("db1",)))
    run(s1, orders_stmt(name=("db1", "orders")))
    run(s1, st.CreateView(name=("db1", "v"), query=sqlglot.parse_one("SELECT 1 AS x")))
    run(s1, orders_stmt(name=("tmp",), temporary=True))
    s1.close()
    s2 = Session(home=flowsql_home)
    try:
        assert s2.catalog.list_databases() == ["db1", "default_database"]
        assert s2.catalog.list_tables(database="db1") == ["orders"]
        assert s2.catalog.list_views(database="db1") == ["v"]
        assert s2.catalog.find("tmp") is None  # temporaries vanish with their session
    finally:
        s2.close()


# -- SQL text through the parser -------------------------------------------------------------
ORDERS_DDL = """
CREATE TABLE orders (
  `user` BIGINT,
  product VARCHAR(32) COMMENT 'what''s sold',
  amount INT,
  payload ROW<a INT, b ARRAY<STRING>>,
  ts TIMESTAMP(3),
  ptime AS PROCTIME(),
  total AS amount * 2,
  kts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  part INT METADATA,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
  PRIMARY KEY (`user`) NOT ENFORCED
) COMMENT 'all the orders'
PARTITIONED BY (product)
WITH (
  'connector' = 'kafka',
  'topic' = 'orders',
  'properties.group.id' = 'g1'
)
"""


@needs_parser
def test_sql_create_describe_show(session):
    assert session.execute_one(ORDERS_DDL).message == SUCCESS
    rows = {r["name"]: r for r in session.execute_one("DESCRIBE orders").table.to_pylist()}
    assert rows["user"]["null"] is False and rows["user"]["key"] == "PRI(user)"
    assert rows["ts"]["type"] == "TIMESTAMP(3) *ROWTIME*"
    assert rows["ptime"]["type"] == "TIMESTAMP_LTZ(3) *PROCTIME*"
    assert rows["kts"]["extras"] == "METADATA FROM 'timestamp' VIRTUAL"
    assert rows["payload"]["type"] == "ROW<`a` INT, `b` ARRAY<STRING>>"
    tables = session.execute_one("SHOW TABLES").table.column("table name").to_pylist()
    assert tables == ["orders"]


@needs_parser
def test_sql_show_create_table_round_trips(session, tmp_path):
    session.execute_one(ORDERS_DDL)
    original = session.catalog.get("orders")
    ddl = session.execute_one("SHOW CREATE TABLE orders").extra["ddl"]
    fresh = Session(home=tmp_path / "fresh-home")
    try:
        fresh.execute_one(ddl)
        assert fresh.catalog.get("orders") == original
        again = fresh.execute_one("SHOW CREATE TABLE orders").extra["ddl"]
        assert again == ddl
    finally:
        fresh.close()


@needs_parser
def test_sql_show_create_view_round_trips(session, tmp_path):
    session.execute_one(ORDERS_DDL)
    session.execute_one(
        "CREATE VIEW big (u, amt) COMMENT 'big ones' AS "
        "SELECT `user`, amount FROM orders WHERE amount > 10"
    )
    original = session.catalog.get("big")
    ddl = session.execute_one("SHOW CREATE VIEW big").extra["ddl"]
    fresh = Session(home=tmp_path / "fresh-home")
    try:
        fresh.execute_one(ORDERS_DDL)
        fresh.execute_one(ddl)
        assert fresh.catalog.get("big") == original
    finally:
        fresh.close()


@needs_parser
def test_sql_script_of_ddl(session):
    results = list(
        session.execute(
            """
            CREATE DATABASE IF NOT EXISTS shop COMMENT 'x';
            USE shop;
            CREATE TABLE t (a INT, b STRING) WITH ('connector' = 'datagen');
            CREATE TEMPORARY TABLE tt (a INT) WITH ('connector' = 'datagen');
            CREATE TABLE t2 (c INT) LIKE t (EXCLUDING OPTIONS);
            CREATE VIEW v AS SELECT a FROM t;
            SHOW TABLES;
            """
        )
    )
    assert results[-1].table.column("table name").to_pylist() == ["t", "t2", "tt", "v"]
    t2 = session.catalog.get("t2")
    assert [c.name for c in t2.columns] == ["a", "b", "c"] and t2.options == {}
    session.execute_one("DROP TEMPORARY TABLE tt")
    session.execute_one("DROP VIEW v")
    session.execute_one("USE default_database")
    with pytest.raises(CatalogError, match="CASCADE"):
        session.execute_one("DROP DATABASE shop")
    session.execute_one("DROP DATABASE shop CASCADE")
    with pytest.raises(CatalogError, match="Table 'nope' not found"):
        session.execute_one("DESCRIBE nope")


ROUND_TRIP_DDLS = [
    "CREATE TABLE t (a INT)",
    "CREATE TABLE t (`we``ird col` DECIMAL(10, 2) NOT NULL COMMENT 'it''s', m MAP<STRING, INT>) "
    "WITH ('k' = 'v''q', 'a.b' = '')",
    "CREATE TABLE t (id BIGINT, name STRING, CONSTRAINT pk_t PRIMARY KEY (id, name) NOT ENFORCED) "
    "WITH ('connector' = 'upsert-kafka')",
    "CREATE TABLE t (ms BIGINT, ts AS TO_TIMESTAMP_LTZ(ms, 3), "
    "WATERMARK FOR ts AS ts - INTERVAL '0.5' SECOND) WITH ('connector' = 'datagen')",
    "CREATE TABLE t (ts TIMESTAMP_LTZ(3), r ROW<x INT NOT NULL, y ROW<z STRING>>, "
    "WATERMARK FOR ts AS ts) COMMENT 'c' WITH ('connector' = 'filesystem', 'path' = '/tmp/x')",
    "CREATE TEMPORARY TABLE t (a INT, o INT METADATA FROM 'offset' VIRTUAL, "
    "p STRING METADATA) PARTITIONED BY (a) WITH ('connector' = 'kafka')",
]


@needs_parser
@pytest.mark.parametrize("ddl", ROUND_TRIP_DDLS)
def test_sql_show_create_round_trip_variants(session, tmp_path, ddl):
    session.execute_one(ddl)
    original = session.catalog.get("t")
    shown = session.execute_one("SHOW CREATE TABLE t").extra["ddl"]
    fresh = Session(home=tmp_path / "fresh-home")
    try:
        fresh.execute_one(shown)
        assert fresh.catalog.get("t") == original
        assert fresh.execute_one("SHOW CREATE TABLE t").extra["ddl"] == shown
    finally:
        fresh.close()


@needs_parser
def test_sql_temporary_views_and_like(session):
    session.execute_one(
        "CREATE TABLE src (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) "
        "WITH ('connector' = 'datagen', 'rows-per-second' = '1')"
    )
    session.execute_one("CREATE TEMPORARY VIEW tv AS SELECT a FROM src")
    assert session.execute_one("SHOW VIEWS").table.column("view name").to_pylist() == ["tv"]
    session.execute_one(
        "CREATE TABLE dst WITH ('connector' = 'print') LIKE src (EXCLUDING OPTIONS)"
    )
    dst = session.catalog.get("dst")
    assert [c.name for c in dst.columns] == ["a", "ts"]
    assert dst.options == {"connector": "print"} and dst.watermark.column == "ts"
    with pytest.raises(ValidationError, match="source of LIKE must be a table"):
        session.execute_one("CREATE TABLE d2 (x INT) LIKE tv")
    with pytest.raises(CatalogError, match="temporary view"):
        session.execute_one("DROP VIEW tv")
    session.execute_one("DROP TEMPORARY VIEW tv")
    assert session.execute_one("SHOW VIEWS").table.num_rows == 0
    session.execute_one("DROP TABLE IF EXISTS nope")
    session.execute_one("CREATE TABLE IF NOT EXISTS src (b INT)")
    assert [c.name for c in session.catalog.get("src").columns] == ["a", "ts"]
