"""Every route of Flink's SQL Gateway REST API in v1, v2 and v4 against a real gateway process
(httpx), result paging, a live changelog, errors, and FlowSQL's extensions."""

from __future__ import annotations

import time

import orjson
import pyarrow as pa
import pytest

from tests.waiting import until

BOUNDED = ("CREATE TABLE bounded_{n} (id BIGINT, name STRING) WITH ('connector' = 'datagen', "
           "'number-of-rows' = '2500', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
           "'fields.id.end' = '2500')")
LIVE = ("CREATE TABLE live_{n} (k INT, v BIGINT) WITH ('connector' = 'datagen', "
        "'rows-per-second' = '200', 'fields.k.min' = '1', 'fields.k.max' = '3')")


def open_session(client, prefix: str = "/v1", **properties: str) -> str:
    r = client.post(f"{prefix}/sessions", json={"sessionName": "t", "properties": properties})
    assert r.status_code == 200, r.text
    return r.json()["sessionHandle"]


def submit(client, prefix: str, sh: str, statement: str, **extra) -> str:
    r = client.post(f"{prefix}/sessions/{sh}/statements", json={"statement": statement, **extra})
    assert r.status_code == 200, r.text
    return r.json()["operationHandle"]


def wait_finished(client, prefix: str, sh: str, oh: str) -> str:
    def status():
        s = client.get(f"{prefix}/sessions/{sh}/operations/{oh}/status").json()["status"]
        return s if s not in ("PENDING", "RUNNING") else None
    return until("the operation to end", status, timeout=60)


def fetch_all(client, prefix: str, sh: str, oh: str, row_format: str = "JSON") -> list[dict]:
    """Follow nextResultUri from token 0 to EOS; returns every response body."""
    uri = f"{prefix}/sessions/{sh}/operations/{oh}/result/0?rowFormat={row_format}"
    bodies = []
    deadline = time.monotonic() + 60
    while uri is not None:
        assert time.monotonic() < deadline, "no EOS in time"
        r = client.get(uri)
        assert r.status_code == 200, r.text
        body = r.json()
        bodies.append(body)
        if body["resultType"] == "NOT_READY":
            time.sleep(0.05)
        uri = body.get("nextResultUri")
    return bodies


def run(client, prefix: str, sh: str, statement: str) -> list[dict]:
    oh = submit(client, prefix, sh, statement)
    return [row for b in fetch_all(client, prefix, sh, oh) if b["resultType"] != "NOT_READY"
            for row in b["results"]["data"]]


def test_api_versions_and_info(client):
    for prefix in ("", "/v1", "/v2", "/v4"):
        assert client.get(f"{prefix}/api_versions").json() == {"versions": ["V1", "V2", "V3", "V4"]}
        info = client.get(f"{prefix}/info").json()
        assert info["productName"] == "FlowSQL" and info["version"]
    assert client.get("/health").json()["status"] == "ok"
    assert "/v4/sessions/{session_handle}/statements" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("prefix", ["/v1", "/v2", "/v4", ""])
def test_session_routes(client, prefix):
    sh = open_session(client, prefix, **{"table.display.max-column-width": "20"})
    props = client.get(f"{prefix}/sessions/{sh}").json()["properties"]
    assert props["table.display.max-column-width"] == "20"
    assert client.post(f"{prefix}/sessions/{sh}/heartbeat", json={}).json() == {}
    if prefix != "/v1":
        r = client.post(f"{prefix}/sessions/{sh}/configure-session",
                        json={"statement": "SET 'pipeline.name' = 'x';", "executionTimeout": 10000})
        assert r.status_code == 200 and r.json() == {}, r.text
        assert client.get(f"{prefix}/sessions/{sh}").json()["properties"]["pipeline.name"] == "x"
        name = "c" + (prefix.strip("/") or "d")
        client.post(f"{prefix}/sessions/{sh}/configure-session",
                    json={"statement": BOUNDED.format(n=name)}).raise_for_status()
        r = client.get(f"{prefix}/sessions/{sh}/complete-statement",
                       params={"statement": f"SELECT * FROM BOUNDED_{name}", "position": 100})
        assert r.json() == {"candidates": [f"bounded_{name}"]}
        r = client.get(f"{prefix}/sessions/{sh}/complete-statement",
                       params={"statement": "sel", "position": 3})
        assert "SELECT" in r.json()["candidates"]
        r = client.request("GET", f"{prefix}/sessions/{sh}/complete-statement",  # Flink's way
                           json={"statement": "SET 'execution.runtime", "position": 22})
        assert r.json() == {"candidates": ["'execution.runtime-mode'"]}
    else:  # configure-session and complete-statement exist from v2 on
        r = client.post(f"/v1/sessions/{sh}/configure-session", json={"statement": "SET 'a' = 'b'"})
        assert r.status_code == 404 and "errors" in r.json()
    assert client.delete(f"{prefix}/sessions/{sh}").json() == {"status": "CLOSED"}
    r = client.get(f"{prefix}/sessions/{sh}")
    assert r.status_code == 404 and r.json()["errors"]


@pytest.mark.parametrize("prefix", ["/v1", "/v2", "/v4"])
def test_bounded_query_pages_across_tokens(client, prefix):
    sh = open_session(client, prefix, **{"execution.runtime-mode": "batch"})
    n = prefix.strip("/")
    assert run(client, prefix, sh, BOUNDED.format(n=n)) == [{"kind": "INSERT", "fields": ["OK"]}]
    oh = submit(client, prefix, sh, f"SELECT id, name FROM bounded_{n}")
    bodies = [b for b in fetch_all(client, prefix, sh, oh) if b["resultType"] != "NOT_READY"]
    assert [b["resultType"] for b in bodies] == ["PAYLOAD", "PAYLOAD", "PAYLOAD", "EOS"]
    assert [len(b["results"]["data"]) for b in bodies] == [1000, 1000, 500, 0]
    first = bodies[0]
    assert first["isQueryResult"] is True and first["resultKind"] == "SUCCESS_WITH_CONTENT"
    assert first["results"]["columns"] == [
        {"name": "id", "logicalType": {"type": "BIGINT", "nullable": True}, "comment": None},
        {"name": "name", "logicalType": {"type": "VARCHAR", "nullable": True,
                                          "length": 2147483647}, "comment": None}]
    assert first["results"]["rowFormat"] == "JSON"
    ids = [row["fields"][0] for b in bodies for row in b["results"]["data"]]
    assert sorted(ids) == list(range(1, 2501))
    uri = first["nextResultUri"]
    assert uri.startswith(f"/{n}/sessions/{sh}/operations/{oh}/result/1")
    assert uri.endswith("?rowFormat=JSON") == (n != "v1")
    # the last page again (a retry of a lost response) is allowed; an old one is not
    r = client.get(f"{prefix}/sessions/{sh}/operations/{oh}/result/3?rowFormat=JSON")
    assert r.status_code == 200 and r.json()["resultType"] == "EOS"
    r = client.get(f"{prefix}/sessions/{sh}/operations/{oh}/result/0?rowFormat=JSON")
    assert r.status_code == 400 and "token" in r.json()["errors"][0]
    st = client.get(f"{prefix}/sessions/{sh}/operations/{oh}/status").json()
    assert st == {"status": "FINISHED"}
    assert client.delete(f"{prefix}/sessions/{sh}/operations/{oh}/close").json() == {"status": "CLOSED"}
    assert client.get(f"{prefix}/sessions/{sh}/operations/{oh}/status").status_code == 404
    client.delete(f"{prefix}/sessions/{sh}")


def test_plain_text_and_arrow_formats(client):
    sh = open_session(client, "/v4", **{"execution.runtime-mode": "batch"})
    sql = ("SELECT TRUE AS b, CAST(1.50 AS DECIMAL(5, 2)) AS d, DATE '2024-01-31' AS dt, "
           "TIMESTAMP '2024-01-31 12:00:01.123' AS ts, CAST(NULL AS INT) AS n")
    oh = submit(client, "/v4", sh, sql)
    wait_finished(client, "/v4", sh, oh)
    body = client.get(f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=PLAIN_TEXT").json()
    assert body["results"]["rowFormat"] == "PLAIN_TEXT"
    assert body["results"]["data"] == [{"kind": "INSERT", "fields": [
        "TRUE", "1.50", "2024-01-31", "2024-01-31 12:00:01.123", None]}]
    types = [c["logicalType"] for c in body["results"]["columns"]]
    assert types[1] == {"type": "DECIMAL", "nullable": True, "precision": 5, "scale": 2}
    assert types[3]["type"] == "TIMESTAMP_WITHOUT_TIME_ZONE"
    oh = submit(client, "/v4", sh, sql)
    wait_finished(client, "/v4", sh, oh)
    body = client.get(f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=JSON").json()
    assert body["results"]["data"][0]["fields"] == [
        True, 1.5, "2024-01-31", "2024-01-31T12:00:01.123", None]
    oh = submit(client, "/v4", sh, sql)
    wait_finished(client, "/v4", sh, oh)
    r = client.get(f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=ARROW")
    assert r.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert r.headers["x-flowsql-result-type"] == "PAYLOAD"
    table = pa.ipc.open_stream(r.content).read_all()
    assert table.column_names == ["b", "d", "dt", "ts", "n"] and table.num_rows == 1
    r = client.get(f"/v4/sessions/{sh}/operations/{oh}/result/1?rowFormat=XML")
    assert r.status_code == 400 and "rowFormat" in r.json()["errors"][0]


def test_live_changelog_with_row_kinds(client):
    sh = open_session(client, "/v4")
    run(client, "/v4", sh, LIVE.format(n=1))
    oh = submit(client, "/v4", sh, "SELECT k, COUNT(*) AS c FROM live_1 GROUP BY k")
    uri = f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=JSON"
    kinds: set[str] = set()
    deadline = time.monotonic() + 60
    while not {"INSERT", "UPDATE_BEFORE", "UPDATE_AFTER"} <= kinds:
        assert time.monotonic() < deadline, f"row kinds seen: {kinds}"
        body = client.get(uri).json()
        assert body["resultType"] in ("NOT_READY", "PAYLOAD"), body
        if body["resultType"] == "PAYLOAD":
            assert body["isQueryResult"] is True and len(body["jobID"]) == 32
            assert [c["name"] for c in body["results"]["columns"]] == ["k", "c"]
            kinds |= {row["kind"] for row in body["results"]["data"]}
        uri = body["nextResultUri"]
    r = client.post(f"/v4/sessions/{sh}/operations/{oh}/cancel", json={})
    assert r.json() == {"status": "CANCELED"}
    r = client.get(uri)
    assert r.status_code == 400 and "canceled" in r.json()["errors"][0]
    client.delete(f"/v4/sessions/{sh}")


def test_ndjson_stream_of_a_live_changelog(client):
    sh = open_session(client, "")
    run(client, "", sh, LIVE.format(n=2))
    oh = submit(client, "", sh, "SELECT k, COUNT(*) AS c FROM live_2 GROUP BY k")
    lines = []
    with client.stream("GET", f"/sessions/{sh}/operations/{oh}/stream") as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        for line in r.iter_lines():
            lines.append(orjson.loads(line))
            if len(lines) >= 12:
                break
    assert all(set(x) == {"kind", "fields"} and len(x["fields"]) == 2 for x in lines)
    assert "UPDATE_AFTER" in {x["kind"] for x in lines}
    client.delete(f"/sessions/{sh}/operations/{oh}/close")
    # a bounded result's stream ends at EOS
    sh2 = open_session(client, "", **{"execution.runtime-mode": "batch"})
    run(client, "", sh2, BOUNDED.format(n="s"))
    oh = submit(client, "", sh2, "SELECT id FROM bounded_s")
    r = client.get(f"/sessions/{sh2}/operations/{oh}/stream")
    rows = [orjson.loads(x) for x in r.text.splitlines()]
    assert len(rows) == 2500 and rows[0]["kind"] == "INSERT"


def test_errors_are_flink_shaped_and_user_errors_are_400(client):
    sh = open_session(client)
    oh = submit(client, "/v1", sh, "SELECT (1 FROM nowhere")
    assert wait_finished(client, "/v1", sh, oh) == "ERROR"
    r = client.get(f"/v1/sessions/{sh}/operations/{oh}/result/0")
    assert r.status_code == 400
    (message,) = r.json()["errors"]
    assert message.startswith("SQL parse error at line 1, column")
    assert "^" in message and "Traceback" not in message
    # one statement per request
    r = client.post(f"/v1/sessions/{sh}/statements", json={"statement": "SELECT 1; SELECT 2;"})
    assert r.status_code == 400 and "one statement per request" in r.json()["errors"][0]
    r = client.post(f"/v1/sessions/{sh}/statements", json={"statement": " -- nothing\n ;"})
    assert r.status_code == 400 and "no statement" in r.json()["errors"][0]
    # 10,000 nested parentheses
    deep = "SELECT " + "(" * 10_000 + "1" + ")" * 10_000
    oh = submit(client, "/v1", sh, deep)
    wait_finished(client, "/v1", sh, oh)
    r = client.get(f"/v1/sessions/{sh}/operations/{oh}/result/0")
    assert r.status_code == 400 and "nested too deeply" in r.json()["errors"][0]
    # malformed requests and unknown handles
    r = client.post(f"/v1/sessions/{sh}/statements", json={"statment": "SELECT 1"})
    assert r.status_code == 400 and r.json()["errors"]
    r = client.post(f"/v1/sessions/{sh}/statements", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = client.get(f"/v1/sessions/{sh}/operations/{oh}/result/x")
    assert r.status_code == 400
    r = client.get(f"/v1/sessions/{sh}/operations/00000000-0000-0000-0000-000000000000/status")
    assert r.status_code == 404 and r.json()["errors"]
    assert client.get("/v1/nowhere").status_code == 404


@pytest.mark.parametrize("statement, words", [
    ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
    ("ATTACH 'other.db' AS other", "ATTACH"),
    ("COPY t TO '/tmp/out.csv'", "COPY"),
    ("INSTALL httpfs", "INSTALL"),
])
def test_sandbox_escapes_are_refused(client, statement, words):
    sh = open_session(client, "/v4", **{"execution.runtime-mode": "batch"})
    oh = submit(client, "/v4", sh, statement)
    assert wait_finished(client, "/v4", sh, oh) == "ERROR"
    r = client.get(f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=JSON")
    assert r.status_code == 400
    assert words in r.json()["errors"][0]
    client.delete(f"/v4/sessions/{sh}")


def test_execution_config_applies_to_one_statement(client):
    sh = open_session(client, "/v4")
    run(client, "/v4", sh, BOUNDED.format(n="x"))
    oh = submit(client, "/v4", sh, "SELECT COUNT(*) AS n FROM bounded_x",
                executionConfig={"execution.runtime-mode": "batch"})
    rows = [r for b in fetch_all(client, "/v4", sh, oh) if b["resultType"] != "NOT_READY"
            for r in b["results"]["data"]]
    assert rows == [{"kind": "INSERT", "fields": [2500]}]
    assert "execution.runtime-mode" not in client.get(f"/v4/sessions/{sh}").json()["properties"]


def test_execution_timeout_cancels_a_long_statement(client):
    sh = open_session(client, "/v4")
    run(client, "/v4", sh, LIVE.format(n="t"))
    run(client, "/v4", sh, "CREATE TABLE sink_t (k INT, v BIGINT) WITH ('connector' = 'blackhole')")
    oh = submit(client, "/v4", sh, "INSERT INTO sink_t SELECT k, v FROM live_t",
                executionConfig={"table.dml-sync": "true"}, executionTimeout=1500)
    assert wait_finished(client, "/v4", sh, oh) == "TIMEOUT"
    r = client.get(f"/v4/sessions/{sh}/operations/{oh}/result/0?rowFormat=JSON")
    assert r.status_code == 400 and "timeout" in r.json()["errors"][0]
    # the session goes on
    assert run(client, "/v4", sh, "SET 'pipeline.name' = 'after'") == [
        {"kind": "INSERT", "fields": ["OK"]}]
    client.delete(f"/v4/sessions/{sh}")


def test_metrics_count_sessions_and_operations_and_parse(client):
    from prometheus_client.parser import text_string_to_metric_families

    def gauges() -> dict:
        text = client.get("/metrics").text
        return {(s.name, s.labels.get("status")): s.value
                for f in text_string_to_metric_families(text) for s in f.samples}

    before = gauges()[("flowsql_gateway_sessions", None)]
    sh = open_session(client, "/v2")
    op = client.post(f"/v2/sessions/{sh}/statements",
                     json={"statement": "SET 'pipeline.name' = 'm'"}).json()["operationHandle"]
    until("the statement to finish", lambda: client.get(
        f"/v2/sessions/{sh}/operations/{op}/status").json()["status"] == "FINISHED")
    now = gauges()
    assert now[("flowsql_gateway_sessions", None)] == before + 1
    assert now[("flowsql_gateway_operations", "FINISHED")] >= 1
    assert ("process_resident_memory_bytes", None) in now
    client.delete(f"/v2/sessions/{sh}")
    assert gauges()[("flowsql_gateway_sessions", None)] == before
