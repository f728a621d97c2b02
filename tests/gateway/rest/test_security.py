"""With tokens configured: every route but ``GET /health`` answers 401 without a valid bearer
token and changes nothing; over-limit bodies get 413 before they are read; tokens are never
logged."""

from __future__ import annotations

import re

import httpx2 as httpx
import pytest

from flowsql.gateway.rest.app import create_app
from flowsql.gateway.sessions import SessionManager
from tests.gateway import gateway_process

TOKEN = "s3cret-token-for-tests"
FAKE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    home = tmp_path_factory.mktemp("secured-home")
    tokens = home / "tokens.txt"
    tokens.write_text(f"# test tokens\n{TOKEN}\n")
    with gateway_process.running(home, "--tokens-file", str(tokens)) as gw:
        yield gw


def all_routes(tmp_path) -> list[tuple[str, str]]:
    manager = SessionManager(tmp_path, idle_timeout_s=0)
    try:
        spec = create_app(manager).openapi()
    finally:
        manager.shutdown()
    routes = []
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{(session_handle|operation_handle)\}", FAKE, path)
        concrete = concrete.replace("{token}", "0")
        routes += [(method.upper(), concrete) for method in item]
    return routes


def test_every_route_but_health_needs_a_token(secured, tmp_path):
    routes = all_routes(tmp_path)
    assert len(routes) > 50 and ("POST", "/v1/sessions") in routes
    with httpx.Client(base_url=secured.url, timeout=30) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            for method, path in routes:
                body = {"statement": "CREATE TABLE t (a INT) WITH ('connector' = 'datagen')",
                        "properties": {}}
                r = c.request(method, path, json=body, headers=headers)
                if (method, path) == ("GET", "/health"):
                    assert r.status_code == 200
                    continue
                assert r.status_code == 401, (method, path, r.status_code, r.text)
                assert r.json()["errors"] and r.headers["www-authenticate"].startswith("Bearer")
            assert c.get("/openapi.json", headers=headers).status_code == 401
        # nothing changed: no session was opened
        assert c.get("/health").json()["sessions"] == 0
        ok = {"Authorization": f"Bearer {TOKEN}"}
        r = c.post("/v1/sessions", json={}, headers=ok)
        assert r.status_code == 200
        assert c.get("/health").json()["sessions"] == 1
        assert c.get("/openapi.json", headers=ok).status_code == 200
        c.delete(f"/v1/sessions/{r.json()['sessionHandle']}", headers=ok)


def test_over_limit_bodies_get_413(secured):
    ok = {"Authorization": f"Bearer {TOKEN}"}
    big = b'{"statement": "' + b"x" * (2 << 20) + b'"}'
    with httpx.Client(base_url=secured.url, timeout=30) as c:
        sh = c.post("/v1/sessions", json={}, headers=ok).json()["sessionHandle"]
        r = c.post(f"/v1/sessions/{sh}/statements", content=big,
                   headers={**ok, "content-type": "application/json"})
        assert r.status_code == 413 and "too large" in r.json()["errors"][0]

        def chunks():  # no Content-Length: the limit counts the streamed chunks
            for _ in range(40):
                yield b"x" * 65536

        r = c.post(f"/v1/sessions/{sh}/statements", content=chunks(),
                   headers={**ok, "content-type": "application/json"})
        assert r.status_code == 413
        # without a token the answer is 401, before the body is looked at
        r = c.post(f"/v1/sessions/{sh}/statements", content=big,
                   headers={"content-type": "application/json"})
        assert r.status_code == 401
        c.delete(f"/v1/sessions/{sh}", headers=ok)


def test_tokens_are_never_logged(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(TOKEN + "\n")
    gw = gateway_process.start(tmp_path, "--tokens-file", str(tokens))
    try:
        with httpx.Client(base_url=gw.url, timeout=30) as c:
            c.post("/v1/sessions", json={}, headers={"Authorization": f"Bearer {TOKEN}"})
            c.post("/v1/sessions", json={}, headers={"Authorization": f"Bearer {TOKEN}x"})
    finally:
        assert gateway_process.stop_process(gw.proc) == 0
    out = gw.proc.stdout.read() if gw.proc.stdout else ""
    err = gw.proc.stderr.read() if gw.proc.stderr else ""
    assert TOKEN not in out + err
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
    assert TOKEN not in logs
