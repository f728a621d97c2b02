"""Table DDL on catalog records: validation, LIKE merging, DESCRIBE and SHOW CREATE text."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.ddl import (
    describe_table,
    describe_view,
    like_strategies,
    merge_like,
    show_create_table,
    show_create_view,
    validate_table,
)
from catalog.table import (
    Column,
    ObjectName,
    PrimaryKey,
    TableDefinition,
    ViewDefinition,
    WatermarkSpec,
)
from flowsql.errors import ValidationError

NAME = ObjectName("default_catalog", "default_database", "orders")


def defn(*columns: Column, **kw) -> TableDefinition:
    return TableDefinition(name=kw.pop("name", NAME), columns=columns, **kw)


def rich_table() -> TableDefinition:
    return TableDefinition(
        name=NAME,
        columns=(
            Column("user", "BIGINT NOT NULL"),
            Column("product", "VARCHAR(32)", comment="what's sold"),
            Column("amount", "INT"),
            Column("payload", "ROW<`a` INT, `b` ARRAY<STRING>>"),
            Column("ts", "TIMESTAMP(3)"),
            Column("ptime", None, kind="computed", expression="PROCTIME()"),
            Column("total", None, kind="computed", expression="`amount` * 2"),
            Column(
                "kts", "TIMESTAMP_LTZ(3)", kind="metadata", metadata_key="timestamp", virtual=True
            ),
            Column("part", "INT", kind="metadata"),
        ),
        watermark=WatermarkSpec("ts", "`ts` - INTERVAL '5' SECOND"),
        primary_key=PrimaryKey(("user",)),
        partition_keys=("product",),
        comment="all the orders",
        options={"connector": "kafka", "topic": "orders", "properties.group.id": "it's"},
    )


# -- validation ------------------------------------------------------------------------------
def test_validate_canonicalizes_types_and_key_columns():
    got = validate_table(
        defn(
            Column("ID", "integer"),
            Column("name", "string"),
            Column("r", "ROW<a INTEGER>"),
            primary_key=PrimaryKey(("id",)),
            partition_keys=("NAME",),
        )
    )
    assert [c.data_type for c in got.columns] == ["INT NOT NULL", "STRING", "ROW<`a` INT>"]
    assert got.primary_key == PrimaryKey(("ID",))
    assert got.partition_keys == ("name",)
    assert validate_table(got) == got  # normal form is a fixed point


@pytest.mark.parametrize(
    "table, message",
    [
        (defn(), "has no columns"),
        (defn(Column("a", "INT"), Column("a", "BIGINT")), "duplicate column name 'a'"),
        (defn(Column("a", "INT"), Column("A", "INT")), "names differ only in case"),
        (defn(Column("a", "INTT")), "column 'a': unknown data type 'INTT'"),
        (defn(Column("a", None)), "column 'a' has no data type"),
        (defn(Column("c", None, kind="computed", expression=" ")), "has no expression"),
        (
            defn(Column("a", "INT"), primary_key=PrimaryKey(("b",))),
            "PRIMARY KEY column 'b' is not defined",
        ),
        (
            defn(Column("a", "INT"), primary_key=PrimaryKey(("a",), enforced=True)),
            "ENFORCED",
        ),
        (
            defn(Column("a", "INT"), primary_key=PrimaryKey(("a", "A"))),
            "lists a column twice",
        ),
        (
            defn(
                Column("a", "INT"),
                Column("c", None, kind="computed", expression="a + 1"),
                primary_key=PrimaryKey(("c",)),
            ),
            "computed column",
        ),
        (
            defn(Column("a", "INT"), watermark=WatermarkSpec("ts", "ts")),
            "WATERMARK column 'ts' is not defined",
        ),
        (
            defn(Column("ts", "BIGINT"), watermark=WatermarkSpec("ts", "ts")),
            "invalid type BIGINT of the watermark column 'ts'",
        ),
        (
            defn(Column("ts", "TIMESTAMP(6)"), watermark=WatermarkSpec("ts", "ts")),
            "invalid type TIMESTAMP\\(6\\)",
        ),
        (
            defn(Column("a", "INT"), partition_keys=("b",)),
            "PARTITIONED BY column 'b' is not defined",
        ),
    ],
)
def test_validate_rejects(table, message):
    with pytest.raises(ValidationError, match=message):
        validate_table(table)


def test_validate_accepts_watermarks():
    for t in ("TIMESTAMP(3)", "TIMESTAMP_LTZ(3)", "TIMESTAMP(0)", "TIMESTAMP(3) NOT NULL"):
        validate_table(defn(Column("ts", t), watermark=WatermarkSpec("TS", "ts")))
    got = validate_table(
        defn(
            Column("ms", "BIGINT"),
            Column("ts", None, kind="computed", expression="TO_TIMESTAMP_LTZ(ms, 3)"),
            watermark=WatermarkSpec("ts", "ts - INTERVAL '1' SECOND"),
        )
    )
    assert got.watermark == WatermarkSpec("ts", "ts - INTERVAL '1' SECOND")


def test_validate_hint_lists_columns():
    with pytest.raises(ValidationError) as info:
        validate_table(defn(Column("a", "INT"), Column("b", "INT"), partition_keys=("c",)))
    assert info.value.hint == "available columns: a, b"


# -- LIKE ------------------------------------------------------------------------------------
def base() -> TableDefinition:
    return TableDefinition(
        name=ObjectName("default_catalog", "default_database", "base"),
        columns=(
            Column("id", "BIGINT NOT NULL"),
            Column("ts", "TIMESTAMP(3)"),
            Column("c", None, kind="computed", expression="id + 1"),
            Column("m", "STRING", kind="metadata", metadata_key="k"),
        ),
        watermark=WatermarkSpec("ts", "ts"),
        primary_key=PrimaryKey(("id",)),
        partition_keys=("id",),
        options={"connector": "kafka", "topic": "a"},
        comment="base comment",
    )


def derived(*columns: Column, **kw) -> TableDefinition:
    return TableDefinition(
        name=ObjectName("default_catalog", "default_database", "d"), columns=columns, **kw
    )


def test_like_defaults_include_all_and_overwrite_options():
    got = merge_like(base(), derived(Column("x", "INT"), options={"topic": "b", "extra": "1"}))
    assert [c.name for c in got.columns] == ["id", "ts", "c", "m", "x"]
    assert got.watermark == base().watermark
    assert got.primary_key == base().primary_key
    assert got.partition_keys == ("id",)
    assert got.options == {"connector": "kafka", "topic": "b", "extra": "1"}
    assert list(got.options) == ["connector", "topic", "extra"]
    assert got.name.name == "d"
    assert got.comment is None


def test_like_excluding_all():
    got = merge_like(base(), derived(options={"connector": "print"}), ["EXCLUDING ALL"])
    assert [c.name for c in got.columns] == ["id", "ts"]  # physical columns always come
    assert got.watermark is None and got.primary_key is None and got.partition_keys == ()
    assert got.options == {"connector": "print"}


def test_like_excluding_all_including_options():
    got = merge_like(base(), derived(), ["EXCLUDING ALL", "INCLUDING OPTIONS"])
    assert got.options == {"connector": "kafka", "topic": "a"}
    assert got.primary_key is None
    with pytest.raises(ValidationError, match="already exists an option \\['topic' -> 'a'\\]"):
        merge_like(base(), derived(options={"topic": "b"}), ["INCLUDING OPTIONS"])


def test_like_excluding_options():
    got = merge_like(base(), derived(options={"topic": "b"}), ["excluding options"])
    assert got.options == {"topic": "b"}


def test_like_conflicts():
    with pytest.raises(ValidationError, match="A column named 'id' already exists"):
        merge_like(base(), derived(Column("id", "INT")))
    with pytest.raises(ValidationError, match="watermark spec for column 'ts'"):
        merge_like(base(), derived(watermark=WatermarkSpec("ts", "ts - INTERVAL '1' SECOND")))
    with pytest.raises(ValidationError, match="already has a primary key"):
        merge_like(base(), derived(primary_key=PrimaryKey(("id",))))
    with pytest.raises(ValidationError, match="already has partitions"):
        merge_like(base(), derived(partition_keys=("ts",)))
    with pytest.raises(ValidationError, match="generated column named 'c'"):
        merge_like(base(), derived(Column("c", None, kind="computed", expression="id * 2")))
    with pytest.raises(ValidationError, match="metadata column named 'm'"):
        merge_like(base(), derived(Column("m", "STRING", kind="metadata")))


def test_like_overwriting_and_excluding_features():
    wm = WatermarkSpec("ts", "ts - INTERVAL '1' SECOND")
    new_c = Column("c", None, kind="computed", expression="id * 2")
    got = merge_like(
        base(),
        derived(new_c, watermark=wm, primary_key=PrimaryKey(("ts",))),
        ["OVERWRITING GENERATED", "OVERWRITING WATERMARKS", "EXCLUDING CONSTRAINTS"],
    )
    assert got.columns[2] == new_c  # replaced in place
    assert got.watermark == wm
    assert got.primary_key == PrimaryKey(("ts",))
    got = merge_like(base(), derived(), ["EXCLUDING GENERATED", "EXCLUDING METADATA"])
    assert [c.name for c in got.columns] == ["id", "ts"]


def test_like_options_parse():
    assert like_strategies([])["OPTIONS"] == "OVERWRITING"
    assert set(like_strategies(["OVERWRITING ALL"]).values()) == {"OVERWRITING"}
    with pytest.raises(ValidationError, match="Illegal merging strategy 'OVERWRITING'"):
        like_strategies(["OVERWRITING CONSTRAINTS"])
    with pytest.raises(ValidationError, match="invalid LIKE option 'INCLUDING STUFF'"):
        like_strategies(["INCLUDING STUFF"])


# -- DESCRIBE --------------------------------------------------------------------------------
def test_describe_table():
    got = describe_table(validate_table(rich_table())).to_pylist()
    assert [r["name"] for r in got] == [
        "user", "product", "amount", "payload", "ts", "ptime", "total", "kts", "part",
    ]  # fmt: skip
    by = {r["name"]: r for r in got}
    assert by["user"] == {
        "name": "user", "type": "BIGINT", "null": False, "key": "PRI(user)", "extras": "",
        "watermark": "",
    }  # fmt: skip
    assert by["product"]["type"] == "VARCHAR(32)" and by["product"]["null"] is True
    assert by["payload"]["type"] == "ROW<`a` INT, `b` ARRAY<STRING>>"
    assert by["ts"]["type"] == "TIMESTAMP(3) *ROWTIME*"
    assert by["ts"]["watermark"] == "`ts` - INTERVAL '5' SECOND"
    assert by["ptime"]["type"] == "TIMESTAMP_LTZ(3) *PROCTIME*"
    assert by["ptime"]["null"] is False
    assert by["ptime"]["extras"] == "AS PROCTIME()"
    assert by["total"]["extras"] == "AS `amount` * 2"
    assert by["kts"]["extras"] == "METADATA FROM 'timestamp' VIRTUAL"
    assert by["kts"]["type"] == "TIMESTAMP_LTZ(3)"
    assert by["part"]["extras"] == "METADATA"
    assert describe_table(rich_table()).column_names == [
        "name", "type", "null", "key", "extras", "watermark",
    ]  # fmt: skip


def test_describe_infers_common_computed_types():
    t = validate_table(
        defn(
            Column("a", "INT"),
            Column("ms", "BIGINT"),
            Column("c1", None, kind="computed", expression="CAST(a AS STRING)"),
            Column("c2", None, kind="computed", expression="`a`"),
            Column("c3", None, kind="computed", expression="TO_TIMESTAMP_LTZ(ms, 3)"),
            Column("c4", None, kind="computed", expression="a + ms"),
            Column("c5", None, kind="computed", expression="CAST(a AS INT) + CAST(a AS INT)"),
            primary_key=PrimaryKey(("a", "ms")),
        )
    )
    rows = {r["name"]: r for r in describe_table(t).to_pylist()}
    assert rows["a"]["key"] == rows["ms"]["key"] == "PRI(a, ms)"
    assert rows["c1"]["type"] == "STRING"
    assert rows["c2"]["type"] == "INT"
    assert rows["c3"]["type"] == "TIMESTAMP_LTZ(3)"
    assert rows["c4"]["type"] == ""  # derived at planning
    assert rows["c5"]["type"] == ""


def test_describe_view():
    v = ViewDefinition(NAME, "SELECT 1 AS a, 2 AS b", column_names=("x", "y"))
    got = describe_view(v, [("x", "INT"), ("y", "INT")]).to_pylist()
    assert [(r["name"], r["type"]) for r in got] == [("x", "INT"), ("y", "INT")]
    assert describe_view(v).column("name").to_pylist() == ["x", "y"]


# -- SHOW CREATE -----------------------------------------------------------------------------
def test_show_create_table_text():
    text = show_create_table(validate_table(rich_table()))
    assert text == (
        "CREATE TABLE `default_catalog`.`default_database`.`orders` (\n"
        "  `user` BIGINT NOT NULL,\n"
        "  `product` VARCHAR(32) COMMENT 'what''s sold',\n"
        "  `amount` INT,\n"
        "  `payload` ROW<`a` INT, `b` ARRAY<STRING>>,\n"
        "  `ts` TIMESTAMP(3),\n"
        "  `ptime` AS PROCTIME(),\n"
        "  `total` AS `amount` * 2,\n"
        "  `kts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,\n"
        "  `part` INT METADATA,\n"
        "  WATERMARK FOR `ts` AS `ts` - INTERVAL '5' SECOND,\n"
        "  PRIMARY KEY (`user`) NOT ENFORCED\n"
        ")\n"
        "COMMENT 'all the orders'\n"
        "PARTITIONED BY (`product`)\n"
        "WITH (\n"
        "  'connector' = 'kafka',\n"
        "  'topic' = 'orders',\n"
        "  'properties.group.id' = 'it''s'\n"
        ")"
    )


def test_show_create_table_variants():
    t = defn(
        Column("we`ird", "INT"),
        primary_key=PrimaryKey(("we`ird",), name="pk"),
        temporary=True,
    )
    text = show_create_table(validate_table(t))
    assert text.startswith("CREATE TEMPORARY TABLE ")
    assert "`we``ird` INT NOT NULL" in text
    assert "CONSTRAINT `pk` PRIMARY KEY (`we``ird`) NOT ENFORCED" in text
    assert "WITH" not in text


def test_show_create_view_text():
    v = ViewDefinition(NAME, "SELECT a, b FROM t", column_names=("x", "y"), comment="c")
    assert show_create_view(v) == (
        "CREATE VIEW `default_catalog`.`default_database`.`orders` (`x`, `y`)\n"
        "COMMENT 'c'\n"
        "AS SELECT a, b FROM t"
    )
    plain = dataclasses.replace(v, column_names=(), comment=None, temporary=True)
    assert show_create_view(plain) == (
        "CREATE TEMPORARY VIEW `default_catalog`.`default_database`.`orders`\nAS SELECT a, b FROM t"
    )
