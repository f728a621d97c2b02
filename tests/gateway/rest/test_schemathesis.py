"""schemathesis fuzzes the gateway's own OpenAPI document (``/openapi.json``) against a real
gateway process and finds no 5xx and no broken connection. The routes get a real session and
a real operation (so random statements reach the SQL parser and random tokens the result
pager); closing that session is left out so it stays real. Bounded: the unprefixed routes
(the versioned ones are the same handlers), a fixed seed, few examples per operation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_no_server_errors(gateway, client, tmp_path):
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert exe, "schemathesis is not installed (it is pinned in the dev extra)"
    sh = client.post("/sessions", json={"properties": {"execution.runtime-mode": "batch"}}
                     ).json()["sessionHandle"]
    oh = client.post(f"/sessions/{sh}/statements", json={"statement": "SELECT 1 AS x"}
                     ).json()["operationHandle"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.session_handle" = "{sh}"\n'
                      f'"path.operation_handle" = "{oh}"\n')
    run = subprocess.run(
        [exe, "--config-file", str(config), "run", f"{gateway.url}/openapi.json",
         "--checks", "not_a_server_error", "--max-examples", "15", "--seed", "7",
         "--exclude-path-regex", "^/v[1-4]/",
         "--exclude-operation-id", "close_session_sessions__session_handle__delete",
         "--request-timeout", "20", "--no-color"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path)  # its caches go there
    tail = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, tail[-6000:]
    assert "passed" in tail
    assert client.get(f"/sessions/{sh}").status_code == 200
