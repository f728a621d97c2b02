"""schemathesis fuzzes the gateway's own OpenAPI document (``/openapi.json``) against a real
gateway process and finds no 5xx and no broken connection. Bounded: the unprefixed routes (the
versioned ones are the same handlers), a fixed seed and few examples per operation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def test_no_server_errors(gateway, tmp_path):
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert exe, "schemathesis is not installed (it is pinned in the dev extra)"
    run = subprocess.run(
        [exe, "run", f"{gateway.url}/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "8", "--seed", "7", "--exclude-path-regex", "^/v[1-4]/",
         "--request-timeout", "20", "--no-color"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path)  # its caches go there
    tail = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, tail[-6000:]
    assert "passed" in tail
