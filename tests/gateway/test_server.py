"""The ``flowsql gateway`` process: refusing an open bind without auth, TLS, advertised
versions, REST and Postgres over one catalog, and a clean SIGTERM with live queries."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time

import httpx2 as httpx
import pytest

from flowsql.errors import ValidationError
from flowsql.gateway.rest.versions import parse_versions
from flowsql.gateway.server import parse_duration, session_defaults
from tests.gateway import gateway_process
from tests.waiting import until


def test_non_loopback_bind_without_auth_is_refused(tmp_path):
    run = subprocess.run([sys.executable, "-m", "flowsql", "gateway", "--bind", "0.0.0.0",
                          "--port", "0", "--pg-port", "0", "--home", str(tmp_path)],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "FLOWSQL_HOME": str(tmp_path)})
    assert run.returncode == 2
    assert "refusing to listen on 0.0.0.0 without authentication" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_bad_options_exit_2(tmp_path):
    for args in (["--rest-versions", "v1,v9"], ["--idle-timeout", "soon"]):
        run = subprocess.run([sys.executable, "-m", "flowsql", "gateway", "--port", "0",
                              "--pg-port", "0", "--home", str(tmp_path), *args],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr


def test_tls_and_advertised_versions(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    with gateway_process.running(tmp_path, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
                                 "--rest-versions", "v1,v2,v3", "--pg-port", "0") as gw:
        assert gw.url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=gw.url, verify=context, timeout=30) as c:
            assert c.get("/api_versions").json() == {"versions": ["V1", "V2", "V3"]}
            sh = c.post("/sessions", json={"properties": {"execution.runtime-mode": "batch"}}
                        ).json()["sessionHandle"]
            oh = c.post(f"/sessions/{sh}/statements", json={"statement": "SELECT 1"}).json()
            assert "operationHandle" in oh
            # unprefixed = v3, the latest advertised: nextResultUri names it
            gw_body = None
            for _ in range(200):
                gw_body = c.get(f"/sessions/{sh}/operations/{oh['operationHandle']}/result/0").json()
                assert "resultType" in gw_body, gw_body
                if gw_body["resultType"] != "NOT_READY":
                    break
                time.sleep(0.05)
            assert gw_body["nextResultUri"].startswith("/v3/")
        with httpx.Client(base_url=gw.url.replace("https", "http"), timeout=5) as plain:
            try:
                plain.get("/health")
                raise AssertionError("plain HTTP was served on the TLS port")
            except httpx.HTTPError:
                pass


def test_postgres_port_without_pgwire_module_and_sigterm_closes_sessions(tmp_path):
    gw = gateway_process.start(tmp_path, "--pg-port", "0")
    try:
        with httpx.Client(base_url=gw.url, timeout=30) as c:
            sh = c.post("/sessions", json={}).json()["sessionHandle"]
            c.post(f"/v2/sessions/{sh}/configure-session", json={"statement": (
                "CREATE TABLE sig_live (k INT) WITH ('connector' = 'datagen', "
                "'rows-per-second' = '50')")}).raise_for_status()
            c.post(f"/sessions/{sh}/statements", json={"statement": "SELECT k FROM sig_live"})
    finally:
        code = gateway_process.stop_process(gw.proc, timeout=30)
    assert code == 0
    err = gw.proc.stderr.read() if gw.proc.stderr else ""
    assert "Traceback" not in err


def test_durations_and_versions_parse():
    assert [parse_duration(t) for t in ("10min", "30s", "500ms", "1h", "0", "2.5")] == [
        600, 30, 0.5, 3600, 0, 2.5]
    assert parse_versions("V3, v1") == ("v1", "v3") and parse_versions(None)[-1] == "v4"
    with pytest.raises(ValidationError):
        parse_duration("soon")
    with pytest.raises(ValidationError):
        parse_versions(" , ")
    assert session_defaults("jm:6123") == {"execution.target": "remote",
                                           "jobmanager.address": "jm:6123"}
    assert session_defaults(None) == {}


def test_a_busy_port_is_one_clear_error(tmp_path):
    with gateway_process.running(tmp_path) as gw:
        run = subprocess.run([sys.executable, "-m", "flowsql", "gateway", "--port", str(gw.port),
                              "--pg-port", "0", "--home", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert f"cannot listen on 127.0.0.1:{gw.port}" in run.stderr
    assert "Traceback" not in run.stderr


def test_one_gateway_serves_rest_and_postgres_over_the_same_catalog(tmp_path):
    import psycopg

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        pg_port = probe.getsockname()[1]
    with gateway_process.running(tmp_path / "home", "--pg-port", str(pg_port)) as gw:
        def pg_listens() -> bool:  # the REST line comes first; the Postgres port right after
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", pg_port)) == 0

        until("the Postgres port to listen", pg_listens, timeout=60)
        with psycopg.connect(host="127.0.0.1", port=pg_port, user="me", dbname="flowsql",
                             autocommit=True) as conn:
            conn.execute("CREATE TABLE from_pg (k INT) WITH ('connector' = 'datagen', "
                         "'number-of-rows' = '3')")
            assert len(conn.execute("SELECT k FROM from_pg").fetchall()) == 3
        with httpx.Client(base_url=gw.url, timeout=30) as client:
            sh = client.post("/v2/sessions", json={}).json()["sessionHandle"]
            oh = client.post(f"/v2/sessions/{sh}/statements",
                             json={"statement": "SHOW TABLES"}).json()["operationHandle"]
            body = {"resultType": "NOT_READY"}
            deadline = time.monotonic() + 60
            while body["resultType"] == "NOT_READY" and time.monotonic() < deadline:
                body = client.get(f"/v2/sessions/{sh}/operations/{oh}/result/0").json()
            assert ["from_pg"] in [r["fields"] for r in body["results"]["data"]]


def test_idle_sessions_are_closed_and_heartbeats_keep_them(tmp_path):
    with gateway_process.running(tmp_path, "--idle-timeout", "1s") as gw, \
            httpx.Client(base_url=gw.url, timeout=30) as c:
        idle = c.post("/v1/sessions", json={}).json()["sessionHandle"]
        kept = c.post("/v1/sessions", json={}).json()["sessionHandle"]
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert c.post(f"/v1/sessions/{kept}/heartbeat", json={}).status_code == 200
            time.sleep(0.25)
        assert c.get(f"/v1/sessions/{idle}").status_code == 404
        assert c.get(f"/v1/sessions/{kept}").status_code == 200
        assert c.get("/health").json()["sessions"] == 1
