"""The changelog formats ``debezium-json``, ``canal-json`` and ``maxwell-json`` on the ``kafka``
source against the real broker: Flink's documented example payloads decode to +I/-U/+U/-D,
a GROUP BY over a random change stream equals DuckDB's answer over the final rows, and bad
records fail naming topic/partition/offset (or are skipped with ignore-parse-errors)."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest

from flowsql.errors import ConnectorError, FlowSQLError
from flowsql.messages import ROW_KIND, RowKind
from tests.connectors.kafka.kafka_util import produce

PRODUCTS = "id BIGINT, name STRING, description STRING, weight DECIMAL(10, 2)"
SCOOTER = {"id": 111, "name": "scooter", "description": "Big 2-wheel scooter"}

# Flink's documentation examples (formats/debezium, canal, maxwell), an update of weight
DEBEZIUM_UPDATE = {
    "before": {**SCOOTER, "weight": 5.18}, "after": {**SCOOTER, "weight": 5.15},
    "source": {"version": "1.1.1.Final", "connector": "mysql", "name": "dbserver1",
               "ts_ms": 1589362330000, "db": "inventory", "table": "products"},
    "op": "u", "ts_ms": 1589362330904, "transaction": None,
}
CANAL_UPDATE = {
    "data": [{"id": "111", "name": "scooter", "description": "Big 2-wheel scooter", "weight": "5.18"}],
    "database": "inventory", "es": 1589373560000, "id": 9, "isDdl": False,
    "mysqlType": {"id": "INTEGER", "name": "VARCHAR(255)", "description": "VARCHAR(512)",
                  "weight": "FLOAT"},
    "old": [{"weight": "5.15"}], "pkNames": ["id"], "sql": "",
    "sqlType": {"id": 4, "name": 12, "description": 12, "weight": 7},
    "table": "products", "ts": 1589373560798, "type": "UPDATE",
}
MAXWELL_UPDATE = {
    "database": "test", "table": "e", "type": "update", "ts": 1477053217, "xid": 23396,
    "commit": True, "position": "master.000006:800911", "server_id": 23042, "thread_id": 108,
    "primary_key": [1, "2016-10-21 05:33:37.523000"], "primary_key_columns": ["id", "c"],
    "data": {**SCOOTER, "weight": 5.15}, "old": {"weight": 5.18},
}


def _table(session, name: str, columns: str, bootstrap: str, topic: str, fmt: str, **options: str) -> None:
    opts = {"connector": "kafka", "topic": topic, "properties.bootstrap.servers": bootstrap,
            "scan.startup.mode": "earliest-offset", "scan.bounded.mode": "latest-offset",
            "format": fmt, **options}
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in opts.items())
    session.execute_one(f"CREATE TABLE {name} ({columns}) WITH ({with_})")


def _changelog(session, sql: str) -> list[tuple]:
    table = session.execute_one(sql).extra["changelog"]
    return [(RowKind(r.pop(ROW_KIND)).short, *r.values()) for r in table.to_pylist()]


def _w(x: str) -> Decimal:
    return Decimal(x)


@pytest.mark.parametrize("fmt, messages, options", [
    ("debezium-json", [DEBEZIUM_UPDATE], {}),
    ("debezium-json", [{"schema": {"type": "struct", "fields": []}, "payload": DEBEZIUM_UPDATE}],
     {"debezium-json.schema-include": "true"}),
    ("canal-json", [CANAL_UPDATE], {}),
    ("maxwell-json", [MAXWELL_UPDATE], {}),
])
def test_documented_update_example(session, bootstrap, new_topic, fmt, messages, options):
    topic = new_topic()
    produce(bootstrap, topic, [json.dumps(m) for m in messages])
    _table(session, "products", PRODUCTS, bootstrap, topic, fmt, **options)
    before, after = ("5.18", "5.15") if fmt != "canal-json" else ("5.15", "5.18")
    scooter = (111, "scooter", "Big 2-wheel scooter")
    assert _changelog(session, "SELECT * FROM products") == [
        ("-U", *scooter, _w(before)), ("+U", *scooter, _w(after))]


def test_insert_update_delete_each_format(session, bootstrap, new_topic):
    row1, row2 = {"id": 1, "name": "a"}, {"id": 1, "name": "b"}
    streams = {
        "debezium-json": [{"op": "c", "before": None, "after": row1},
                          {"op": "u", "before": row1, "after": row2},
                          {"op": "d", "before": row2, "after": None},
                          {"op": "r", "before": None, "after": row1}],
        "canal-json": [{"type": "INSERT", "data": [row1], "database": "db", "table": "t"},
                       {"type": "UPDATE", "data": [row2], "old": [{"name": "a"}], "database": "db", "table": "t"},
                       {"type": "CREATE", "isDdl": True, "data": None, "database": "db", "table": "t"},
                       {"type": "DELETE", "data": [row2], "database": "db", "table": "t"},
                       {"type": "INSERT", "data": [row1], "database": "other", "table": "t"},
                       {"type": "INSERT", "data": [row1], "database": "db", "table": "t"}],
        "maxwell-json": [{"type": "insert", "data": row1}, {"type": "update", "data": row2, "old": {"name": "a"}},
                         {"type": "delete", "data": row2}, {"type": "insert", "data": row1}],
    }
    for i, (fmt, events) in enumerate(streams.items()):
        topic = new_topic()
        produce(bootstrap, topic, [json.dumps(e) for e in events])
        extra = {"canal-json.database.include": "d."} if fmt == "canal-json" else {}
        _table(session, f"t{i}", "id INT, name STRING", bootstrap, topic, fmt, **extra)
        assert _changelog(session, f"SELECT * FROM t{i}") == [
            ("+I", 1, "a"), ("-U", 1, "a"), ("+U", 1, "b"), ("-D", 1, "b"), ("+I", 1, "a")], fmt


def test_canal_multi_row_record(session, bootstrap, new_topic):
    topic = new_topic()
    produce(bootstrap, topic, [json.dumps({"type": "UPDATE", "data": [{"id": 1, "n": 10}, {"id": 2, "n": 20}],
                                           "old": [{"n": 1}, {"n": 2}]})])
    _table(session, "c", "id INT, n INT", bootstrap, topic, "canal-json")
    assert _changelog(session, "SELECT * FROM c") == [
        ("-U", 1, 1), ("+U", 1, 10), ("-U", 2, 2), ("+U", 2, 20)]


@pytest.mark.parametrize("fmt", ["debezium-json", "canal-json", "maxwell-json"])
def test_group_by_over_change_stream_equals_duckdb(session, bootstrap, new_topic, fmt):
    """Random inserts/updates/deletes of rows (id, cat, w); the aggregate of the changelog
    equals DuckDB's aggregate over the rows left at the end."""
    rnd = random.Random(11)
    state: dict[int, dict] = {}
    events = []
    for _ in range(300):
        i = rnd.randint(1, 40)
        new = {"id": i, "cat": rnd.choice(["x", "y", None]), "w": rnd.randint(-3, 9)}
        old = state.get(i)
        if old is None:
            events.append(("insert", None, new))
            state[i] = new
        elif rnd.random() < 0.3:
            events.append(("delete", old, None))
            del state[i]
        else:
            events.append(("update", old, new))
            state[i] = new
    topic = new_topic(partitions=2)
    produce(bootstrap, topic, [{"value": json.dumps(_envelope(fmt, *e)), "partition": e[1 if e[2] is None else 2]["id"] % 2}
                               for e in events])
    _table(session, "rows_", "id INT, cat STRING, w INT", bootstrap, topic, fmt)
    got = session.execute_one("SELECT cat, COUNT(*) AS c, SUM(w) AS s FROM rows_ GROUP BY cat").table
    final = pa.Table.from_pylist(list(state.values()),
                                 schema=pa.schema([("id", pa.int32()), ("cat", pa.string()), ("w", pa.int32())]))
    con = duckdb.connect()
    con.register("final", final)
    expected = con.sql("SELECT cat, COUNT(*), SUM(w) FROM final GROUP BY cat").fetchall()
    assert sorted((tuple(r.values()) for r in got.to_pylist()), key=str) == sorted(expected, key=str)
    assert len(expected) == 3


def _envelope(fmt: str, op: str, before: dict | None, after: dict | None) -> dict:
    if fmt == "debezium-json":
        return {"op": {"insert": "c", "update": "u", "delete": "d"}[op], "before": before, "after": after}
    row = after if after is not None else before
    if fmt == "canal-json":
        msg = {"type": op.upper(), "data": [row], "database": "db", "table": "t", "isDdl": False}
        if op == "update":
            msg["old"] = [{k: v for k, v in before.items() if before[k] != after[k]}]
        return msg
    msg = {"type": op, "data": row}
    if op == "update":
        msg["old"] = {k: v for k, v in before.items() if before[k] != after[k]}
    return msg


@pytest.mark.parametrize("fmt, bad", [
    ("debezium-json", {"op": "u", "before": None, "after": {"id": 1}}),
    ("debezium-json", {"op": "t"}),
    ("canal-json", {"type": "UPSERT", "data": [{"id": 1}]}),
    ("maxwell-json", {"type": "insert", "data": {"id": "one"}}),
])
def test_strict_bad_record_names_topic_partition_offset(session, bootstrap, new_topic, fmt, bad):
    topic = new_topic()
    good = _envelope(fmt, "insert", None, {"id": 1})
    produce(bootstrap, topic, [json.dumps(good), json.dumps(good), json.dumps(bad)])
    _table(session, "b", "id INT", bootstrap, topic, fmt)
    with pytest.raises(FlowSQLError) as e:
        session.execute_one("SELECT * FROM b")
    assert f"topic '{topic}', partition 0, offset 2" in str(e.value)


@pytest.mark.usefixtures("kafka_data_path")
def test_ignore_parse_errors_skips_and_counts(session, bootstrap, new_topic):
    from connectors.kafka.factory import KafkaFactory

    topic = new_topic()
    produce(bootstrap, topic, [json.dumps({"op": "c", "after": {"id": 1}}), b"{garbage",
                               json.dumps({"op": "c", "after": {"id": 2}})])
    _table(session, "l", "id INT", bootstrap, topic, "debezium-json",
           **{"debezium-json.ignore-parse-errors": "true"})
    assert sorted(r["id"] for r in session.execute_one("SELECT * FROM l").table.to_pylist()) == [1, 2]
    table = session.catalog.get("l")
    factory = KafkaFactory()
    reader = factory.source_reader(table, factory.validate(table))
    try:
        rows = sum(b.num_rows for s in reader.splits() for b in reader.read(s) if b is not None)
    finally:
        reader.close()
    assert (rows, reader.skipped) == (2, 1)


def test_batch_mode_and_sink_are_refused(session, bootstrap, new_topic):
    topic = new_topic()
    _table(session, "d", "id INT", bootstrap, topic, "debezium-json")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    with pytest.raises(FlowSQLError, match="writing the 'debezium-json' format"):
        session.execute_one("INSERT INTO d VALUES (1)")
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    with pytest.raises(ConnectorError, match="only possible for INSERT-only table sources"):
        session.execute_one("SELECT * FROM d")
