"""The changelog formats on the filesystem connector: a file of debezium-json / canal-json /
maxwell-json change events read in streaming mode as +I/-U/+U/-D (and aggregated), bad lines
named by file and line, batch mode and writing refused."""

from __future__ import annotations

import json

import pytest

from flowsql.errors import ConnectorError, FlowSQLError
from flowsql.messages import ROW_KIND, RowKind

EVENTS = {
    "debezium-json": [{"op": "c", "after": {"id": 1, "n": 5}}, {"op": "c", "after": {"id": 2, "n": 7}},
                      {"op": "u", "before": {"id": 1, "n": 5}, "after": {"id": 1, "n": 6}},
                      {"op": "d", "before": {"id": 2, "n": 7}}],
    "canal-json": [{"type": "INSERT", "data": [{"id": "1", "n": "5"}, {"id": "2", "n": "7"}]},
                   {"type": "UPDATE", "data": [{"id": "1", "n": "6"}], "old": [{"n": "5"}]},
                   {"type": "DELETE", "data": [{"id": "2", "n": "7"}]}],
    "maxwell-json": [{"type": "insert", "data": {"id": 1, "n": 5}}, {"type": "insert", "data": {"id": 2, "n": 7}},
                     {"type": "update", "data": {"id": 1, "n": 6}, "old": {"n": 5}},
                     {"type": "delete", "data": {"id": 2, "n": 7}}],
}


def _table(session, path, fmt: str, name: str = "t") -> None:
    session.execute_one(f"CREATE TABLE {name} (id INT, n INT) WITH ('connector' = 'filesystem', "
                        f"'path' = '{path}', 'format' = '{fmt}')")


@pytest.mark.parametrize("fmt", sorted(EVENTS))
def test_file_of_change_events_is_a_changelog(session, tmp_path, fmt):
    path = tmp_path / "events.json"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS[fmt]) + "\n")
    _table(session, path, fmt)
    result = session.execute_one("SELECT id, n FROM t")
    changelog = [(RowKind(r[ROW_KIND]).short, r["id"], r["n"]) for r in result.extra["changelog"].to_pylist()]
    assert changelog == [("+I", 1, 5), ("+I", 2, 7), ("-U", 1, 5), ("+U", 1, 6), ("-D", 2, 7)]
    assert result.table.to_pylist() == [{"id": 1, "n": 6}]
    total = session.execute_one("SELECT SUM(n) AS s, COUNT(*) AS c FROM t").table.to_pylist()
    assert total == [{"s": 6, "c": 1}]


def test_bad_line_names_file_and_line(session, tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"op": "c", "after": {"id": 1, "n": 5}}) + "\n\n" + '{"op": "x"}\n')
    _table(session, path, "debezium-json")
    with pytest.raises(FlowSQLError) as e:
        session.execute_one("SELECT * FROM t")
    assert f"{path}:3" in str(e.value) and 'Unknown "op" value "x"' in str(e.value)


def test_batch_mode_and_writing_are_refused(session, tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"op": "c", "after": {"id": 1, "n": 5}}) + "\n")
    _table(session, path, "debezium-json")
    session.execute_one("SET 'table.dml-sync' = 'true'")
    with pytest.raises(FlowSQLError, match="writing the 'debezium-json' format"):
        session.execute_one("INSERT INTO t VALUES (2, 3)")
    session.execute_one("SET 'execution.runtime-mode' = 'batch'")
    with pytest.raises(ConnectorError, match="only possible for INSERT-only table sources"):
        session.execute_one("SELECT * FROM t")
